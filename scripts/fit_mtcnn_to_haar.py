"""Fit the MTCNN or YuNet -> Haar box mapping of laetitia.faces on the fixtures, and check it.

Runs the Haar cascade and MTCNN (or YuNet; laetitia's settings) on every frame of the fixture
media, keeps frames where both find one face, fits `BoxMapping` (Haar side = a*w + b*h of the
detector's box, centre shift in its widths/heights) from medians of per-frame ratios, and
compares P(happy) of the FER model on the Haar box with P(happy) on the detector's box, unmapped
(squared by the crop rule, as the `fer` package does) and mapped.

    .venv/bin/python scripts/fit_mtcnn_to_haar.py [--detector yunet] [--fixtures ../shared/fixtures]
        [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from laetitia.cameras import open_camera
from laetitia.faces import IDENTITY_MAPPING, BoxMapping, HaarDetector, MtcnnDetector, YunetDetector
from laetitia.fer import crop_face, load_model, to_gray
from laetitia.labels import INDEX

MEDIA = ("single_face.mp4", "noface_face.mov", "face_noface.mov", "single_face.jpg")


def collect(
    fixtures: Path, mtcnn: MtcnnDetector | YunetDetector, haar: HaarDetector
) -> dict[str, np.ndarray]:
    rows: dict[str, list] = {"haar": [], "mtcnn": [], "gray_id": [], "media": []}
    grays = []
    for media_id, name in enumerate(MEDIA):
        with open_camera(fixtures / name) as camera:
            for frame in camera:
                gray = to_gray(frame)
                h_box = haar.detect(frame, gray)
                found = mtcnn.detect_all(frame)
                if h_box is None or len(found) != 1:
                    continue
                rows["haar"].append(h_box)
                rows["mtcnn"].append(found[0, :4])
                rows["gray_id"].append(len(grays))
                rows["media"].append(media_id)
                grays.append(gray)
    out = {key: np.asarray(value) for key, value in rows.items()}
    out["grays"] = grays
    return out


def fit(haar: np.ndarray, mt: np.ndarray) -> BoxMapping:
    """Medians of the per-frame ratios (robust to Haar's scale jumps of 10 %).

    MTCNN's (and YuNet's) width and height are nearly proportional (h/w about 1.4), so a
    least-squares fit on both is ill-conditioned; the Haar side is fitted on the height alone.
    """
    w, h = mt[:, 2] - mt[:, 0], mt[:, 3] - mt[:, 1]
    cx, cy = (mt[:, 0] + mt[:, 2]) / 2, (mt[:, 1] + mt[:, 3]) / 2
    side = haar[:, 2]  # Haar boxes are square
    hcx, hcy = haar[:, 0] + side / 2, haar[:, 1] + side / 2
    return BoxMapping(
        side_w=0.0,
        side_h=round(float(np.median(side / h)), 3),
        dx=round(float(np.median((hcx - cx) / w)), 3),
        dy=round(float(np.median((hcy - cy) / h)), 3),
    )


def happy(model, grays, boxes) -> np.ndarray:
    crops = np.stack([crop_face(g, b, model.card) for g, b in zip(grays, boxes, strict=True)])
    return model.predict_proba(crops)[:, INDEX["happy"]]


def windows(p: np.ndarray, media: np.ndarray, size: int = 10) -> np.ndarray:
    """Means over consecutive runs of `size` frames of each video: the reward's granularity."""
    out = []
    for m in np.unique(media):
        q = p[media == m]
        out += [q[i : i + size].mean() for i in range(0, len(q) - size + 1, size)]
    return np.asarray(out)


def diff(p: np.ndarray, ref: np.ndarray, media: np.ndarray) -> dict[str, float]:
    per_frame, per_window = np.abs(p - ref), np.abs(windows(p, media) - windows(ref, media))
    return {
        "frame_max": round(float(per_frame.max()), 3),
        "frame_mean": round(float(per_frame.mean()), 3),
        "window10_max": round(float(per_window.max()), 3),
        "window10_mean": round(float(per_window.mean()), 3),
    }


def noise_floor(model, grays, haar: np.ndarray) -> float:
    """Largest change of P(happy) when a Haar box moves by 2 px (or grows by 4)."""
    ref, worst = happy(model, grays, haar), 0.0
    for dx, dy, ds in ((2, 0, 0), (-2, 0, 0), (0, 2, 0), (0, -2, 0), (-2, -2, 4), (2, 2, -4)):
        moved = haar + np.array([dx, dy, ds, ds], dtype=np.float32)
        worst = max(worst, float(np.abs(happy(model, grays, moved) - ref).max()))
    return round(worst, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", choices=("mtcnn", "yunet"), default="mtcnn")
    parser.add_argument("--fixtures", type=Path, default=Path("../shared/fixtures"))
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    cls = MtcnnDetector if args.detector == "mtcnn" else YunetDetector
    mtcnn, haar, model = cls(mapping=IDENTITY_MAPPING), HaarDetector(), load_model()
    data = collect(args.fixtures, mtcnn, haar)
    grays = [data["grays"][i] for i in data["gray_id"]]
    mapping = fit(data["haar"], data["mtcnn"])
    p_haar = happy(model, grays, data["haar"])
    raw = [np.array([b[0], b[1], b[2] - b[0], b[3] - b[1]]) for b in data["mtcnn"]]
    p_raw = happy(model, grays, raw)
    p_mapped = happy(model, grays, [mapping.apply(b) for b in data["mtcnn"]])
    mapped = np.stack([mapping.apply(b) for b in data["mtcnn"]])
    mt, media = data["mtcnn"], data["media"]
    side_ratio = data["haar"][:, 2] / (mt[:, 3] - mt[:, 1])
    report = {
        "detector": mtcnn.describe(),
        "frames": len(grays),
        "frames_per_media": {m: int((media == i).sum()) for i, m in enumerate(MEDIA)},
        "mapping": mapping.__dict__,
        "h_over_w": round(float(np.median((mt[:, 3] - mt[:, 1]) / (mt[:, 2] - mt[:, 0]))), 3),
        "side_h_quartiles": [round(float(q), 3) for q in np.percentile(side_ratio, [25, 75])],
        "side_h_per_media": {
            m: round(float(np.median(side_ratio[media == i])), 3)
            for i, m in enumerate(MEDIA)
            if (media == i).any()
        },
        "box_error_over_side_mean": round(
            float((np.abs(mapped - data["haar"]).max(1) / data["haar"][:, 2]).mean()), 3
        ),
        "p_happy_vs_haar_unmapped": diff(p_raw, p_haar, media),
        "p_happy_vs_haar_mapped": diff(p_mapped, p_haar, media),
        "p_happy_haar_box_moved_2px_max": noise_floor(model, grays, data["haar"]),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
