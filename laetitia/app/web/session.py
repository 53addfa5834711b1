"""What a run serves beside its env: a dashboard, a participant's page, and their control.

    options = WebOptions(dashboard="127.0.0.1:8771")
    with WebSession("browser", settings, screen, options) as web:    # servers up, URLs said
        env = web.make_env("laetitia/Smile-v0", settings)
        agent.learn(steps, callback=[..., *web.callbacks(first_step=0)])

`laetitia train` and `laetitia evaluate` run a session this way. The options are how the session
is watched, not what it records (a resumed session may serve its dashboard elsewhere): the
dashboard's address, a certificate for serving off this machine, and what the preview shows.
The viewer spec is recorded: `browser:HOST:PORT` serves on the same address when the session is
resumed, so a page left open comes back by itself.

A `SessionControl` is made when anything shares the session's pause and end: a dashboard, a
participant's page or window. The live window of a person alone keeps its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from laetitia.app.web.feed import PREVIEWS, DashboardFeed
from laetitia.envs.registration import DEFAULT_SIGNALS
from laetitia.errors import ConfigError
from laetitia.run_settings import RunSettings
from laetitia.types import FER_HAPPY
from laetitia.viewers.control import SessionControl, SessionEvent
from laetitia.viewers.spec import make_meter, parse_viewer_spec
from laetitia.viewers.stage import Screen, parse_screen

if TYPE_CHECKING:
    import gymnasium as gym
    import numpy as np
    from stable_baselines3.common.callbacks import BaseCallback

    from laetitia.app.web.participant import ParticipantServer
    from laetitia.app.web.server import WebServer
    from laetitia.types import Viewer


def presentation(
    viewer: str, screen: str, blank_s: float = 0.0, instructions: str | None = None
) -> Screen:
    """What the person at the camera sees, from a run's settings (`laetitia.viewers.stage`).

    A browser participant's page always shows the emoticon alone (`screen` does not apply).

    Raises:
        ConfigError: For a screen setting of another form, or a participant's screen with a
            viewer that shows none (a simulated person, a recorded session).
    """
    kind = parse_viewer_spec(viewer).kind
    if kind == "browser":
        return Screen("participant", None, blank_s, instructions)
    shown = parse_screen(screen, blank_s, instructions)
    if shown.kind == "participant" and kind not in ("webcam", "video"):
        raise ConfigError(
            f"screen: the viewer {viewer!r} shows no one an emoticon; a participant's screen "
            "is for a person at a webcam (or a video's window), or in the browser.",
            field="screen",
        )
    return shown


@dataclass(frozen=True)
class WebOptions:
    """How a session is watched from the browser (not part of what it records).

    Raises:
        ConfigError: With `field` set, for a preview that is not one of `PREVIEWS`, or a
            certificate without its key.
    """

    dashboard: str | None = None
    """Where to serve the experimenter's dashboard, `[HOST:]PORT`; None for none."""
    tls_cert: Path | None = None
    """A certificate (PEM) to serve over HTTPS: needed off this machine."""
    tls_key: Path | None = None
    """The certificate's private key (PEM)."""
    preview: str = "face"
    """What the dashboard's camera preview shows: "face" (with its box), "blur" or "none"."""

    def __post_init__(self) -> None:
        if self.preview not in PREVIEWS:
            raise ConfigError(
                f"preview {self.preview!r} is not one of {', '.join(PREVIEWS)}.", field="preview"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            field = "tls_key" if self.tls_key is None else "tls_cert"
            raise ConfigError(
                f"{field}: HTTPS needs both a certificate and its key (`tls_cert`, `tls_key`).",
                field=field,
                mentions=("tls_cert", "tls_key"),
            )
        for name in ("tls_cert", "tls_key"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"{name} {path}: no such file.", field=name)


class WebSession:
    """Everything a run's options ask to serve, started together and stopped together.

    Args:
        viewer: The viewer spec.
        run: The run's settings (frames, settle, face pipeline).
        screen: What the person at the camera sees (for a browser: its blank and instructions).
        options: The dashboard and TLS options.
        keep_frames: Whether the session keeps images of the person (else no preview either).
        window: Whether a webcam or video viewer shows its window; None: the viewer's default
            (a webcam's shown, a video's not).
        param_names: The emoticon's parameter names (the dashboard's best guess).
        log: Where the pages' addresses are said, and why the session waits when it does.
    """

    def __init__(
        self,
        viewer: str,
        run: RunSettings,
        screen: Screen,
        options: WebOptions | None = None,
        keep_frames: bool = True,
        window: bool | None = True,
        param_names: Sequence[str] = (),
        log: Callable[[str], None] = print,
    ) -> None:
        self.spec = viewer
        self.kind = parse_viewer_spec(viewer).kind
        self.run = run
        self.screen = screen
        self.options = options if options is not None else WebOptions()
        self.window = window
        self.log = log
        shared = (
            self.options.dashboard is not None
            or self.kind == "browser"
            or screen.kind == "participant"
        )
        self.control: SessionControl | None = SessionControl() if shared else None
        if self.control is not None:
            self.control.listen(self._say_why_it_waits)
        self.feed: DashboardFeed | None = None
        if self.options.dashboard is not None:
            assert self.control is not None
            preview = self.options.preview if keep_frames else "none"
            self.feed = DashboardFeed(self.control, preview, param_names, viewer)
        self.participant: ParticipantServer | None = None
        self.dashboard: WebServer | None = None

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        options = self.options
        if self.feed is not None:
            from laetitia.app.web.dashboard import serve_dashboard

            assert options.dashboard is not None and self.control is not None
            self.dashboard = serve_dashboard(
                self.feed, self.control, options.dashboard, options.tls_cert, options.tls_key
            ).start()
            self.log(f"dashboard: {self.dashboard.url}")
        if self.kind == "browser":
            from laetitia.app.web.participant import ParticipantServer

            self.participant = ParticipantServer(
                parse_viewer_spec(self.spec).arg or "",
                self.control,
                self.screen,
                options.tls_cert,
                options.tls_key,
            ).start()
            self.log(f"participant: {self.participant.url}")

    def _say_why_it_waits(self, event: SessionEvent) -> None:
        if event.kind == "status" and event.text:
            self.log(f"the session waits: {event.text}")

    def viewer(self, env_id: str) -> str | Viewer:
        """What the env is given: the spec, or the browser participant's viewer.

        The participant's frames are scored by the run's signal, or by the env version's
        default for a face (`laetitia.envs.registration.DEFAULT_SIGNALS`).
        """
        if self.participant is None:
            return self.spec
        run = self.run
        signal = run.signal or DEFAULT_SIGNALS.get(env_id, FER_HAPPY)
        meter = make_meter(run.detector, run.model, run.profile, signal)
        return self.participant.viewer(run.frames, run.settle_s, meter, signal)

    def make_env(self, env_id: str) -> gym.Env:
        """The run's env, with this session's viewer, window, screen and control."""
        from laetitia.envs.make import make_env

        screen = self.screen if self.kind in ("webcam", "video") else None
        return make_env(env_id, self.viewer(env_id), self.run, self.window, screen, self.control)

    @property
    def holds_between_steps(self) -> bool:
        """Whether a pause must hold the run between steps.

        So it must when its viewer shows no stage (a simulated person, a recording without its
        window): a stage holds the session before its next emoticon otherwise.
        """
        if self.kind in ("webcam", "browser"):
            return False
        return self.kind != "video" or self.window is not True

    def observe(
        self,
        step: int,
        episode: int,
        info: Mapping[str, Any],
        best: Callable[[], np.ndarray | None] | None = None,
    ) -> None:
        """A step completed: tell the dashboard, and hold a pause here if no stage does.

        See `holds_between_steps`.

        Args:
            step: Its number in the session.
            episode: Its episode.
            info: The env's info for it (`reward`, `scored`, `reaction`, `params`).
            best: Asks the agent for its best guess so far.

        Raises:
            SessionEndedByUser: If the session was ended while it was held.
        """
        if self.feed is not None:
            self.feed.publish_step(
                step,
                episode,
                float(info["reward"]),
                bool(info["scored"]),
                info["reaction"],
                info["params"],
                best,
            )
        if self.control is not None and self.holds_between_steps:
            self.control.hold(step + 1)

    def callbacks(self, first_step: int = 0, episode: int = 0) -> list[BaseCallback]:
        """The callback that tells the dashboard each step, when one is served."""
        if self.feed is None:
            return []
        from laetitia.app.web.callback import DashboardCallback

        return [DashboardCallback(self, first_step, episode)]

    def close(self) -> None:
        """Stop serving (the participant's page is told the session ended)."""
        if self.participant is not None:
            self.participant.stop()
            self.participant = None
        if self.dashboard is not None:
            self.dashboard.stop()
            self.dashboard = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
