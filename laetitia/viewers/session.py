"""A recorded session as a viewer: each emoticon answered with a real recorded reaction.

`SessionReplayViewer` lets agents be trained and compared offline on how a real person reacted.
For each emoticon shown it finds the NEAREST emoticon the person saw in the recorded session
(Euclidean distance between parameter vectors in normalised space, each parameter's range
mapped onto [-1, 1]) and answers with the per-frame probabilities recorded for it (`frames.csv`),
or, for sessions without a frame index, the step's mean probabilities repeated.

This is an approximation of the person: their reaction to an emoticon is taken to be their
reaction to the closest one they actually saw, at the moment they saw it (mood, habituation and
lag included as they were then). It is only as good as the session's coverage: far from every
recorded emoticon the answer says little about what the person would have felt, and the
`distance` in each reaction's `extras` says how far the nearest one was.

Only recorded steps with a face in view are answered from (a step where the person looked away
says nothing about the emoticon); a session without any is refused. Ties go to the earliest step.
The viewer is deterministic and needs no image.

It answers with the session's own signal, the values recorded for each frame, or with another
signal computed from what `frames.csv` kept (the class probabilities always; a signal that needs
more, such as `smile`'s blendshapes, only from a session that measured them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from laetitia.emoticon.params import PARAM_SPACE, ParamSpace
from laetitia.errors import ConfigError, SessionError
from laetitia.run_settings import RUN_DEFAULTS
from laetitia.sessions import Session, load_session
from laetitia.signals import get_signal
from laetitia.types import Reaction

_Recorded = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]
"""A step's probabilities, face flags, boxes, signal values and measures, frame by frame."""


class SessionReplayViewer:
    """Answers each emoticon with the reaction recorded for the nearest one in a session.

    Args:
        path: The recorded session folder.
        frames: Frames per reaction. A recorded step with another number of frames is cycled
            through in recording order (or cut) to this many.
        space: The parameter space of the emoticons shown; the session's must have the same
            names and bounds.
        signal: The signal to answer with; None for the one the session was scored by.

    Raises:
        SessionError: If the folder is not a session, was recorded over another parameter
            space, or has no step with a face.
        ConfigError: For a signal the session did not keep what it needs of.
    """

    nondeterministic = False
    needs_image = False

    def __init__(
        self,
        path: Path | str,
        frames: int = RUN_DEFAULTS.frames,
        space: ParamSpace = PARAM_SPACE,
        signal: str | None = None,
    ) -> None:
        if frames < 1:
            raise ValueError(f"a viewer must read at least one frame per step, got {frames}.")
        self.path = Path(path)
        self.frames = frames
        self.space = space
        session = load_session(self.path)
        recorded = session.meta.space()
        if not recorded.same_bounds(space):
            raise SessionError(
                f"session {self.path} was recorded over another parameter space "
                f"({list(recorded.names)}); replay it with the laetitia version that recorded it."
            )
        self.class_names = session.class_names
        self.signal = signal or session.meta.signal_name
        self._check_signal(session)
        scored = np.flatnonzero(session.steps["faces"] > 0)
        if scored.size == 0:
            raise SessionError(
                f"session {self.path} has no step with a face in view: there is no reaction "
                "to replay. Record a session where the person faces the camera."
            )
        self._steps = scored
        self._units = np.stack([space.normalize(space.clip(p)) for p in session.params()[scored]])
        self._reactions = [self._recorded(session, int(step)) for step in scored]
        self._meta = session.meta

    def _check_signal(self, session: Session) -> None:
        """Refuse a signal the session kept too little to compute.

        Raises:
            ConfigError: For a signal whose measures the session's frames.csv does not hold.
        """
        if self.signal == session.meta.signal_name:
            return
        wanted = get_signal(self.signal).measures
        index = session.frame_index
        kept = {} if index is None else index.measures
        missing = [name for name in wanted if name not in kept]
        if missing or (wanted and index is None):
            raise ConfigError(
                f"signal {self.signal} needs {', '.join(missing)} per frame, and the session "
                f"{self.path} (scored by {session.meta.signal_name}) did not keep them. Replay "
                f"it with its own signal, or re-score its frames with the signal first "
                "(`laetitia replay`, naming the `signal`).",
                field="signal",
            )

    def _recorded(self, session: Session, step: int) -> _Recorded:
        """What a step's frames read, cycled to `frames` rows, with the viewer's signal."""
        index = session.frame_index
        own = self.signal == session.meta.signal_name
        if index is not None and (rows := index.rows(step)).size:
            probs, faces, boxes = index.probs[rows], index.has_face[rows], index.boxes[rows]
            measures = {name: kept[rows] for name, kept in index.measures.items()}
            recorded = None if index.values is None or not own else index.values[rows]
        else:  # no frame index: the step's means, repeated
            probs = session.probs()[step][None].astype(np.float32)
            faces = np.ones(1, dtype=bool)
            boxes = np.full((1, 4), np.nan, dtype=np.float32)
            measures, recorded = {}, None
        values = recorded
        if values is None:
            values = get_signal(self.signal).values(probs, measures, self.class_names)
        take = np.arange(self.frames) % probs.shape[0]
        measured = {name: kept[take] for name, kept in measures.items()}
        return probs[take], faces[take], boxes[take], values[take], measured

    def nearest(self, params: np.ndarray) -> tuple[int, float]:
        """The recorded step nearest to raw `params`, and its normalised distance."""
        unit = self.space.normalize(self.space.clip(params))
        distances = np.sqrt(np.sum((self._units - unit) ** 2, axis=1))
        best = int(np.argmin(distances))  # the first of equals: the earliest step
        return int(self._steps[best]), float(distances[best])

    def reset(self, seed: int | None = None) -> None:
        """Nothing to reset: the recording is the same in every episode."""

    def react(self, image: np.ndarray | None, params: np.ndarray) -> Reaction:
        """The recorded reaction to the nearest recorded emoticon (`image` is unused)."""
        step, distance = self.nearest(params)
        probs, faces, boxes, values, measures = self._reactions[
            int(np.searchsorted(self._steps, step))
        ]
        return Reaction(
            probs=probs.copy(),
            has_face=faces.copy(),
            class_names=self.class_names,
            boxes=boxes.copy(),
            extras={"source_step": float(step), "distance": distance},
            signal=self.signal,
            values=values.copy(),
            measures={name: kept.copy() for name, kept in measures.items()},
        )

    def show_reward(self, reward: float, scored: bool) -> None:
        """Nothing to show: the viewer has no window."""

    def describe(self) -> dict[str, object]:
        """The session replayed, and the model and detector that scored it."""
        viewer = self._meta.viewer
        return {
            "kind": "session",
            "path": str(self.path),
            "frames": self.frames,
            "steps_answered_from": int(self._steps.size),
            "recorded_viewer": viewer,
            "match": "nearest recorded emoticon, Euclidean in normalised parameter space",
            "signal": {
                **(self._meta.signal if self.signal == self._meta.signal_name else {}),
                **get_signal(self.signal).describe(),
                "from": "the session's frames.csv",
            },
        }

    def close(self) -> None:
        """Nothing to release: the session was read whole."""
