"""The one label map: FER2013's seven emotion classes, in FER2013's order.

Every other module imports the names from here. Checkpoints store their class names, and
`check_labels` refuses a checkpoint whose classes disagree with what the caller expects.
"""

from __future__ import annotations

from collections.abc import Sequence

from laetitia.errors import LabelMismatchError

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""The seven FER2013 classes; position i is FER2013's integer label i."""

INDEX: dict[str, int] = {name: i for i, name in enumerate(EMOTIONS)}
"""Class name to FER2013 integer label."""

HAPPY: str = "happy"
"""The class whose probability is the reward."""


def check_labels(found: Sequence[str], expected: Sequence[str], source: str) -> None:
    """Refuse class names that differ from the expected ones, in content or in order.

    Args:
        found: The class names a checkpoint, dataset or profile carries.
        expected: The class names the caller works with.
        source: What carried `found` (a path or a description), for the message.

    Raises:
        LabelMismatchError: If the two lists differ.
    """
    if list(found) != list(expected):
        raise LabelMismatchError(
            f"{source} has classes {list(found)}, but {list(expected)} were expected "
            "(same names, same order). Labels are never remapped silently: retrain or "
            "convert the model with the label map in laetitia.labels, or pass the classes "
            "it was trained on."
        )


def indices_of(names: Sequence[str]) -> list[int]:
    """FER2013 integer labels of the given class names.

    Raises:
        LabelMismatchError: If a name is not one of the seven classes.
    """
    unknown = [name for name in names if name not in INDEX]
    if unknown:
        raise LabelMismatchError(
            f"unknown emotion class(es) {unknown}; the classes are {list(EMOTIONS)}."
        )
    return [INDEX[name] for name in names]
