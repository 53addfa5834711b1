"""MediaPipe's face landmarker, run on LiteRT with YuNet finding the face: what the smile reads.

    landmarker = FaceLandmarker()
    reading = landmarker.read(frame_bgr, follow=True)       # None: no face
    smile = (reading.blendshape("mouthSmileLeft") + reading.blendshape("mouthSmileRight")) / 2

The blendshapes `mouthSmileLeft` and `mouthSmileRight` measure the pull of the lip corners
(action unit 12), graded from a faint smile to a grin; the `smile` signal (`laetitia.signals`)
is their mean. What MediaPipe's graph does around its networks is rebuilt here in numpy and
OpenCV (research R1 measured it against MediaPipe's own `FaceLandmarker`; BENCHMARKS.md).

| module | what it holds |
|---|---|
| `bundle` | the shipped `face_landmarker.task`, checked by sha256; its two networks on LiteRT |
| `geometry` | regions of a frame: from YuNet's face, from landmarks; the crop and the way back |
| `smoothing` | the one-euro filter that smooths a video's landmarks |
| `landmarker` | `FaceLandmarker`: finding, reading and following a face |
"""

from laetitia.landmarks.bundle import (
    BLENDSHAPE_LANDMARKS,
    BLENDSHAPE_NAMES,
    LANDMARKER_MODEL,
    LANDMARKER_SHA256,
    LandmarkNetworks,
    landmarker_model_path,
    read_bundle,
)
from laetitia.landmarks.geometry import YUNET_ROI, Roi, YunetRoiRule
from laetitia.landmarks.landmarker import MIN_PRESENCE, FaceLandmarker, Reading
from laetitia.landmarks.smoothing import FRAME_RATE_HZ, OneEuroFilter, OneEuroSettings

__all__ = [
    "BLENDSHAPE_LANDMARKS",
    "BLENDSHAPE_NAMES",
    "FRAME_RATE_HZ",
    "LANDMARKER_MODEL",
    "LANDMARKER_SHA256",
    "MIN_PRESENCE",
    "YUNET_ROI",
    "FaceLandmarker",
    "LandmarkNetworks",
    "OneEuroFilter",
    "OneEuroSettings",
    "Reading",
    "Roi",
    "YunetRoiRule",
    "landmarker_model_path",
    "read_bundle",
]
