"""The suites of simulated people by name: their sizes, their splits, one way to build a member.

| suite | people | splits | module |
|---|---|---|---|
| people-v1 | 24 | (none) | `people` |
| people-v2 | 48 | training 0-23, held-out 24-47 | `people` |
| people-v3 | 180 | prior 0-39, validation 40-99, test 100-179 (sealed) | `people_v3` |

    viewer = suite_viewer(42, seed=1, suite="people-v3", settle_s=0.5, camera_fps=30)
"""

from __future__ import annotations

from laetitia.emoticon.params import PARAM_SPACE, ParamSpace
from laetitia.errors import ViewerSpecError
from laetitia.run_settings import RUN_DEFAULTS
from laetitia.viewers import people
from laetitia.viewers.people import SUITE_V2, SUITE_VERSION, PersonViewer
from laetitia.viewers.people_v3 import SUITE_V3, V3_SIZE, V3_SPLITS, PersonV3Viewer, v3_viewer

SUITES: dict[str, int] = {**people.SUITES, SUITE_V3: V3_SIZE}
"""Every suite, with its number of people."""
SPLITS: dict[str, dict[str, tuple[int, ...]]] = {
    SUITE_V2: {"training": people.V2_TRAINING, "held-out": people.V2_HELD_OUT},
    SUITE_V3: V3_SPLITS,
}
"""The named splits of the suites that have them."""
SPEC_PREFIXES = {"v2": SUITE_V2, "v3": SUITE_V3}
"""`person:vN:INDEX` names a member of these suites; `person:INDEX` one of people-v1."""

SuitePerson = PersonViewer | PersonV3Viewer
"""A member of a suite, at a camera."""


def person_spec(arg: str | None) -> tuple[str, int]:
    """The suite and member a `person:` viewer spec's argument names (`5`, `v2:30`, `v3:41`).

    Raises:
        ViewerSpecError: If it names no suite member this way.
    """
    text = arg or "0"
    prefix, sep, index = text.partition(":")
    suite = SPEC_PREFIXES.get(prefix) if sep else SUITE_VERSION
    number = index if sep else prefix
    if suite is None or not number.isdigit():
        raise ViewerSpecError(
            f"viewer 'person:{text}': give person:INDEX, person:v2:INDEX or person:v3:INDEX."
        )
    return suite, int(number)


def suite_viewer(
    index: int,
    seed: int = 0,
    frames: int = RUN_DEFAULTS.frames,
    settle_s: float = RUN_DEFAULTS.settle_s,
    camera_fps: float = RUN_DEFAULTS.camera_fps,
    space: ParamSpace = PARAM_SPACE,
    suite: str = SUITE_VERSION,
) -> SuitePerson:
    """Member `index` of a suite: the same person for the same index, noise from `seed`.

    people-v1 and v2 read ten frames a step with no notion of time (`settle_s` and
    `camera_fps` do not change them); people-v3 reads its frames at their times.

    Raises:
        ValueError: If the suite is unknown or has no member `index`.
    """
    if suite == SUITE_V3:
        return v3_viewer(
            index, seed=seed, frames=frames, settle_s=settle_s, camera_fps=camera_fps, space=space
        )
    return people.suite_viewer(index, seed=seed, frames=frames, space=space, suite=suite)
