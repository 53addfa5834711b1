"""What a simulated viewer truly felt: the noise-free happiness behind a session's readings.

A simulated viewer's noise-free happiness is known; a person's is not. The noise-free curves of
`laetitia.app.plots` and the best emoticon said of a session without a `best.json` read it
here, and nothing an agent or a prior reads holds it. A training run says it of its best from
its own viewer (`laetitia.app.training`); a recorded session has only its viewer spec, so the
viewer is rebuilt from it.

    truth = simulated_truth(session)            # None for a person or a recording
    best = session_best(session, truth=truth)   # laetitia.sessions.best
"""

from __future__ import annotations

import functools

import numpy as np

from laetitia.sessions import Session
from laetitia.sessions.best import Truth
from laetitia.viewers.spec import make_viewer, parse_viewer_spec

SIMULATED_KINDS = ("sim", "person")
"""Viewer kinds whose noise-free happiness is known (`true_happiness`)."""


def simulated_truth(session: Session) -> Truth | None:
    """The noise-free happiness of a simulated session's viewer, as a function of raw params.

    The viewer is rebuilt from its spec on the first call, so asking costs nothing until then.
    None for a viewer whose happiness is not known (a person, a recording).
    """
    spec = _viewer_spec(session)
    if spec is None or parse_viewer_spec(spec).kind not in SIMULATED_KINDS:
        return None
    rebuilt = functools.cache(lambda: viewer_truth(make_viewer(spec)))

    def truth(params: np.ndarray) -> float:
        known = rebuilt()
        assert known is not None, "a simulated viewer knows its noise-free happiness"
        return known(params)

    return truth


def viewer_truth(viewer: object) -> Truth | None:
    """A viewer's noise-free happiness (its `true_happiness`); None for one that has none."""
    true = getattr(viewer, "true_happiness", None)
    return None if true is None else lambda params: float(true(params))


def true_happiness(session: Session) -> np.ndarray | None:
    """float64 (n_steps,): the noise-free happiness of each shown emoticon, when known."""
    truth = simulated_truth(session)
    if truth is None:
        return None
    return np.array([truth(p) for p in session.params()], dtype=np.float64)


def _viewer_spec(session: Session) -> str | None:
    for run in (session.meta.config, session.meta.evaluation):
        if run is not None and isinstance(run.get("viewer"), str):
            return str(run["viewer"])
    return None
