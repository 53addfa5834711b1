"""Face detection: the largest face in a frame, as the Haar-like box the FER model was trained on.

    detector = make_detector("yunet", detect_every=5)     # or "mtcnn", "haar", or "none"
    box = detector.detect(frame_bgr)                       # float32 (x, y, w, h) or None

Every detector returns boxes in the convention of OpenCV's Haar cascade, because the crop rule
of the shipped FER model (`laetitia.fer.preprocess`) was made for Haar boxes: square, covering
brows to chin. MTCNN's and YuNet's boxes are taller than wide and sit lower; `MtcnnDetector` and
`YunetDetector` map them onto Haar's with constants fitted on real faces (see `MTCNN_TO_HAAR`,
`YUNET_TO_HAAR`).

Detection is the costly part of the pipeline. `FaceTracker` runs the detector on every k-th frame
only and follows the face in between with a cheap template match, re-detecting at once when the
match is lost, and on the next frame when that detection finds no face; while there is no face
it detects on every other frame (`ABSENT_EVERY`), and YuNet's tracker first looks with a scout: the
same detector on a smaller frame (`SCOUT_SIDE_PX`), the full detection running only when the
scout sees a face.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import cv2.data
import numpy as np

from laetitia.errors import CheckpointError, ConfigError

DETECTOR_NAMES: tuple[str, ...] = ("yunet", "mtcnn", "haar", "none")
"""Names `make_detector` knows; the first is the default. YuNet is: on the fixtures it finds a
face on exactly the frames MTCNN does, no false positive, and at its default setting it takes
1.7-2.7 times less CPU time per frame than MTCNN's and stays closer to detecting on every frame
(BENCHMARKS.md). Sessions keep the name of the detector they were recorded with, so a session
recorded with MTCNN replays with MTCNN."""

TRACKERS: tuple[str, ...] = ("template", "hold")
"""How `FaceTracker` follows a face between detections."""

DETECT_EVERY: dict[str, int] = {"mtcnn": 5, "yunet": 5, "haar": 10, "none": 1}
"""Per detector, frames from one detection to the next in the live pipeline's default setting
(the live and video viewers, `laetitia fer predict`; `FaceTracker` follows the face between).
Chosen on the measurements in BENCHMARKS.md: YuNet every 5 frames keeps the 10-frame mean
P(happy) within 0.01 of detecting on every frame (every 10 is hardly faster: the CNN and decoding
take most of the time then); MTCNN every 5 and Haar every 10 were chosen for speed when MTCNN
was the default. `make_detector` alone detects on every frame."""

ABSENT_EVERY = 2
"""Frames from one detection to the next while `FaceTracker` follows no face, in every default
setting. At 2 a face that appears is found on its first or second frame (a face lost for at
most one frame, as issue 18 allows), and frames without a face take half the detections: on the
fixtures with a title card, 6-30% less CPU time a frame than at 1, which detects on every such
frame (BENCHMARKS.md)."""

SCOUT_SIDE_PX: dict[str, int] = {"yunet": 160}
"""Per detector, the working size (longer side, px) of the scout `FaceTracker` looks with while
it follows no face, in every default setting; a detector not named here has none. A look by
YuNet at 160 px costs about 40% of a detection at its 320 (1.6-1.8 against 4.3-4.6 ms; shrinking
the frame is in both), and on the fixtures it sees a face on exactly the frames YuNet at 320
finds one. Its smallest face is twice the detector's: about 45 px (Haar box side) in a 640 x
480 frame and 90 px in 1280 x 720, against 30 and 55. A face between the two is still found on
each step's first frame, where the detector itself looks, and followed from there
(BENCHMARKS.md, "The scout")."""


@runtime_checkable
class FaceDetector(Protocol):
    """Finds the largest face in a frame."""

    name: str
    """Short name (one of `DETECTOR_NAMES`)."""

    whole_frame: bool
    """True when frames already are face crops (the box is the whole frame, nothing is found)."""

    def detect(self, frame_bgr: np.ndarray, gray: np.ndarray | None = None) -> np.ndarray | None:
        """The largest face as a Haar-like box.

        Args:
            frame_bgr: uint8 frame (H, W, 3), BGR as OpenCV decodes.
            gray: The same frame in grayscale, if the caller has it already (saves a
                conversion); computed when None.

        Returns:
            float32 (4,) box x, y, w, h in frame pixels, or None when there is no face.
        """

    def reset(self) -> None:
        """Forget what earlier frames showed; the next frame is unrelated to them."""

    def describe(self) -> dict[str, object]:
        """Name and options, plain data for a session's meta.json."""


