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

A Minari dataset a study exported (`laetitia.sessions.minari`) is read the same way: the
dataset folder when it holds one participant, `DATASET#PARTICIPANT` for one of several. It
holds each step's mean probabilities and reward, not its frames: they are repeated, as for a
session recorded without a frame index (its own signal's value is the step's reward).
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
        path: The recorded session folder, or a Minari dataset folder (`DATASET#PARTICIPANT`
            for one participant of several).
        frames: Frames per reaction. A recorded step with another number of frames is cycled
            through in recording order (or cut) to this many.
        space: The parameter space of the emoticons shown; the session's must have the same
            names and bounds.
        signal: The signal to answer with; None for the one the session was scored by.

    Raises:
        SessionError: If the folder is not a session (or a Minari dataset laetitia wrote), was
            recorded over another parameter space, or has no step with a face.
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
        dataset, participant = _minari_source(self.path)
        if dataset is not None:
            self._from_minari(dataset, participant, signal)
        else:
            self._from_session(signal)

    def _from_session(self, signal: str | None) -> None:
        session = load_session(self.path)
        recorded = session.meta.space()
        self._check_space(recorded)
        self.class_names = session.class_names
        self.signal = signal or session.meta.signal_name
        self._check_signal(session)
        scored = np.flatnonzero(session.steps["faces"] > 0)
        self._refuse_faceless(scored)
        self._steps = scored
        units = [self.space.normalize(self.space.clip(p)) for p in session.params()[scored]]
        self._units = np.stack(units)
        self._reactions = [self._recorded(session, int(step)) for step in scored]
        self._source: dict[str, object] = {"recorded_viewer": session.meta.viewer}
        self._recorded_signal: dict[str, object] = session.meta.signal
        self._recorded_signal_name = session.meta.signal_name
        self._answered_from = "the session's frames.csv"

    def _from_minari(self, dataset: Path, participant: str | None, signal: str | None) -> None:
        from laetitia.sessions.minari import read_minari_steps

        steps = read_minari_steps(dataset, participant)
        self._check_space(steps.space)
        self.class_names = steps.class_names
        self.signal = signal or steps.signal
        own = self.signal == steps.signal
        if not own and get_signal(self.signal).measures:
            raise ConfigError(
                f"signal {self.signal} needs {', '.join(get_signal(self.signal).measures)} per "
                f"frame, and the dataset {self.path} (scored by {steps.signal}) holds each "
                "step's mean probabilities only. Replay it with its own signal.",
                field="signal",
            )
        scored = np.flatnonzero(steps.faces > 0)
        self._refuse_faceless(scored)
        self._steps = scored
        self._units = steps.units[scored]
        take = np.zeros(self.frames, dtype=np.int64)  # the step's means, repeated
        self._reactions = []
        for step in scored:
            probs = steps.probs[step][None]
            # Its own signal's value is the step's reward (the mean the session was scored by).
            values = (
                np.array([steps.rewards[step]], dtype=np.float32)
                if own
                else get_signal(self.signal).values(probs, {}, self.class_names)
            )
            self._reactions.append(
                (
                    probs[take],
                    np.ones(self.frames, dtype=bool),
                    np.full((self.frames, 4), np.nan, dtype=np.float32),
                    values[take],
                    {},
                )
            )
        self._source = {"dataset": steps.dataset_id, "participant": steps.participant}
        self._recorded_signal = get_signal(steps.signal).describe()
        self._recorded_signal_name = steps.signal
        self._answered_from = "the dataset's steps"

    def _check_space(self, recorded: ParamSpace) -> None:
        if not recorded.same_bounds(self.space):
            raise SessionError(
                f"session {self.path} was recorded over another parameter space "
                f"({list(recorded.names)}); replay it with the laetitia version that recorded it."
            )

    def _refuse_faceless(self, scored: np.ndarray) -> None:
        if scored.size == 0:
            raise SessionError(
                f"session {self.path} has no step with a face in view: there is no reaction "
                "to replay. Record a session where the person faces the camera."
            )

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
        """The session replayed, and the model and detector that scored it (or the dataset)."""
        return {
            "kind": "session",
            "path": str(self.path),
            "frames": self.frames,
            "steps_answered_from": int(self._steps.size),
            **self._source,
            "match": "nearest recorded emoticon, Euclidean in normalised parameter space",
            "signal": {
                **(self._recorded_signal if self.signal == self._recorded_signal_name else {}),
                **get_signal(self.signal).describe(),
                "from": self._answered_from,
            },
        }

    def close(self) -> None:
        """Nothing to release: the session was read whole."""


def _minari_source(path: Path) -> tuple[Path | None, str | None]:
    """The Minari dataset `path` names, and the participant after its `#`, if it names one."""
    from laetitia.sessions.minari import PARTICIPANT_SEPARATOR, is_minari_dataset

    if is_minari_dataset(path):
        return path, None
    folder, separator, participant = str(path).rpartition(PARTICIPANT_SEPARATOR)
    if separator and is_minari_dataset(folder):
        return Path(folder), participant
    return None, None
