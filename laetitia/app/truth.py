"""What a simulated viewer truly felt: the noise-free happiness behind a session's readings.

A simulated viewer's noise-free happiness is known; a person's is not. It travels by a channel
of its own, the viewer's `laetitia.types.KnownTruth` methods: a step's observation and info
carry readings only, and a session's `meta.json` names a simulated person by suite and index,
so nothing an agent or a prior reads holds it. The noise-free curves of `laetitia.app.plots`
and the best emoticon said of a session without a `best.json` read it here; a training run
says it of its best from its own viewer (`laetitia.app.training`), the bench from the viewer it
built (`laetitia.app.bench_agents`); a recorded session has only its viewer spec, so the viewer
is rebuilt from it. A person whose taste moves (people-v3) is asked at each step's time: the
k-th step of a session is the k-th emoticon they were shown.

    truth = simulated_truth(session)            # None for a person or a recording
    best = session_best(session, truth=truth)   # laetitia.sessions.best
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from laetitia.sessions import Session
from laetitia.sessions.best import Truth
from laetitia.types import KnownTruth
from laetitia.viewers.spec import make_viewer, parse_viewer_spec

SIMULATED_KINDS = ("sim", "person")
"""Viewer kinds whose noise-free happiness is known (`true_happiness`)."""


def _rebuilt(session: Session) -> Callable[[], KnownTruth] | None:
    """The session's simulated viewer, rebuilt from its spec when first asked; None if not one."""
    spec = _viewer_spec(session)
    if spec is None or parse_viewer_spec(spec).kind not in SIMULATED_KINDS:
        return None

    def rebuild() -> KnownTruth:
        viewer = make_viewer(spec)
        assert isinstance(viewer, KnownTruth), "a simulated viewer knows its noise-free happiness"
        return viewer

    return functools.cache(rebuild)


def simulated_truth(session: Session) -> Truth | None:
    """The noise-free happiness at the session's end of its simulated viewer, of raw params.

    The viewer is rebuilt from its spec on the first call, so asking costs nothing until then.
    None for a viewer whose happiness is not known (a person, a recording).
    """
    rebuilt = _rebuilt(session)
    if rebuilt is None:
        return None
    end = session.n_steps
    return lambda params: float(rebuilt().true_happiness(params, shown=end))


def viewer_truth(viewer: object) -> Truth | None:
    """A viewer's noise-free happiness now (`KnownTruth`); None for one that has none."""
    if not isinstance(viewer, KnownTruth):
        return None
    return lambda params: float(viewer.true_happiness(params))


def true_happiness(session: Session) -> np.ndarray | None:
    """float64 (n_steps,): the noise-free happiness of each shown emoticon when shown, if known."""
    rebuilt = _rebuilt(session)
    if rebuilt is None:
        return None
    viewer = rebuilt()
    return np.array(
        [viewer.true_happiness(p, shown=k) for k, p in enumerate(session.params())],
        dtype=np.float64,
    )


def recommended_happiness(session: Session) -> np.ndarray | None:
    """float64 (n_steps,): the noise-free happiness of the agent's recommendation per step.

    NaN where it had none; None unless both are known: a simulated viewer, and a session that
    records the recommendation (`Session.recommended`).
    """
    recommended = session.recommended()
    rebuilt = _rebuilt(session)
    if recommended is None or rebuilt is None:
        return None
    viewer = rebuilt()
    return np.array(
        [
            math.nan if np.isnan(p).any() else viewer.true_happiness(p, shown=k + 1)
            for k, p in enumerate(recommended)
        ],
        dtype=np.float64,
    )


def _viewer_spec(session: Session) -> str | None:
    for run in (session.meta.config, session.meta.evaluation):
        if run is not None and isinstance(run.get("viewer"), str):
            return str(run["viewer"])
    return None