def _gray(frame_bgr: np.ndarray, gray: np.ndarray | None) -> np.ndarray:
    return gray if gray is not None else cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)


def _largest(boxes_xywh: np.ndarray) -> np.ndarray:
    """The box of largest area among (N, 4) x, y, w, h boxes, as float32 (4,)."""
    areas = boxes_xywh[:, 2] * boxes_xywh[:, 3]
    return np.asarray(boxes_xywh[int(np.argmax(areas))], dtype=np.float32)


class HaarDetector:
    """OpenCV's frontal-face Haar cascade, with the settings of the `fer` package.

    The cascade file ships in opencv-python-headless (< 5). These boxes are the ones the FER
    model's crop rule was written for, so no mapping is needed.

    Args:
        scale_factor: Step between the cascade's scales.
        min_neighbors: Overlapping hits a face needs to count.
        min_size_px: Smallest face side searched, in frame pixels.

    Raises:
        ConfigError: If OpenCV's cascade file is missing.
    """

    name = "haar"
    whole_frame = False
    CASCADE = "haarcascade_frontalface_default.xml"

    def __init__(
        self, scale_factor: float = 1.1, min_neighbors: int = 5, min_size_px: int = 50
    ) -> None:
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self.min_size_px = int(min_size_px)
        path = Path(cv2.data.haarcascades) / self.CASCADE
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise ConfigError(
                f"OpenCV's Haar cascade {path} is missing or unreadable; reinstall "
                "opencv-python-headless<5 (OpenCV 5 ships no cascades), or use the mtcnn detector."
            )

    def detect(self, frame_bgr: np.ndarray, gray: np.ndarray | None = None) -> np.ndarray | None:
        """The largest face the cascade finds, or None (see `FaceDetector.detect`)."""
        found = self._cascade.detectMultiScale(
            _gray(frame_bgr, gray),
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            flags=cv2.CASCADE_SCALE_IMAGE,
            minSize=(self.min_size_px, self.min_size_px),
        )
        return _largest(np.asarray(found)) if len(found) else None

    def reset(self) -> None:
        """Stateless: nothing to forget."""

    def describe(self) -> dict[str, object]:
        """Name and cascade settings."""
        return {
            "name": self.name,
            "scale_factor": self.scale_factor,
            "min_neighbors": self.min_neighbors,
            "min_size_px": self.min_size_px,
        }


@dataclass(frozen=True)
class BoxMapping:
    """How an MTCNN (or YuNet) box (x1, y1, x2, y2) becomes the Haar box the FER crop rule expects.

    With the box's centre (cx, cy), width w and height h, the Haar-like box is the square of side
    `side_w * w + side_h * h`, centred at (cx + dx * w, cy + dy * h).
    """

    side_w: float
    """Weight of the MTCNN width in the Haar side."""
    side_h: float
    """Weight of the MTCNN height in the Haar side."""
    dx: float
    """Horizontal centre shift, in MTCNN widths (positive: right)."""
    dy: float
    """Vertical centre shift, in MTCNN heights (positive: down)."""

    def apply(self, box_xyxy: np.ndarray) -> np.ndarray:
        """Map one detector box (x1, y1, x2, y2) to a float32 Haar-like box (x, y, w, h)."""
        x1, y1, x2, y2 = (float(v) for v in box_xyxy[:4])
        w, h = x2 - x1, y2 - y1
        side = self.side_w * w + self.side_h * h
        cx = (x1 + x2) / 2 + self.dx * w
        cy = (y1 + y2) / 2 + self.dy * h
        return np.array([cx - side / 2, cy - side / 2, side, side], dtype=np.float32)


