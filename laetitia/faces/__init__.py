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

The modules, one concept each:

| module | what it holds |
|---|---|
| `protocol` | `FaceDetector`, what every detector and the tracker answer |
| `haar`, `mtcnn`, `yunet`, `whole_frame` | the detectors |
| `mapping` | `BoxMapping` and the fitted `MTCNN_TO_HAAR`, `YUNET_TO_HAAR` |
| `shrink` | the one rule by which a frame is shrunk before a detector or the tracker looks |
| `tracker` | `FaceTracker`: detection every k-th frame, template matching between, the scout |
| `build` | `make_detector`, the names and default settings (`DETECT_EVERY`, `SCOUT_SIDE_PX`) |
| `descriptions` | recorded descriptions read back (`spelled_out`, `detector_from_description`) |
"""

from laetitia.faces.build import (
    DETECT_EVERY,
    DETECTOR_NAMES,
    SCOUT_SIDE_PX,
    WORKING_SIZE,
    check_detector_name,
    make_detector,
)
from laetitia.faces.descriptions import detector_from_description, spelled_out
from laetitia.faces.haar import HaarDetector
from laetitia.faces.mapping import IDENTITY_MAPPING, MTCNN_TO_HAAR, YUNET_TO_HAAR, BoxMapping
from laetitia.faces.mtcnn import MtcnnDetector
from laetitia.faces.protocol import FaceDetector
from laetitia.faces.tracker import ABSENT_EVERY, TRACKERS, TRACKING_OPTIONS, FaceTracker
from laetitia.faces.whole_frame import WholeFrame
from laetitia.faces.yunet import (
    YUNET_KEYPOINTS,
    YUNET_MODEL,
    YUNET_SHA256,
    YunetDetector,
    yunet_model_path,
)

__all__ = [
    "ABSENT_EVERY",
    "DETECTOR_NAMES",
    "DETECT_EVERY",
    "IDENTITY_MAPPING",
    "MTCNN_TO_HAAR",
    "SCOUT_SIDE_PX",
    "TRACKERS",
    "TRACKING_OPTIONS",
    "WORKING_SIZE",
    "YUNET_KEYPOINTS",
    "YUNET_MODEL",
    "YUNET_SHA256",
    "YUNET_TO_HAAR",
    "BoxMapping",
    "FaceDetector",
    "FaceTracker",
    "HaarDetector",
    "MtcnnDetector",
    "WholeFrame",
    "YunetDetector",
    "check_detector_name",
    "detector_from_description",
    "make_detector",
    "spelled_out",
    "yunet_model_path",
]
