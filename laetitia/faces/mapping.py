"""Box mapping: how MTCNN's and YuNet's boxes become the Haar boxes the FER crop rule expects.

The crop rule of the shipped FER model (`laetitia.fer.preprocess`) was made for OpenCV's Haar
cascade boxes: square, covering brows to chin. MTCNN's and YuNet's boxes are taller than wide
and sit lower; the constants here, fitted on real faces by `scripts/fit_mtcnn_to_haar.py`, map
them onto Haar's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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

# Measured by scripts/fit_mtcnn_to_haar.py: the Haar cascade and MTCNN (its default settings) on
# every frame of the fixtures single_face.mp4 (640x360), noface_face.mov and face_noface.mov
# (960x540) and single_face.jpg where both found exactly one face: 217 frames, faces 150-320 px.
# MTCNN boxes are 1.40 times taller than wide. Medians of the per-frame ratios: Haar side /
# MTCNN height 0.925 (quartiles 0.904-0.943; the same within 0.005 on each video), centre shift
# +0.010 widths right and -0.032 heights up. On full-size frames (short_side_px=0,
# min_face_size=20) MTCNN's boxes come out 1 % taller: 0.907, +0.019, -0.021. The height alone is
# fitted because width and height move together (a 2-D least squares on both is ill-conditioned).
MTCNN_TO_HAAR = BoxMapping(side_w=0.0, side_h=0.925, dx=0.010, dy=-0.032)
"""The fitted MTCNN -> Haar box mapping (see `BoxMapping`)."""

# Measured by `scripts/fit_mtcnn_to_haar.py --detector yunet`, as MTCNN_TO_HAAR was: the Haar
# cascade and YuNet (its default settings) on every frame of the fixtures single_face.mp4,
# noface_face.mov, face_noface.mov and single_face.jpg where both found one face: 217 frames
# (YuNet found a face on exactly the frames MTCNN did). YuNet boxes are 1.46 times taller than
# wide. Medians of the per-frame ratios: Haar side / YuNet height 0.869 (quartiles 0.852-0.879;
# 0.861, 0.871, 0.873 on the three videos), centre shift -0.004 widths (left) and -0.048
# heights (up).
YUNET_TO_HAAR = BoxMapping(side_w=0.0, side_h=0.869, dx=-0.004, dy=-0.048)
"""The fitted YuNet -> Haar box mapping (see `BoxMapping`; YuNet's box as x1, y1, x2, y2)."""


def largest_mapped(found: np.ndarray, mapping: BoxMapping) -> np.ndarray | None:
    """The largest of a detector's faces as a Haar-like box by `mapping`, or None.

    `found` is float (N, 5) x1, y1, x2, y2, score, as the detectors' `detect_all` gives it; N
    may be 0.
    """
    if not len(found):
        return None
    areas = (found[:, 2] - found[:, 0]) * (found[:, 3] - found[:, 1])
    return mapping.apply(found[int(np.argmax(areas))])
