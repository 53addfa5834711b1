"""OpenCV's YuNet, the default detector: the shipped model file, checked by its sha256."""

from __future__ import annotations

import importlib.resources
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np

from laetitia.errors import CheckpointError
from laetitia.faces.mapping import YUNET_TO_HAAR, BoxMapping, largest_mapped
from laetitia.faces.shrink import shrunk_to_side
from laetitia.files import file_sha256

YUNET_MODEL = "face_detection_yunet_2023mar.onnx"
"""File name of the shipped YuNet model in `laetitia/weights/` (see its README.md)."""

YUNET_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
"""sha256 of the shipped YuNet model: the one OpenCV's model zoo publishes for the file."""

YUNET_KEYPOINTS: tuple[str, ...] = (
    "right_eye",
    "left_eye",
    "nose_tip",
    "right_mouth_corner",
    "left_mouth_corner",
)
"""The five facial keypoints YuNet gives with each face, in its order. Right and left are the
person's: the right eye is on the left of a frame that faces the camera."""


def yunet_model_path() -> Path:
    """Path of the shipped YuNet model file."""
    resource = importlib.resources.files("laetitia") / "weights" / YUNET_MODEL
    # The package is installed as files (not zipped), so the resource is a real path.
    return Path(str(resource))


class YunetDetector:
    """OpenCV's YuNet face detector (`cv2.FaceDetectorYN`), its boxes mapped to Haar's convention.

    Frames are shrunk (`laetitia.faces.shrink`) so their longer side is at most `long_side_px`
    before detection: YuNet runs at the size of the image it is given, so its cost grows with
    the pixels, and it finds faces from about 10 px, so a face large enough to read an
    expression is found at 320 px. The model file ships in `laetitia/weights/` and is checked
    against its sha256 before OpenCV reads it.

    Args:
        score_threshold: Lowest face score kept. In the fixtures every real face scores
            0.93-0.94 and every other box at most 0.045, so at 0.6 no frame of the title
            cards or of no_face.mp4 gives a face (BENCHMARKS.md); OpenCV's model zoo uses 0.9,
            a margin of only 0.03 below those faces.
        nms_threshold: Overlap above which the weaker of two boxes is dropped.
        long_side_px: Longer side of the frame YuNet sees; 0 to use frames at full size.
        mapping: YuNet -> Haar box mapping; `IDENTITY_MAPPING` keeps YuNet's own box
            (squared by the crop rule).
        model_path: The ONNX model file; None for the shipped one.
        model_sha256: The sha256 the model file must have; None accepts any file (one of your
            own). The default is the shipped file's.

    Raises:
        CheckpointError: If the model file is missing, is not the one `model_sha256` names,
            or OpenCV cannot read it.
    """

    name = "yunet"
    whole_frame = False

    def __init__(
        self,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        long_side_px: int = 320,
        mapping: BoxMapping = YUNET_TO_HAAR,
        model_path: str | None = None,
        model_sha256: str | None = YUNET_SHA256,
    ) -> None:
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.long_side_px = int(long_side_px)
        self.mapping = mapping
        self.model_path = None if model_path is None else str(model_path)
        path = yunet_model_path() if model_path is None else Path(model_path)
        if not path.is_file():
            raise CheckpointError(
                f"YuNet model file not found: {path}. Reinstall laetitia (it ships the file in "
                "laetitia/weights/), or pass the path of face_detection_yunet_2023mar.onnx."
            )
        identity = file_sha256(path)
        if model_sha256 is not None and identity != model_sha256:
            raise CheckpointError(
                f"the YuNet model {path} has sha256 {identity}, not {model_sha256}: it was "
                "changed, damaged or is another model. Reinstall laetitia or restore the file "
                "(laetitia/weights/README.md gives its source and sha256)."
            )
        self.model_sha256 = identity
        try:
            self._net = cv2.FaceDetectorYN.create(
                str(path), "", (320, 320), self.score_threshold, self.nms_threshold
            )
        except cv2.error as err:
            raise CheckpointError(f"OpenCV cannot read the YuNet model {path}: {err}") from err
        self._input_size = (320, 320)

    def detect_all(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Every face YuNet finds, unmapped: float32 (N, 5) x1, y1, x2, y2, score.

        Coordinates are in the pixels of `frame_bgr`, N is 0 when there is no face.
        """
        faces, scale = self._faces(frame_bgr)
        return _boxes(faces, scale)

    def detect_all_with_keypoints(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every face YuNet finds, unmapped, with its five keypoints, from one run of YuNet.

        Returns:
            The faces as `detect_all` gives them, float32 (N, 5), and their keypoints, float32
            (N, 5, 2) x, y in the pixels of `frame_bgr`, in the order of `YUNET_KEYPOINTS`.
        """
        faces, scale = self._faces(frame_bgr)
        if faces is None:
            return _boxes(faces, scale), np.zeros((0, len(YUNET_KEYPOINTS), 2), dtype=np.float32)
        keypoints = (faces[:, 4:14] / scale).astype(np.float32)
        return _boxes(faces, scale), keypoints.reshape(-1, len(YUNET_KEYPOINTS), 2)

    def _faces(self, frame_bgr: np.ndarray) -> tuple[np.ndarray | None, float]:
        """YuNet's rows for the frame shrunk to its working size, and that size's scale.

        Each row is (15,): box x, y, w, h, five keypoints x, y, score, in the pixels of the
        shrunk frame; None when there is no face.
        """
        small, scale = shrunk_to_side(frame_bgr, self.long_side_px, "longer")
        if small.ndim == 2:
            small = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
        size = (small.shape[1], small.shape[0])
        if size != self._input_size:
            self._net.setInputSize(size)
            self._input_size = size
        faces: np.ndarray | None = self._net.detect(small)[1]
        return faces, scale

    def detect(self, frame_bgr: np.ndarray, gray: np.ndarray | None = None) -> np.ndarray | None:
        """The largest YuNet face as a Haar-like box, or None (see `FaceDetector.detect`)."""
        return largest_mapped(self.detect_all(frame_bgr), self.mapping)

    def reset(self) -> None:
        """Stateless: nothing to forget."""

    def describe(self) -> dict[str, object]:
        """Name, detection settings, the box mapping and the model file's identity."""
        return {
            "name": self.name,
            "score_threshold": self.score_threshold,
            "nms_threshold": self.nms_threshold,
            "long_side_px": self.long_side_px,
            "mapping": asdict(self.mapping),
            "model_path": self.model_path,
            "model_sha256": self.model_sha256,
        }


def _boxes(faces: np.ndarray | None, scale: float) -> np.ndarray:
    """YuNet's rows (see `YunetDetector._faces`) as float32 (N, 5) x1, y1, x2, y2, score."""
    if faces is None:
        return np.zeros((0, 5), dtype=np.float32)
    found = np.empty((len(faces), 5), dtype=np.float32)
    found[:, :2] = faces[:, :2]
    found[:, 2:4] = faces[:, :2] + faces[:, 2:4]
    found[:, 4] = faces[:, 14]
    found[:, :4] /= scale
    return found
