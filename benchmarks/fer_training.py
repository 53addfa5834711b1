"""Training speed of the FER CNN (issue 4): seconds per epoch and milliseconds per image.

Writes a FER2013-format CSV of random 48x48 faces (the speed does not depend on what the
pixels show), then times `laetitia fer train` for `--epochs` epochs on it, evaluation of the
validation split included, on the CPU or the GPU `--device` names.

    .venv/bin/python benchmarks/fer_training.py [--images 1024] [--epochs 2] [--device auto]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import numpy as np

from laetitia.fer.train import TrainConfig, train
from laetitia.labels import EMOTIONS


def write_csv(path: Path, images: int, rng: np.random.Generator) -> None:
    """`images` training rows, and a tenth as many each for PublicTest and PrivateTest."""
    usage = ["Training"] * images + ["PublicTest", "PrivateTest"] * max(len(EMOTIONS), images // 10)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        for i, split in enumerate(usage):
            pixels = " ".join(map(str, rng.integers(0, 256, 48 * 48)))
            writer.writerow([i % len(EMOTIONS), pixels, split])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "fer.csv"
        write_csv(data, args.images, np.random.default_rng(0))
        config = TrainConfig(
            data=str(data), out=str(Path(tmp) / "run"), epochs=args.epochs, device=args.device
        )
        start = time.perf_counter()
        train(config, progress=False, log=lambda line: None)
        seconds = (time.perf_counter() - start) / args.epochs
    print(f"{args.images} training images of 64x64, batch {config.batch_size}, {args.device}:")
    print(f"{seconds:.1f} s per epoch, {1000 * seconds / args.images:.1f} ms per training image")


if __name__ == "__main__":
    main()
