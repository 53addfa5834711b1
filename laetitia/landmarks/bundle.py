"""MediaPipe's face landmarker bundle: the shipped file, checked, and its two networks on LiteRT.

`face_landmarker.task` is a plain zip of Google's networks (laetitia/weights/README.md gives
its provenance, sha256 and licence). Two of them are used, read from the zip in memory:

- `face_landmarks_detector.tflite` (Face Mesh V2): a 1 x 256 x 256 x 3 float32 RGB crop in
  [0, 1] in; 478 landmarks (x, y, z in crop pixels) and a face presence logit out;
- `face_blendshapes.tflite` (Blendshape V2): 146 of those landmarks as 1 x 146 x 2 frame
  pixels in; 52 blendshape scores in [0, 1] out, in the order of `BLENDSHAPE_NAMES`.

The bundle's own face detector is not used: YuNet finds the face (`laetitia.landmarks.geometry`).
The networks run on the LiteRT interpreter (`ai-edge-litert`), which runs the very files
MediaPipe runs, so the readings are MediaPipe's (BENCHMARKS.md: parity).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.resources
import os
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import numpy as np

from laetitia.errors import CheckpointError, DependencyError
from laetitia.threads import ensure_threads

LANDMARKER_MODEL: Final = "face_landmarker.task"
"""File name of the shipped bundle in `laetitia/weights/`."""
LANDMARKER_SHA256: Final = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
"""sha256 of the shipped bundle: Google's face_landmarker float16 version 1."""
LANDMARKS_MEMBER: Final = "face_landmarks_detector.tflite"
BLENDSHAPES_MEMBER: Final = "face_blendshapes.tflite"

LANDMARK_SIDE: Final = 256
"""Side of the square crop the landmark network reads, in pixels."""
N_LANDMARKS: Final = 478

BLENDSHAPE_NAMES: Final[tuple[str, ...]] = tuple(
    (
        "_neutral browDownLeft browDownRight browInnerUp browOuterUpLeft browOuterUpRight "
        "cheekPuff cheekSquintLeft cheekSquintRight eyeBlinkLeft eyeBlinkRight eyeLookDownLeft "
        "eyeLookDownRight eyeLookInLeft eyeLookInRight eyeLookOutLeft eyeLookOutRight "
        "eyeLookUpLeft eyeLookUpRight eyeSquintLeft eyeSquintRight eyeWideLeft eyeWideRight "
        "jawForward jawLeft jawOpen jawRight mouthClose mouthDimpleLeft mouthDimpleRight "
        "mouthFrownLeft mouthFrownRight mouthFunnel mouthLeft mouthLowerDownLeft "
        "mouthLowerDownRight mouthPressLeft mouthPressRight mouthPucker mouthRight "
        "mouthRollLower mouthRollUpper mouthShrugLower mouthShrugUpper mouthSmileLeft "
        "mouthSmileRight mouthStretchLeft mouthStretchRight mouthUpperUpLeft mouthUpperUpRight "
        "noseSneerLeft noseSneerRight"
    ).split()
)
"""The blendshape network's 52 outputs, in order (MediaPipe's names, ARKit's blendshapes).
Left and right are the person's."""

BLENDSHAPE_LANDMARKS: Final = np.array(
    [0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65]
    + [66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133]
    + [136, 144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162]
    + [163, 168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267]
    + [269, 270, 276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311]
    + [312, 314, 317, 318, 321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374]
    + [375, 377, 378, 379, 380, 381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398, 400]
    + [402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477],
    dtype=np.intp,
)
"""The 146 landmarks the blendshape network reads, in its order (MediaPipe's
face_blendshapes_graph.cc, kLandmarksSubsetIdxs)."""
assert len(BLENDSHAPE_LANDMARKS) == 146 and len(BLENDSHAPE_NAMES) == 52


def landmarker_model_path() -> Path:
    """Path of the shipped `face_landmarker.task`."""
    resource = importlib.resources.files("laetitia") / "weights" / LANDMARKER_MODEL
    # The package is installed as files (not zipped), so the resource is a real path.
    return Path(str(resource))


