"""The reward rule, in one place: a reaction in, a reward and its named terms out.

Rule: the reward is the mean of the reaction's smile signal (`Reaction.signal_values`: the
session's signal, `laetitia.signals`; for `fer-happy` the FER model's P(happy), DeepLaetitia's
reward) over the frames of the reaction that have a face.
When no frame has a face (the person looked away, or left), the step is *unscored*: its reward
is the previous step's reward (0.0 at the start of an episode) and `scored` is False. A missing
face is thus never read as unhappiness, and value estimates are not pulled towards zero by it;
agents that read `info` (the hill-climber) never accept a change on an unscored step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from laetitia.types import Reaction


@dataclass(frozen=True)
class RewardTerms:
    """Why a step scored what it scored; copied into the env's `info`."""

    reward: float
    """The reward given to the agent."""
    happiness: float
    """Mean of the signal over frames with a face (how happy the viewer read, by the signal);
    NaN when there were none."""
    frames: int
    """Frames the viewer read."""
    faces: int
    """Frames among them with a face."""
    scored: bool
    """False when no frame had a face and the reward was carried over."""
    signal: str
    """The name of the signal the frames were scored by (`laetitia.signals`)."""

    def as_info(self) -> dict[str, float | int | bool | str]:
        """The terms as a plain dict for `info`."""
        return asdict(self)


def reward_from(reaction: Reaction, previous_reward: float = 0.0) -> RewardTerms:
    """Apply the reward rule to a reaction.

    Args:
        reaction: What the viewer returned for the shown emoticon.
        previous_reward: The reward of the step before, carried over when no face was seen.

    Returns:
        The reward and the terms that made it.
    """
    faces = reaction.n_faces
    if faces == 0:
        return RewardTerms(
            reward=float(previous_reward),
            happiness=float("nan"),
            frames=reaction.n_frames,
            faces=0,
            scored=False,
            signal=reaction.signal,
        )
    values = reaction.signal_values()[reaction.has_face]
    happiness = float(np.mean(values, dtype=np.float64))
    return RewardTerms(
        reward=happiness,
        happiness=happiness,
        frames=reaction.n_frames,
        faces=faces,
        scored=True,
        signal=reaction.signal,
    )