IDENTITY_MAPPING = BoxMapping(side_w=0.0, side_h=1.0, dx=0.0, dy=0.0)
"""No mapping: the detector's box (MTCNN's, YuNet's) squared on its longer side (its height)
about its own centre, as the `fer` package's crop squares it."""

# Measured by scripts/fit_mtcnn_to_haar.py: the Haar cascade and MTCNN (this module's default
# settings) on every frame of the fixtures single_face.mp4 (640x360), noface_face.mov and
# face_noface.mov (960x540) and single_face.jpg where both found exactly one face: 217 frames,
# faces 150-320 px. MTCNN boxes are 1.40 times taller than wide. Medians of the per-frame ratios:
# Haar side / MTCNN height 0.925 (quartiles 0.904-0.943; the same within 0.005 on each video),
# centre shift +0.010 widths right and -0.032 heights up. On full-size frames
# (work_side_px=0, min_face_size=20) MTCNN's boxes come out 1 % taller: 0.907, +0.019, -0.021.
# The height alone is fitted because width and height move together (a 2-D least squares on
# both is ill-conditioned).
MTCNN_TO_HAAR = BoxMapping(side_w=0.0, side_h=0.925, dx=0.010, dy=-0.032)
"""The fitted MTCNN -> Haar box mapping (see `BoxMapping`)."""


def _largest_mapped(found: np.ndarray, mapping: BoxMapping) -> np.ndarray | None:
    """The largest of a detector's faces as a Haar-like box by `mapping`, or None.

    `found` is float (N, 5) x1, y1, x2, y2, score, as `detect_all` gives it; N may be 0.
    """
    if not len(found):
        return None
    areas = (found[:, 2] - found[:, 0]) * (found[:, 3] - found[:, 1])
    return mapping.apply(found[int(np.argmax(areas))])