def read_bundle(path: Path | None = None) -> dict[str, bytes]:
    """The two networks' .tflite bytes from the bundle, after checking its sha256.

    Args:
        path: The bundle; None for the shipped one (only the shipped file is accepted: the
            readings, and what a session records of them, are those of that file).

    Raises:
        CheckpointError: If the file is missing, is not the shipped bundle, or lacks a network.
    """
    path = landmarker_model_path() if path is None else Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CheckpointError(
            f"face landmarker model not found: {path} ({err.strerror or err}). Reinstall "
            f"laetitia: it ships {LANDMARKER_MODEL} in laetitia/weights/."
        ) from err
    identity = hashlib.sha256(data).hexdigest()
    if identity != LANDMARKER_SHA256:
        raise CheckpointError(
            f"the face landmarker model {path} has sha256 {identity}, not {LANDMARKER_SHA256}: "
            "it was changed, damaged or is another model. Reinstall laetitia or restore the "
            "file (laetitia/weights/README.md gives its source and sha256)."
        )
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        names = set(bundle.namelist())
        missing = {LANDMARKS_MEMBER, BLENDSHAPES_MEMBER} - names
        if missing:  # pragma: no cover - the sha256 check above rules it out
            raise CheckpointError(f"{path} lacks {sorted(missing)}.")
        return {name: bundle.read(name) for name in (LANDMARKS_MEMBER, BLENDSHAPES_MEMBER)}


def _interpreter_class() -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as err:
        raise DependencyError(
            "the smile signal's face landmarker runs on LiteRT, and the package ai-edge-litert "
            f"is not installed or does not load ({err}). Install it (pip install "
            "'ai-edge-litert==2.3.0'; there is no wheel for macOS on Intel), or score with a "
            "signal that needs no landmarks (`signal` fer-happy).",
            mentions=("signal",),
        ) from err
    return Interpreter


LITERT_GREETING: Final = "Created TensorFlow Lite XNNPACK delegate for CPU."
"""The line LiteRT's C++ side prints on stderr the first time a process builds a network."""


@contextlib.contextmanager
def _without_greeting() -> Iterator[None]:
    """Hold stderr back while networks are built, and write back all but LiteRT's greeting.

    The file descriptor is held, where LiteRT's C++ side writes: a command's output keeps only
    what concerns its user.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            said = caught.read().decode("utf-8", errors="replace").splitlines()
            kept = [line for line in said if LITERT_GREETING not in line]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")


class LandmarkNetworks:
    """The landmark and blendshape networks on LiteRT's interpreter, one thread each.

    Args:
        path: The bundle; None for the shipped one.
        threads: Interpreter threads; None for laetitia's thread count (`laetitia.threads`:
            one on a small machine).

    Raises:
        CheckpointError: If the bundle is missing or not the shipped file.
        DependencyError: If LiteRT is not installed.
    """

    def __init__(self, path: Path | None = None, threads: int | None = None) -> None:
        interpreter = _interpreter_class()
        threads = ensure_threads() if threads is None else threads
        members = read_bundle(path)
        with _without_greeting():
            self._landmarks = interpreter(
                model_content=members[LANDMARKS_MEMBER], num_threads=threads
            )
            self._blendshapes = interpreter(
                model_content=members[BLENDSHAPES_MEMBER], num_threads=threads
            )
            for network in (self._landmarks, self._blendshapes):
                network.allocate_tensors()
        outputs = {d["name"]: d["index"] for d in self._landmarks.get_output_details()}
        self._landmarks_in = self._landmarks.get_input_details()[0]["index"]
        self._points_out, self._presence_out = outputs["Identity"], outputs["Identity_1"]
        self._blendshapes_in = self._blendshapes.get_input_details()[0]["index"]
        self._scores_out = self._blendshapes.get_output_details()[0]["index"]

    def landmarks(self, crop: np.ndarray) -> tuple[np.ndarray, float]:
        """478 landmarks of a face crop, and the face's presence logit.

        Args:
            crop: float32 (1, 256, 256, 3) RGB in [0, 1].

        Returns:
            float32 (478, 3): x, y, z in crop pixels; and the logit that a face is there.
        """
        self._landmarks.set_tensor(self._landmarks_in, crop)
        self._landmarks.invoke()
        points = self._landmarks.get_tensor(self._points_out).reshape(N_LANDMARKS, 3)
        return points, float(self._landmarks.get_tensor(self._presence_out).ravel()[0])

    def blendshapes(self, points: np.ndarray) -> np.ndarray:
        """The 52 blendshape scores, float32 (52,), of (1, 146, 2) landmarks in frame pixels."""
        self._blendshapes.set_tensor(self._blendshapes_in, points)
        self._blendshapes.invoke()
        return self._blendshapes.get_tensor(self._scores_out).reshape(len(BLENDSHAPE_NAMES))
