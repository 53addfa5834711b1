"""Sessions as a Minari dataset (the Farama standard for offline RL): the layout, read back.

`laetitia study export --format minari` (`laetitia.app.study.export`) writes each condition of
a study as one Minari dataset: one episode per episode of each session, whose
- observations are the env's (each parameter normalised to [-1, 1], then the reward of the
  step before; the first is the env's starting emoticon with reward 0),
- actions move the emoticon before to the one shown (`action_towards`; where one step could
  not reach it, the action that comes closest),
- rewards are the session's `steps.csv` rewards, terminations all False, truncations True at
  the last step of each episode,
- infos hold, per step (a first row for the reset), its number in the session (`step`), its
  time (`time_s`), how many frames had a face (`faces`) and the mean class probabilities
  (`probs`, NaN at the reset and where no face was seen),
- episode metadata name the participant, the condition, its position in their order and the
  session's own episode number;
and whose dataset metadata hold, under `laetitia`, the parameter space and the class names.
Frames are not exported (the per-frame table of `--format parquet` holds their values).

`read_minari_steps` reads one participant's steps back, for the `session:` viewer
(`laetitia.viewers.session`), so agents can be trained and compared offline on a study's data:

    viewer = make_viewer("session:exports/laetitia/my-study/bayes-v0#P03")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from laetitia.emoticon.params import ParamSpace
from laetitia.errors import SessionError
from laetitia.sessions.meta import space_from_description
from laetitia.sessions.paths import exists_inside, real_tree
from laetitia.types import FER_HAPPY

METADATA_KEY: Final = "laetitia"
"""The key of the dataset metadata that holds laetitia's own (`DatasetMeta`)."""
DATA_DIR: Final = "data"
"""The folder of a Minari dataset that holds its data and `metadata.json`."""
INFO_STEP, INFO_TIME, INFO_FACES, INFO_PROBS = "step", "time_s", "faces", "probs"
"""The per-step infos of an episode."""
PARTICIPANT_SEPARATOR: Final = "#"
"""`DATASET#PARTICIPANT` names one participant of a dataset in a viewer spec."""


def is_minari_dataset(path: Path | str) -> bool:
    """Whether `path` is a Minari dataset folder (it holds `data/metadata.json`).

    A link there counts (reading the dataset refuses it, naming it).

    Raises:
        SessionError: If `data` is a link or not a folder.
    """
    try:
        return exists_inside(path, f"{DATA_DIR}/metadata.json")
    except OSError:  # no such folder, or not a folder
        return False


@dataclass(frozen=True, eq=False)
class MinariSteps:
    """One participant's recorded steps, read from a Minari dataset."""

    dataset_id: str
    participant: str | None
    units: np.ndarray
    """float64 (n, n_params): the normalised emoticon shown at each step."""
    probs: np.ndarray
    """float32 (n, n_classes): each step's mean class probabilities (NaN without a face)."""
    faces: np.ndarray
    """int64 (n,): frames with a face at each step."""
    rewards: np.ndarray
    """float64 (n,): each step's reward."""
    class_names: tuple[str, ...]
    space: ParamSpace
    signal: str = FER_HAPPY
    """The signal the sessions' rewards are the mean of (`laetitia.signals`); datasets written
    before it was recorded were all scored by P(happy)."""


def read_minari_steps(path: Path | str, participant: str | None = None) -> MinariSteps:
    """The steps of one participant of a Minari dataset laetitia wrote.

    Args:
        path: The dataset folder (the one holding `data/`).
        participant: Whose steps; None when the dataset holds one participant only.

    Raises:
        SessionError: If the folder is not a Minari dataset laetitia wrote, holds no episode of
            `participant`, or holds several participants and none was named.
    """
    import minari

    path = Path(path)
    if not is_minari_dataset(path):
        raise SessionError(f"{path} is not a Minari dataset (it has no {DATA_DIR}/metadata.json).")
    # Minari opens the files by its own paths: every entry is checked to be a real folder or
    # a regular file first, so that a dataset received reads nothing outside itself.
    data = real_tree(path, DATA_DIR, f"{path}: the Minari dataset")
    dataset = minari.MinariDataset(data)
    own: Any = dataset.storage.metadata.get(METADATA_KEY)
    if not isinstance(own, dict) or "parameter_space" not in own or "class_names" not in own:
        raise SessionError(
            f"{path} is a Minari dataset laetitia did not write (no {METADATA_KEY!r})."
        )
    space = space_from_description(own["parameter_space"], f"{path}: {METADATA_KEY}")
    indices = list(range(dataset.total_episodes))
    whose = [str(m.get("participant")) for m in dataset.storage.get_episode_metadata(indices)]
    people = sorted(set(whose))
    if participant is None and len(people) > 1:
        raise SessionError(
            f"{path} holds the episodes of {len(people)} participants ({', '.join(people[:5])}"
            f"{', ...' if len(people) > 5 else ''}); name one as DATASET{PARTICIPANT_SEPARATOR}"
            "PARTICIPANT."
        )
    wanted = [i for i, who in zip(indices, whose, strict=True) if participant in (None, who)]
    if not wanted:
        raise SessionError(f"{path} holds no episode of participant {participant!r}: {people}.")
    episodes = [dataset[i] for i in wanted]
    n = len(space)
    return MinariSteps(
        dataset_id=dataset.spec.dataset_id,
        participant=participant if participant is not None else people[0],
        units=np.concatenate([e.observations[1:, :n] for e in episodes]).astype(np.float64),
        probs=np.concatenate([e.infos[INFO_PROBS][1:] for e in episodes]).astype(np.float32),
        faces=np.concatenate([e.infos[INFO_FACES][1:] for e in episodes]).astype(np.int64),
        rewards=np.concatenate([e.rewards for e in episodes]).astype(np.float64),
        class_names=tuple(str(c) for c in own["class_names"]),
        space=space,
        signal=str(own.get("signal", FER_HAPPY)),
    )