class MtcnnDetector:
    """facenet-pytorch's MTCNN on the CPU, its boxes mapped to Haar's convention.

    Frames are shrunk (area interpolation) so their shorter side is at most `work_side_px`
    before detection: MTCNN's cost grows with the pixels it scans, and a face large enough to
    read an expression stays well above MTCNN's 12-pixel window. `min_face_size` is in those
    working pixels, so what counts as a face is the same fraction of the frame at any camera
    resolution. The weights ship in facenet-pytorch's wheel and load with
    `torch.load(weights_only=True)`.

    Args:
        min_face_size: Smallest face side searched, in working-frame pixels.
        work_side_px: Shorter side of the frame MTCNN sees; 0 to use frames at full size.
        thresholds: Face-probability thresholds of MTCNN's three stages. facenet-pytorch's
            last one, 0.7, let title-card text through as faces in the fixture no_face.mp4
            (probabilities 0.71-0.85 at these settings), while every real face in the
            fixtures scored at least 0.9995: the last stage asks for 0.9.
        factor: Scale step of MTCNN's image pyramid (facenet-pytorch's).
        mapping: MTCNN -> Haar box mapping; `IDENTITY_MAPPING` keeps MTCNN's own box
            (squared by the crop rule, as the `fer` package does).
    """

    name = "mtcnn"
    whole_frame = False

    def __init__(
        self,
        min_face_size: int = 24,
        work_side_px: int = 180,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.9),
        factor: float = 0.709,
        mapping: BoxMapping = MTCNN_TO_HAAR,
    ) -> None:
        import torch
        from facenet_pytorch.models import mtcnn as mtcnn_models

        self.min_face_size = int(min_face_size)
        self.work_side_px = int(work_side_px)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.factor = float(factor)
        self.mapping = mapping
        data = Path(mtcnn_models.__file__).resolve().parent.parent / "data"
        self._nets = []
        for cls, file in (
            (mtcnn_models.PNet, "pnet.pt"),
            (mtcnn_models.RNet, "rnet.pt"),
            (mtcnn_models.ONet, "onet.pt"),
        ):
            net = cls(pretrained=False)
            net.load_state_dict(torch.load(data / file, map_location="cpu", weights_only=True))
            self._nets.append(net.eval())
        self._torch = torch

    def detect_all(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Every face MTCNN finds, unmapped: float32 (N, 5) x1, y1, x2, y2, probability.

        Coordinates are in the pixels of `frame_bgr`, N is 0 when there is no face.
        """
        from facenet_pytorch.models.utils.detect_face import detect_face

        height, width = frame_bgr.shape[:2]
        scale = 1.0
        if self.work_side_px and min(height, width) > self.work_side_px:
            scale = self.work_side_px / min(height, width)
            small = cv2.resize(
                frame_bgr,
                (round(width * scale), round(height * scale)),
                interpolation=cv2.INTER_AREA,
            )
        else:
            small = frame_bgr
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)  # MTCNN was trained on RGB
        with self._torch.inference_mode():
            boxes, _ = detect_face(
                rgb, self.min_face_size, *self._nets, self.thresholds, self.factor, "cpu"
            )
        found = np.asarray(boxes[0], dtype=np.float32).reshape(-1, 5)
        found[:, :4] /= scale
        return found

    def detect(self, frame_bgr: np.ndarray, gray: np.ndarray | None = None) -> np.ndarray | None:
        """The largest MTCNN face as a Haar-like box, or None (see `FaceDetector.detect`)."""
        return _largest_mapped(self.detect_all(frame_bgr), self.mapping)

    def reset(self) -> None:
        """Stateless: nothing to forget."""

    def describe(self) -> dict[str, object]:
        """Name, detection settings and the box mapping."""
        return {
            "name": self.name,
            "min_face_size": self.min_face_size,
            "work_side_px": self.work_side_px,
            "thresholds": list(self.thresholds),
            "factor": self.factor,
            "mapping": asdict(self.mapping),
        }


YUNET_MODEL = "face_detection_yunet_2023mar.onnx"
"""File name of the shipped YuNet model in `laetitia/weights/` (see its README.md)."""

YUNET_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
"""sha256 of the shipped YuNet model: the one OpenCV's model zoo publishes for the file."""

# Measured by `scripts/fit_mtcnn_to_haar.py --detector yunet`, as MTCNN_TO_HAAR was: the Haar
# cascade and YuNet (this module's default settings) on every frame of the fixtures
# single_face.mp4, noface_face.mov, face_noface.mov and single_face.jpg where both found one
# face: 217 frames (YuNet found a face on exactly the frames MTCNN did). YuNet boxes are 1.46
# times taller than wide. Medians of the per-frame ratios: Haar side / YuNet height 0.869
# (quartiles 0.852-0.879; 0.861, 0.871, 0.873 on the three videos), centre shift -0.004 widths
# (left) and -0.048 heights (up).
YUNET_TO_HAAR = BoxMapping(side_w=0.0, side_h=0.869, dx=-0.004, dy=-0.048)
"""The fitted YuNet -> Haar box mapping (see `BoxMapping`; YuNet's box as x1, y1, x2, y2)."""


def yunet_model_path() -> Path:
    """Path of the shipped YuNet model file."""
    resource = importlib.resources.files("laetitia") / "weights" / YUNET_MODEL
    # The package is installed as files (not zipped), so the resource is a real path.
    return Path(str(resource))


def file_sha256(path: Path) -> str:
    """sha256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class YunetDetector:
    """OpenCV's YuNet face detector (`cv2.FaceDetectorYN`), its boxes mapped to Haar's convention.

    Frames are shrunk (area interpolation) so their longer side is at most `work_side_px`
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
        work_side_px: Longer side of the frame YuNet sees; 0 to use frames at full size.
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
        work_side_px: int = 320,
        mapping: BoxMapping = YUNET_TO_HAAR,
        model_path: str | None = None,
        model_sha256: str | None = YUNET_SHA256,
    ) -> None:
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.work_side_px = int(work_side_px)
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
        height, width = frame_bgr.shape[:2]
        scale = 1.0
        if self.work_side_px and max(height, width) > self.work_side_px:
            scale = self.work_side_px / max(height, width)
            small = cv2.resize(
                frame_bgr,
                (round(width * scale), round(height * scale)),
                interpolation=cv2.INTER_AREA,
            )
        else:
            small = frame_bgr
        if small.ndim == 2:
            small = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
        size = (small.shape[1], small.shape[0])
        if size != self._input_size:
            self._net.setInputSize(size)
            self._input_size = size
        # (N, 15) boxes, landmarks and scores; None when there is no face.
        faces: np.ndarray | None = self._net.detect(small)[1]
        if faces is None:
            return np.zeros((0, 5), dtype=np.float32)
        found = np.empty((len(faces), 5), dtype=np.float32)
        found[:, :2] = faces[:, :2]
        found[:, 2:4] = faces[:, :2] + faces[:, 2:4]
        found[:, 4] = faces[:, 14]
        found[:, :4] /= scale
        return found

    def detect(self, frame_bgr: np.ndarray, gray: np.ndarray | None = None) -> np.ndarray | None:
        """The largest YuNet face as a Haar-like box, or None (see `FaceDetector.detect`)."""
        return _largest_mapped(self.detect_all(frame_bgr), self.mapping)

    def reset(self) -> None:
        """Stateless: nothing to forget."""

    def describe(self) -> dict[str, object]:
        """Name, detection settings, the box mapping and the model file's identity."""
        return {
            "name": self.name,
            "score_threshold": self.score_threshold,
            "nms_threshold": self.nms_threshold,
            "work_side_px": self.work_side_px,
            "mapping": asdict(self.mapping),
            "model_path": self.model_path,
            "model_sha256": self.model_sha256,
        }


