"""What a session folder holds: its file names and the columns of its tables."""

from __future__ import annotations

import re
from collections.abc import Sequence

from laetitia.emoticon.params import PARAM_SPACE, ParamSpace
from laetitia.labels import EMOTIONS

META_FILE = "meta.json"
STEPS_FILE = "steps.csv"
FRAMES_FILE = "frames.csv"
FRAMES_DIR = "frames"
LOCK_FILE = "writer.lock"
"""The file the writer of a session locks (`laetitia.sessions.lock`), there while it writes."""
FIXED_COLUMNS = ("step", "episode", "t", "reward", "faces")
"""Columns before the parameter and class columns of `steps.csv`."""
FRAME_FIXED_COLUMNS = ("step", "frame", "t", "file", "face", "x", "y", "w", "h")
"""Columns before the class columns of `frames.csv`."""
SIGNAL_COLUMN = "signal"
"""The `frames.csv` column of the session's signal, after the class columns (then what the
signal needs per frame beyond them, by name). A table without it holds P(happy) alone."""
FRAME_FORMAT = "png"
"""How frame images are stored: lossless PNG, one file per frame."""
PNG_COMPRESSION = 1
"""zlib level of the frame PNGs: 1 is ~10% larger than 3 and twice as fast to write."""
FRAME_NAME = re.compile(r"^(\d{8})\.png$")
"""The name the recorder gives a frame image; it never touches a file named otherwise."""


def frame_file(number: int) -> str:
    """The path of frame `number`'s image, relative to the session folder."""
    return f"{FRAMES_DIR}/{number:08d}.{FRAME_FORMAT}"


def step_columns(
    space: ParamSpace = PARAM_SPACE, class_names: Sequence[str] = EMOTIONS
) -> list[str]:
    """The header of `steps.csv` for a parameter space and a set of classes."""
    return [*FIXED_COLUMNS, *space.names, *class_names]


RECOMMENDED_PREFIX = "recommended_"
"""`steps.csv` columns of a training's recommendation after each step: this prefix and a
parameter's name (the agent's `best_params`), then `RESPONDS_COLUMN`."""
RESPONDS_COLUMN = "responds"
"""The agent's verdict after each step: 1 (the person reacts), 0 (no reliable reaction), empty
(no verdict)."""


def recommended_columns(space: ParamSpace = PARAM_SPACE) -> list[str]:
    """The `steps.csv` columns of the agent's recommendation and verdict after each step."""
    return [*(RECOMMENDED_PREFIX + name for name in space.names), RESPONDS_COLUMN]


def frame_prefix(class_names: Sequence[str] = EMOTIONS) -> list[str]:
    """The columns every `frames.csv` starts with: the fixed ones, then the classes."""
    return [*FRAME_FIXED_COLUMNS, *class_names]


def frame_columns(class_names: Sequence[str] = EMOTIONS, measures: Sequence[str] = ()) -> list[str]:
    """The header of `frames.csv`: `frame_prefix`, the signal's value, what it measures."""
    return [*frame_prefix(class_names), SIGNAL_COLUMN, *measures]
