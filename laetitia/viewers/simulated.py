"""A simulated viewer: a hidden taste over emoticons, read through noisy frames. No pixels.

It stands in for a person wherever there is no camera (tests, `make demo`, benchmarks). The
taste is a smooth function of the normalised parameters with one hidden favourite emoticon;
each frame's P(happy) is the taste plus Gaussian noise, and the other six classes share the
rest of the probability mass. Everything is reproducible from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from laetitia.emoticon.params import PARAM_SPACE, ParamSpace
from laetitia.labels import EMOTIONS, HAPPY
from laetitia.run_settings import RUN_DEFAULTS
from laetitia.types import FER_HAPPY, Reaction


@dataclass(frozen=True)
class GaussianTaste:
    """Happiness as a Gaussian bump around a favourite emoticon, in normalised space."""

    favourite: np.ndarray
    """Normalised parameters (in [-1, 1]) of the emoticon the viewer likes best."""
    relevance: np.ndarray
    """Per-parameter weight: how much a change of that parameter matters (0 = not at all)."""
    width: float = 1.5
    """Width of the bump, in normalised units along a parameter of relevance 1."""
    floor: float = 0.05
    """Happiness far from the favourite."""
    peak: float = 0.9
    """Happiness at the favourite."""

    def __call__(self, unit: np.ndarray) -> float:
        """Noise-free happiness for normalised parameters."""
        d2 = float(np.sum((self.relevance * (unit - self.favourite)) ** 2))
        return self.floor + (self.peak - self.floor) * float(np.exp(-0.5 * d2 / self.width**2))

    @classmethod
    def random(cls, rng: np.random.Generator, n_params: int) -> GaussianTaste:
        """A taste with a favourite away from the bounds and mixed parameter relevance."""
        return cls(
            favourite=rng.uniform(-0.7, 0.7, size=n_params),
            relevance=rng.uniform(0.5, 1.5, size=n_params),
        )


_HAPPY = EMOTIONS.index(HAPPY)
_OTHERS = [i for i in range(len(EMOTIONS)) if i != _HAPPY]


def frame_probs(happy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-frame class probabilities with the given P(happy); the other classes share the rest.

    Args:
        happy: float (n_frames,) P(happy) per frame, in [0, 1].
        rng: Draws how the rest of the mass splits between the other classes.

    Returns:
        float32 (n_frames, n_classes) rows summing to 1, columns in the label map's order.
    """
    others = rng.dirichlet(np.ones(len(_OTHERS)), size=happy.shape[0])
    probs = np.empty((happy.shape[0], len(EMOTIONS)), dtype=np.float32)
    probs[:, _HAPPY] = happy
    probs[:, _OTHERS] = others * (1.0 - happy[:, None])
    return probs


class SimulatedViewer:
    """A reproducible stand-in for a person, with a hidden favourite emoticon.

    Args:
        seed: Picks the taste (the "person"); the same seed is the same person.
        frames: Frames read per shown emoticon.
        noise: Standard deviation of each frame's P(happy) around the taste.
        space: The parameter space the emoticons come from.
    """

    nondeterministic = False
    needs_image = False
    signal = FER_HAPPY
    """It simulates the FER model's P(happy): its reactions' "happy" column."""

    def __init__(
        self,
        seed: int = 0,
        frames: int = RUN_DEFAULTS.frames,
        noise: float = 0.1,
        space: ParamSpace = PARAM_SPACE,
    ) -> None:
        if frames < 1:
            raise ValueError(f"a viewer must read at least one frame per step, got {frames}.")
        self.seed = seed
        self.frames = frames
        self.noise = noise
        self.space = space
        self.taste = GaussianTaste.random(np.random.default_rng(seed), len(space))
        self._rng = np.random.default_rng([seed, 1])

    def reset(self, seed: int | None = None) -> None:
        """Reseed the frame noise (the taste stays: it is the same person)."""
        if seed is not None:
            self._rng = np.random.default_rng([self.seed, 1, seed])

    def true_happiness(self, params: np.ndarray) -> float:
        """The noise-free happiness the viewer feels for raw `params`."""
        return self.taste(self.space.normalize(self.space.clip(params)))

    def favourite(self) -> np.ndarray:
        """Raw parameters of the emoticon the viewer likes best."""
        return self.space.clip(self.space.denormalize(self.taste.favourite))

    def react(self, image: np.ndarray | None, params: np.ndarray) -> Reaction:
        """Read `frames` noisy frames of the viewer's reaction to `params` (the image is unused)."""
        happiness = self.true_happiness(params)
        happy = np.clip(happiness + self.noise * self._rng.standard_normal(self.frames), 0.0, 1.0)
        return Reaction(
            probs=frame_probs(happy, self._rng),
            has_face=np.ones(self.frames, dtype=bool),
            extras={"true_happiness": happiness},
        )

    def show_reward(self, reward: float, scored: bool) -> None:
        """Nothing to show: the viewer has no window."""

    def describe(self) -> dict[str, object]:
        """The viewer's settings for meta.json (the taste stays hidden; the seed names it)."""
        return {"kind": "sim", "seed": self.seed, "frames": self.frames, "noise": self.noise}

    def close(self) -> None:
        """Nothing to release."""
