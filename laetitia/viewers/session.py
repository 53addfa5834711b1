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

A Minari dataset a study exported (`laetitia.sessions.minari`) is read the same way: the
dataset folder when it holds one participant, `DATASET#PARTICIPANT` for one of several. It
holds each step's mean probabilities, not its frames: they are repeated, as for a session
recorded without a frame index.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from laetitia.emoticon.params import PARAM_SPACE, ParamSpace
from laetitia.errors import SessionError
from laetitia.run_settings import RUN_DEFAULTS
from laetitia.sessions import Session, load_session
from laetitia.types import Reaction


class SessionReplayViewer:
    """Answers each emoticon with the reaction recorded for the nearest one in a session.

    Args:
        path: The recorded session folder, or a Minari dataset folder (`DATASET#PARTICIPANT`
            for one participant of several).
        frames: Frames per reaction. A recorded step with another number of frames is cycled
            through in recording order (or cut) to this many.
        space: The parameter space of the emoticons shown; the session's must have the same
            names and bounds.

    Raises:
        SessionError: If the folder is not a session (or a Minari dataset laetitia wrote), was
            recorded over another parameter space, or has no step with a face.
    """

    nondeterministic = False
    needs_image = False

    def __init__(
        self, path: Path | str, frames: int = RUN_DEFAULTS.frames, space: ParamSpace = PARAM_SPACE
    ) -> None:
        if frames < 1:
            raise ValueError(f"a viewer must read at least one frame per step, got {frames}.")
        self.path = Path(path)
        self.frames = frames
        self.space = space
        dataset, participant = _minari_source(self.path)
        if dataset is not None:
            self._from_minari(dataset, participant)
        else:
            self._from_session()

    def _from_session(self) -> None:
        session = load_session(self.path)
        recorded = session.meta.space()
        self._check_space(recorded)
        self.class_names = session.class_names
        scored = np.flatnonzero(session.steps["faces"] > 0)
        self._refuse_faceless(scored)
        self._steps = scored
        units = [self.space.normalize(self.space.clip(p)) for p in session.params()[scored]]
        self._units = np.stack(units)
        self._reactions = [self._recorded(session, int(step)) for step in scored]
        self._source: dict[str, object] = {"recorded_viewer": session.meta.viewer}

    def _from_minari(self, dataset: Path, participant: str | None) -> None:
        from laetitia.sessions.minari import read_minari_steps

        steps = read_minari_steps(dataset, participant)
        self._check_space(steps.space)
        self.class_names = steps.class_names
        scored = np.flatnonzero(steps.faces > 0)
        self._refuse_faceless(scored)
        self._steps = scored
        self._units = steps.units[scored]
        take = np.zeros(self.frames, dtype=np.int64)  # the step's means, repeated
        self._reactions = [
            (
                steps.probs[step][None][take],
                np.ones(self.frames, dtype=bool),
                np.full((self.frames, 4), np.nan, dtype=np.float32),
            )
            for step in scored
        ]
        self._source = {"dataset": steps.dataset_id, "participant": steps.participant}

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

    def _recorded(self, session: Session, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-frame probabilities, face flags and boxes of a step, cycled to `frames` rows."""
        index = session.frame_index
        if index is not None and (rows := index.rows(step)).size:
            probs, faces, boxes = index.probs[rows], index.has_face[rows], index.boxes[rows]
        else:  # no frame index: the step's means, repeated
            probs = session.probs()[step][None].astype(np.float32)
            faces = np.ones(1, dtype=bool)
            boxes = np.full((1, 4), np.nan, dtype=np.float32)
        take = np.arange(self.frames) % probs.shape[0]
        return probs[take], faces[take], boxes[take]

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
        probs, faces, boxes = self._reactions[int(np.searchsorted(self._steps, step))]
        return Reaction(
            probs=probs.copy(),
            has_face=faces.copy(),
            class_names=self.class_names,
            boxes=boxes.copy(),
            extras={"source_step": float(step), "distance": distance},
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