class WholeFrame:
    """No detection: every frame already is a face crop (FER2013 style), its box the frame."""

    name = "none"
    whole_frame = True

    def detect(self, frame_bgr: np.ndarray, gray: np.ndarray | None = None) -> np.ndarray:
        """The whole frame as the face box (0, 0, W, H)."""
        height, width = frame_bgr.shape[:2]
        return np.array([0, 0, width, height], dtype=np.float32)

    def reset(self) -> None:
        """Stateless: nothing to forget."""

    def describe(self) -> dict[str, object]:
        """Just the name."""
        return {"name": self.name}


class FaceTracker:
    """Run a detector on every k-th frame only, and follow the face in between.

    Between detections the face is followed either by a normalised template match of the last
    detected face in a window around its box (`tracker="template"`: the box moves with the face,
    and a match score below `min_score` means the face is lost, so the detector runs at once), or
    by keeping the last box (`tracker="hold"`). The box keeps its size between detections.
    When a detection loses the face the tracker was following (the detector misses it, or the
    match lost it and the detection finds none), the detector runs again on the next frame, so
    a face the detector misses once is lost for that one frame. While there is no face to
    follow, the detector runs on every `absent_every`-th frame, so a face that appears is found
    within `absent_every` frames (on its first or second frame at the default 2).
    After `reset` the first frame always is a detection.

    While there is no face (the last detection found none), a `scout` can look first: a cheaper
    detector, the same one on a smaller frame. Only when the scout sees a face does the detector
    run, on the same frame, and its box is the one returned; when the scout sees none, that
    counts as the detection that found no face. The first detection after `reset` is always the
    detector's own, so a step that starts with a face pays nothing for the scout.

    Args:
        detector: The detector to run.
        detect_every: k: frames from one detection to the next (1: detect on every frame).
        tracker: "template" or "hold".
        min_score: Lowest normalised correlation that still counts as the same face.
        redetect_after_miss: Detect again soon after a detection that found no face: on the
            next frame when a face was lost, every `absent_every` frames while there is none.
            False is how sessions recorded before it existed were tracked: no face until the
            next scheduled detection, k frames later (a single miss cost k frames); replaying
            them rebuilds it so, and `absent_every` then has no effect.
        absent_every: Frames from one detection to the next while no face is followed (1:
            every frame, how sessions recorded before this setting existed were tracked).
        scout: The detector that looks first while there is no face; None for none (how
            sessions recorded before it existed were tracked).
    """

    TEMPLATE_PX = 32
    """Side of the face template the match works on (faces are shrunk to it)."""
    SEARCH = 0.5
    """Search window margin around the last box, in box sides."""

    def __init__(
        self,
        detector: FaceDetector,
        detect_every: int = 5,
        tracker: str = "template",
        min_score: float = 0.6,
        redetect_after_miss: bool = True,
        absent_every: int = ABSENT_EVERY,
        scout: FaceDetector | None = None,
    ) -> None:
        if detect_every < 1:
            raise ConfigError(f"detect_every must be at least 1, got {detect_every}.")
        if absent_every < 1:
            raise ConfigError(f"absent_every must be at least 1, got {absent_every}.")
        if tracker not in TRACKERS:
            raise ConfigError(f"unknown tracker {tracker!r}; use one of {list(TRACKERS)}.")
        self.detector = detector
        self.detect_every = int(detect_every)
        self.tracker = tracker
        self.min_score = float(min_score)
        self.redetect_after_miss = bool(redetect_after_miss)
        self.absent_every = int(absent_every)
        self.scout = scout
        self.name = detector.name
        self.whole_frame = detector.whole_frame
        self.reset()

    def reset(self) -> None:
        """Forget the tracked face: the next frame runs the detector."""
        self.detector.reset()
        if self.scout is not None:
            self.scout.reset()
        self._since = 1  # frames since the last detection
        self._wait = 1  # frames from the last detection to the next
        self._box: np.ndarray | None = None
        self._template: np.ndarray | None = None
        self._scale = 1.0  # template pixels per frame pixel
        self._offset = (0.0, 0.0)  # template's top-left corner relative to the box's
        self._absent = False  # the last detection found no face: the scout looks first
        self.detections = 0
        """Detector runs since the last reset (for benchmarks); the scout's are not counted."""

    def detect(self, frame_bgr: np.ndarray, gray: np.ndarray | None = None) -> np.ndarray | None:
        """The face box in this frame, detected or tracked (see `FaceDetector.detect`)."""
        if self._since < self._wait:
            self._since += 1
            if self._box is None:
                return None
            if self.tracker == "hold":
                return self._box
            tracked = self._follow(_gray(frame_bgr, gray))
            if tracked is not None:
                self._box = tracked
                return tracked
        gray = _gray(frame_bgr, gray) if self.tracker == "template" else gray
        followed = self._box is not None
        self._since = 1
        if self._absent and self.scout is not None and self.scout.detect(frame_bgr, gray) is None:
            self._wait = self._wait_after_miss(followed)
            return None
        self._box = self.detector.detect(frame_bgr, gray)
        self.detections += 1
        self._absent = self._box is None
        if self._box is None:
            self._wait = self._wait_after_miss(followed)
            return None
        self._wait = self.detect_every
        if self.tracker == "template":
            self._remember(_gray(frame_bgr, gray), self._box)  # gray is already set here
        return self._box

    def _wait_after_miss(self, followed: bool) -> int:
        """Frames to the next detection after one that found no face."""
        if not self.redetect_after_miss:
            return self.detect_every
        # A face just lost is looked for on the next frame, so a single miss costs one frame;
        # where there was none, a face that appears is found within `absent_every` frames.
        return 1 if followed else self.absent_every

    def _remember(self, gray: np.ndarray, box: np.ndarray) -> None:
        """Keep the detected face (its part inside the frame), shrunk, as the template."""
        self._template = None
        self._scale = self.TEMPLATE_PX / max(float(box[2]), 1.0)
        inside = _clip_window(gray.shape, box[0], box[1], box[0] + box[2], box[1] + box[3])
        if inside is None:
            return
        x1, y1, x2, y2 = inside
        self._template = _shrink(gray[y1:y2, x1:x2], self._scale)
        self._offset = (x1 - float(box[0]), y1 - float(box[1]))

    def _follow(self, gray: np.ndarray) -> np.ndarray | None:
        """The last box moved to where the template matches best, or None if the face is lost."""
        box, template = self._box, self._template
        if box is None or template is None:
            return None
        # The template's frame position if nothing had moved, grown by the search margin.
        tx, ty = float(box[0]) + self._offset[0], float(box[1]) + self._offset[1]
        tw, th = template.shape[1] / self._scale, template.shape[0] / self._scale
        margin = self.SEARCH * float(box[2])
        window = _clip_window(
            gray.shape, tx - margin, ty - margin, tx + tw + margin, ty + th + margin
        )
        if window is None:
            return None
        x1, y1, x2, y2 = window
        search = _shrink(gray[y1:y2, x1:x2], self._scale)
        if search.shape[0] < template.shape[0] or search.shape[1] < template.shape[1]:
            return None
        scores = cv2.matchTemplate(search, template, cv2.TM_CCOEFF_NORMED)
        _, best, _, (bx, by) = cv2.minMaxLoc(scores)
        if best < self.min_score:
            return None
        moved = box.copy()
        moved[0] = x1 + bx * (x2 - x1) / search.shape[1] - self._offset[0]
        moved[1] = y1 + by * (y2 - y1) / search.shape[0] - self._offset[1]
        return moved

    def describe(self) -> dict[str, object]:
        """The detector's description plus the tracking settings."""
        return {
            **self.detector.describe(),
            "detect_every": self.detect_every,
            "tracker": self.tracker,
            "min_score": self.min_score,
            "redetect_after_miss": self.redetect_after_miss,
            "absent_every": self.absent_every,
            "scout": None if self.scout is None else self.scout.describe(),
        }


