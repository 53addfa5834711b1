"""laetitia's web server: the experimenter's dashboard and a participant in the browser.

Starlette apps served by uvicorn from a thread of their own, beside the blocking training loop
in the main thread (so Ctrl-C stays the main thread's):
- `laetitia.app.web.server`: `WebServer` (uvicorn in a thread) and `Access` (who may connect);
- `laetitia.app.web.participant`: the participant's page and `serve_participant`, which gives
  a live viewer whose camera is the page's (`--viewer browser`);
- `laetitia.app.web.dashboard`: the experimenter's page and `serve_dashboard` (`--dashboard`);
- `laetitia.app.web.feed`: what the dashboard is told, and `DashboardCallback`, which tells it
  each step and holds the session between steps while paused;
- `laetitia.app.web.session`: `WebSession`, everything a run's options ask for, started and
  stopped together (what `laetitia train` and `laetitia evaluate` use).

This package's `__init__` imports nothing: import the module you need.
"""
