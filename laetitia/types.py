"""Data types several layers share: a viewer's `Reaction` and the `Viewer` protocol.

This module is a leaf: it imports nothing of the package but the label map, so importing a
type never builds a viewer, opens a camera or loads a model. The smile signals themselves (what
each name computes) are `laetitia.signals`; a reaction only carries a signal's name and values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Protocol, runtime_checkable

import numpy as np

from laetitia.labels import EMOTIONS, HAPPY

FER_HAPPY: Final = "fer-happy"
"""The signal that is the FER model's P(happy): DeepLaetitia's reward, the `-v0` envs', and the
one every simulated viewer of people-v1 and people-v2 gives (`laetitia.signals`)."""
SMILE: Final = "smile"
"""The signal that is the mean of the two smile blendshapes: the `-v1` envs' default."""


@dataclass(frozen=True, eq=False)
class Reaction:
    """A viewer's response to one shown emoticon: one row per frame read after it was shown.

    Each frame has the FER model's class probabilities and the value of the session's smile
    signal (`signal`, `signal_values()`); the reward is the signal's mean over the frames with
    a face (`laetitia.reward`). Frames with no face have `has_face` False, NaN probabilities and
    a NaN value: they carry no emotion, so they are never read as sadness or anything else.
    """

    probs: np.ndarray
    """float32 (n_frames, n_classes): emotion probabilities per frame; NaN rows where no face."""
    has_face: np.ndarray
    """bool (n_frames,): whether a face was found in the frame."""
    class_names: tuple[str, ...] = EMOTIONS
    """Column names of `probs`, from the label map."""
    boxes: np.ndarray | None = None
    """float32 (n_frames, 4) face boxes x, y, w, h in frame pixels (NaN where no face), if any."""
    frames: tuple[np.ndarray, ...] | None = None
    """The camera frames (BGR uint8) the reaction was read from, when the viewer has pixels."""
    times_s: np.ndarray | None = None
    """float64 (n_frames,): seconds since the session clock started, when the viewer has one."""
    extras: dict[str, float] = field(default_factory=dict)
    """Viewer-specific diagnostics (e.g. a simulated viewer's noise-free happiness)."""
    signal: str = FER_HAPPY
    """The name of the smile signal the frames were scored by (`laetitia.signals`)."""
    values: np.ndarray | None = None
    """float32 (n_frames,): the signal's value per frame, NaN where no face. None only for
    `fer-happy` read off `probs` as it is: `signal_values()` then gives the "happy" column."""
    measures: dict[str, np.ndarray] = field(default_factory=dict)
    """What the signal needs per frame beyond `probs` to be computed again, by name: float32
    (n_frames,) each, NaN where no face (for `smile`, its two blendshapes)."""

    def __post_init__(self) -> None:
        n = self.has_face.shape[0]
        assert self.probs.shape == (n, len(self.class_names)), "probs shape disagrees"
        assert self.boxes is None or self.boxes.shape == (n, 4), "boxes shape disagrees"
        assert self.values is not None or self.signal == FER_HAPPY, "a signal needs its values"
        assert self.values is None or self.values.shape == (n,), "values shape disagrees"
        assert all(v.shape == (n,) for v in self.measures.values()), "measures shape disagrees"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Reaction):
            return NotImplemented
        return (
            self.class_names == other.class_names
            and _same(self.probs, other.probs)
            and _same(self.has_face, other.has_face)
            and _same(self.boxes, other.boxes)
            and _same(self.times_s, other.times_s)
            and self.extras == other.extras
            and self.signal == other.signal
            and _same(self.signal_values(), other.signal_values())
            and self.measures.keys() == other.measures.keys()
            and all(_same(v, other.measures[k]) for k, v in self.measures.items())
            and (self.frames is None) == (other.frames is None)
            and all(_same(a, b) for a, b in zip(self.frames or (), other.frames or (), strict=True))
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def n_frames(self) -> int:
        """Number of frames read."""
        return int(self.has_face.shape[0])

    @property
    def n_faces(self) -> int:
        """Number of frames with a face."""
        return int(self.has_face.sum())

    def happiness(self) -> np.ndarray:
        """The FER model's P(happy) per frame, NaN where there is no face."""
        return self.probs[:, self.class_names.index(HAPPY)]

    def signal_values(self) -> np.ndarray:
        """The signal's value per frame, float32 (n_frames,), NaN where there is no face."""
        return self.happiness() if self.values is None else self.values

    def mean_probs(self) -> np.ndarray:
        """Mean probability of each class over frames with a face; NaN if there were none."""
        if self.n_faces == 0:
            return np.full(len(self.class_names), np.nan, dtype=np.float64)
        return self.probs[self.has_face].astype(np.float64).mean(axis=0)


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


@runtime_checkable
class Viewer(Protocol):
    """Anything that reacts to a shown emoticon.

    A viewer opens no camera or window until its first `react`; `close` releases both.
    """

    nondeterministic: bool
    """True for viewers whose reactions cannot be reproduced from a seed (a person)."""
    needs_image: bool
    """False for viewers that react to the parameters alone; the env then skips drawing."""
    signal: str
    """The smile signal its reactions carry (`laetitia.signals`): the one a camera's frames are
    scored by, or the one a simulated viewer simulates."""

    def reset(self, seed: int | None = None) -> None:
        """Start a new episode; a seed makes a stochastic viewer's noise reproducible."""

    def react(self, image: np.ndarray | None, params: np.ndarray) -> Reaction:
        """Show `image` (RGB uint8, None if `needs_image` is False) drawn from raw `params`."""

    def show_reward(self, reward: float, scored: bool) -> None:
        """Hear the reward the env gave the last reaction; a live window draws it.

        `scored` is False when no frame had a face and the reward was carried over.
        """

    def describe(self) -> dict[str, object]:
        """Plain-data description of the viewer for a session's meta.json."""

    def close(self) -> None:
        """Release the camera, window or files the viewer holds."""