def _clip_window(
    shape: tuple[int, ...], x1: float, y1: float, x2: float, y2: float
) -> tuple[int, int, int, int] | None:
    """The window rounded to pixels and clipped to a frame of `shape`; None if under 2 px."""
    height, width = shape[:2]
    cx1, cy1 = max(0, round(x1)), max(0, round(y1))
    cx2, cy2 = min(width, round(x2)), min(height, round(y2))
    if cx2 - cx1 < 2 or cy2 - cy1 < 2:
        return None
    return cx1, cy1, cx2, cy2


def _shrink(image: np.ndarray, scale: float) -> np.ndarray:
    """`image` resized by `scale` (area interpolation), at least 1 x 1."""
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def check_detector_name(name: str) -> None:
    """Refuse a detector name `make_detector` does not know, before anything loads.

    Raises:
        ConfigError: If `name` is not one of `DETECTOR_NAMES`.
    """
    if name not in DETECTOR_NAMES:
        raise ConfigError(f"unknown face detector {name!r}; use one of {list(DETECTOR_NAMES)}.")


TRACKING_OPTIONS = (
    "detect_every",
    "tracker",
    "min_score",
    "redetect_after_miss",
    "absent_every",
    "scout",
)
"""The keys of `FaceTracker.describe()` that are the tracker's, not the detector's."""


