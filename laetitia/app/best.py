"""The best emoticon of a run, with its noise-free happiness when the viewer is simulated.

The choice and what the readings say are `laetitia.sessions.best`'s; a simulated viewer's
noise-free happiness is known, and is said beside them.

    best = honest_best(session, guess=agent.best_params())
    print(best.describe())   # "P(happy) 0.712 over 4 readings; noise-free 0.741 (...)"
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from laetitia.sessions import Session
from laetitia.sessions.best import BestEmoticon, best_by_readings, read_best
from laetitia.viewers.spec import make_viewer, parse_viewer_spec

SIMULATED_KINDS = ("sim", "person")
"""Viewer kinds whose noise-free happiness is known (`true_happiness`)."""


def honest_best(session: Session, guess: np.ndarray | None = None) -> BestEmoticon | None:
    """The session's best emoticon (`best_by_readings`), with its noise-free happiness if known."""
    best = best_by_readings(session, guess)
    truth = simulated_truth(session)
    if best is None or truth is None:
        return best
    return dataclasses.replace(best, true_happiness=truth(np.array(best.params)))


def session_best(session: Session) -> BestEmoticon | None:
    """The best emoticon a run wrote into the session, else the one its readings give."""
    return read_best(session) or honest_best(session)


def simulated_truth(session: Session) -> Callable[[np.ndarray], float] | None:
    """The noise-free happiness of a simulated session's viewer, as a function of raw params.

    None for a viewer whose happiness is not known (a person, a recording).
    """
    spec = _viewer_spec(session)
    if spec is None or parse_viewer_spec(spec).kind not in SIMULATED_KINDS:
        return None
    true = getattr(make_viewer(spec), "true_happiness", None)
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
