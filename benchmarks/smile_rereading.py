"""Does reading a photo more than once raise the smile signal's figures? And what is their ceiling?

Issue 26 asks the default signal for a ROC AUC of 0.97 and 85% of smiles read at 0.5 or above
on the London set's shared half. `smile` reads each photo once: YuNet's box gives a region,
the landmark network reads it, and reads again in the region its landmarks give (one
refinement). This script reads every photo of a folder of faces (`neutral/ID.jpg`,
`smiling/ID.jpg`, as `laetitia fer eval-smiles` takes) in more ways and averages them, a
test-time augmentation:

- `once`: the signal as `smile` reads a photo (one refinement);
- `refined-3`: three more refinements, each in the region the last landmarks give;
- `mirrored`: the mean of the photo's reading and its mirror image's;
- `shifted-9`: the mean over the refined region scaled by 0.9, 1 and 1.1 and moved left, not,
  and right by 5% of its side;
- `shifted-9-mirrored`: the mean of `shifted-9` and the mirror image's reading.

For each it prints the figures `laetitia fer eval-smiles` reports (`laetitia.app.smiles.figures`)
and `sens@95`: the largest share of smiles above a threshold that keeps 95% of neutral faces
below it, the most any monotone recalibration of that reading could put at 0.5 or above.

With `--unseen ID ...` (photos labelled smiling that show no smile, found by eye) it also
prints the AUC's ceiling: the AUC of a signal that read every other smile above every neutral
face and those photos as `once` does.

    .venv/bin/python benchmarks/smile_rereading.py ../shared/fixtures/london \\
        --unseen 005 042 068 131
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from laetitia.app.smiles import figures, find_pairs
from laetitia.images import read_image
from laetitia.landmarks import BLENDSHAPE_LANDMARKS, BLENDSHAPE_NAMES, FaceLandmarker, Roi
from laetitia.landmarks.bundle import LANDMARK_SIDE
from laetitia.landmarks.geometry import crop, project, roi_from_landmarks

WAYS = ("once", "refined-3", "mirrored", "shifted-9", "shifted-9-mirrored")
SMILE = [BLENDSHAPE_NAMES.index("mouthSmileLeft"), BLENDSHAPE_NAMES.index("mouthSmileRight")]


def smile_in(landmarker: FaceLandmarker, image: np.ndarray, roi: Roi) -> tuple[float, np.ndarray]:
    """The smile signal read in `roi` of `image`, and the landmarks it came from."""
    tensor = crop(image, roi, LANDMARK_SIDE)[:, :, ::-1].astype(np.float32)[None] / 255.0
    raw, _ = landmarker.networks.landmarks(tensor)
    points = project(raw / LANDMARK_SIDE, roi)
    scores = landmarker.networks.blendshapes(
        points[BLENDSHAPE_LANDMARKS, :2].astype(np.float32)[None]
    ).ravel()
    return float(scores[SMILE].mean()), points


def readings(landmarker: FaceLandmarker, image: np.ndarray) -> dict[str, float]:
    """Every way of reading one photo (see the module); NaN for each where no face is found."""
    first = landmarker.read(image, follow=False)
    mirror = landmarker.read(np.ascontiguousarray(image[:, ::-1]), follow=False)
    if first is None or mirror is None:
        return dict.fromkeys(WAYS, float("nan"))
    once = float(first.blendshapes[SMILE].mean())
    mirror_once = float(mirror.blendshapes[SMILE].mean())
    value, points = once, first.landmarks
    for _ in range(3):
        value, points = smile_in(landmarker, image, roi_from_landmarks(points))
    region = roi_from_landmarks(first.landmarks)
    shifted = [
        smile_in(
            landmarker,
            image,
            Roi(
                region.cx + shift * region.width,
                region.cy,
                region.width * scale,
                region.height * scale,
                region.rotation,
            ),
        )[0]
        for scale in (0.9, 1.0, 1.1)
        for shift in (-0.05, 0.0, 0.05)
    ]
    return {
        "once": once,
        "refined-3": value,
        "mirrored": (once + mirror_once) / 2,
        "shifted-9": float(np.mean(shifted)),
        "shifted-9-mirrored": (float(np.mean(shifted)) + mirror_once) / 2,
    }


def sensitivity_at(neutral: np.ndarray, smiling: np.ndarray, keep: float = 0.95) -> float:
    """The largest share of smiles above a threshold that keeps `keep` of neutral faces below."""
    ordered = np.sort(neutral[~np.isnan(neutral)])
    threshold = ordered[int(np.ceil(keep * ordered.size)) - 1]
    smiles = smiling[~np.isnan(smiling)]
    return float(np.mean(smiles > threshold))


def auc_ceiling(neutral: np.ndarray, smiling: np.ndarray, unseen: np.ndarray) -> float:
    """The AUC if every smile but the `unseen` ones read above every neutral face."""
    beaten = sum(float(np.sum(s > neutral) + 0.5 * np.sum(s == neutral)) for s in smiling[unseen])
    counted = beaten + (~unseen).sum() * neutral.size
    return float(counted / (smiling.size * neutral.size))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder of faces: neutral/ and smiling/")
    parser.add_argument("--unseen", nargs="*", default=[], help="ids of smiles that show none")
    args = parser.parse_args(argv)
    pairs = find_pairs(args.folder)
    landmarker = FaceLandmarker()
    read = {
        kind: [readings(landmarker, read_image(path, cv2.IMREAD_COLOR)) for path in paths]
        for kind, paths in (("neutral", pairs.neutral), ("smiling", pairs.smiling))
    }
    print(f"{len(pairs.people)} people of {args.folder}")
    print("| reading | ROC AUC | smiles >= 0.5 | neutral < 0.5 | paired | sens@95 |")
    print("|---|---:|---:|---:|---:|---:|")
    for way in WAYS:
        neutral = np.array([r[way] for r in read["neutral"]])
        smiling = np.array([r[way] for r in read["smiling"]])
        got = figures(neutral, smiling)
        print(
            f"| {way} | {got['auc']:.3f} | {got['smiling_read_high']:.0%} | "
            f"{got['neutral_read_low']:.0%} | {got['paired']:.0%} | "
            f"{sensitivity_at(neutral, smiling):.0%} |"
        )
    if args.unseen:
        unknown = sorted(set(args.unseen) - set(pairs.people))
        if unknown:
            parser.error(f"--unseen names no person of the folder: {', '.join(unknown)}")
        neutral = np.array([r["once"] for r in read["neutral"]])
        smiling = np.array([r["once"] for r in read["smiling"]])
        unseen = np.isin(np.array(pairs.people), args.unseen)
        print(
            f"AUC ceiling with {', '.join(args.unseen)} read as `once` reads them: "
            f"{auc_ceiling(neutral, smiling, unseen):.3f}"
        )


if __name__ == "__main__":
    main()