def spelled_out(description: Mapping[str, Any]) -> dict[str, Any]:
    """A detector's description with the tracking options it ran with spelled out.

    Descriptions recorded before `FaceTracker`'s `redetect_after_miss` existed do not name it,
    and those trackers ran without it. Those recorded before `absent_every` existed do not name
    it, and those trackers detected on every frame while there was no face (or, without
    `redetect_after_miss`, on their k-th frames, which `absent_every` does not change): 1.
    Those recorded before the `scout` existed do not name it, and those trackers had none.
    """
    out = dict(description)
    if out.get("detect_every", 1) > 1:
        out.setdefault("redetect_after_miss", False)
        out.setdefault("absent_every", 1)
        out.setdefault("scout", None)
    return out


def detector_from_description(description: Mapping[str, Any]) -> FaceDetector:
    """Rebuild a face detector, with its settings and tracking, from its `describe()` output.

    Raises:
        ConfigError: For an unknown detector or option.
    """
    description = spelled_out(description)
    name = str(description.get("name"))
    check_detector_name(name)
    options = {k: v for k, v in description.items() if k != "name" and k not in TRACKING_OPTIONS}
    if isinstance(options.get("mapping"), Mapping):
        options["mapping"] = BoxMapping(**options["mapping"])
    if isinstance(options.get("thresholds"), list):
        options["thresholds"] = tuple(options["thresholds"])
    tracking = {k: v for k, v in description.items() if k in TRACKING_OPTIONS}
    detector = make_detector(name, **options)
    if tracking.get("detect_every", 1) == 1 or name == "none":
        return detector
    if isinstance(tracking.get("scout"), Mapping):
        tracking["scout"] = detector_from_description(tracking["scout"])
    try:
        return FaceTracker(detector, **tracking)
    except TypeError as err:
        raise ConfigError(f"face tracker: {err}.") from err


