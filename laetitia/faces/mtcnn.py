"""facenet-pytorch's MTCNN, on a frame shrunk to a working size, its boxes mapped to Haar's."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np

from laetitia.faces.mapping import MTCNN_TO_HAAR, BoxMapping, largest_mapped
from laetitia.faces.shrink import shrunk_to_side


class MtcnnDetector:
    """facenet-pytorch's MTCNN on the CPU, its boxes mapped to Haar's convention.

    Frames are shrunk (`laetitia.faces.shrink`) so their shorter side is at most `short_side_px`
    before detection: MTCNN's cost grows with the pixels it scans, and a face large enough to
    read an expression stays well above MTCNN's 12-pixel window. `min_face_size` is in those
    working pixels, so what counts as a face is the same fraction of the frame at any camera
    resolution. The weights ship in facenet-pytorch's wheel and load with
    `torch.load(weights_only=True)`.

    Args:
        min_face_size: Smallest face side searched, in working-frame pixels.
        short_side_px: Shorter side of the frame MTCNN sees; 0 to use frames at full size.
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
        short_side_px: int = 180,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.9),
        factor: float = 0.709,
        mapping: BoxMapping = MTCNN_TO_HAAR,
    ) -> None:
        import torch
        from facenet_pytorch.models import mtcnn as mtcnn_models

        self.min_face_size = int(min_face_size)
        self.short_side_px = int(short_side_px)
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

        small, scale = shrunk_to_side(frame_bgr, self.short_side_px, "shorter")
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
        return largest_mapped(self.detect_all(frame_bgr), self.mapping)

    def reset(self) -> None:
        """Stateless: nothing to forget."""

    def describe(self) -> dict[str, object]:
        """Name, detection settings and the box mapping."""
        return {
            "name": self.name,
            "min_face_size": self.min_face_size,
            "short_side_px": self.short_side_px,
            "thresholds": list(self.thresholds),
            "factor": self.factor,
            "mapping": asdict(self.mapping),
        }