def make_detector(
    name: str = DETECTOR_NAMES[0],
    detect_every: int = 1,
    tracker: str = TRACKERS[0],
    absent_every: int = ABSENT_EVERY,
    scout_side_px: int | None = None,
    **options: object,
) -> FaceDetector:
    """Build a detector by name.

    Args:
        name: "yunet" (default), "mtcnn", "haar", or "none" (frames already are face crops).
        detect_every: Run the detector on every k-th frame and track the face in between
            (1: detect on every frame). Ignored for "none".
        tracker: How to follow the face between detections ("template" or "hold").
        absent_every: Frames from one detection to the next while no face is followed (see
            `FaceTracker`). Ignored when `detect_every` is 1.
        scout_side_px: Working size of the tracker's scout, the same detector with the same
            options on a frame this small (see `FaceTracker`); 0 for no scout, None for the
            detector's `SCOUT_SIDE_PX` (none if it has no entry). Ignored when `detect_every`
            is 1.
        **options: Passed to the detector class (`YunetDetector`, `MtcnnDetector`,
            `HaarDetector`).

    Raises:
        ConfigError: For an unknown name or option, or a scout for a detector without a
            working size (Haar) or one not smaller than the detector's.
    """
    check_detector_name(name)
    classes: dict[str, type] = {
        "mtcnn": MtcnnDetector,
        "yunet": YunetDetector,
        "haar": HaarDetector,
        "none": WholeFrame,
    }
    try:
        detector = classes[name](**options)
    except TypeError as err:
        raise ConfigError(f"face detector {name!r}: {err}.") from err
    if detect_every == 1 or name == "none":
        return detector
    side = SCOUT_SIDE_PX.get(name, 0) if scout_side_px is None else int(scout_side_px)
    if side < 0:
        raise ConfigError(f"scout_side_px must be 0 (no scout) or a size in px, got {side}.")
    scout = None
    if side:
        full = getattr(detector, "work_side_px", None)
        if full is None:
            raise ConfigError(
                f"a scout needs a detector that works on a shrunk frame (yunet, mtcnn); "
                f"{name} has no working size. Use scout_side_px=0."
            )
        if full and side >= full:
            raise ConfigError(
                f"the scout's working size ({side} px) must be smaller than the detector's "
                f"({full} px), or it costs more than the detection it saves."
            )
        scout = classes[name](**{**options, "work_side_px": side})
    return FaceTracker(
        detector,
        detect_every=detect_every,
        tracker=tracker,
        absent_every=absent_every,
        scout=scout,
    )
