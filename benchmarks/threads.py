"""How many threads laetitia should compute with: torch (the FER model, a PPO update, FER
training) and OpenCV (YuNet on a video's frames, and decoding the video).

Each measurement runs in a fresh process per thread count (torch fixes its pools at start),
interleaved over rounds so that both counts see the same load. Prints medians and writes JSON.
OpenCV's figures are wall and CPU time (the process's, all threads) per frame: YuNet on every
frame of `--video` with `cv2.setNumThreads(N)`, and decoding it with `CAP_PROP_N_THREADS` N.

    .venv/bin/python benchmarks/threads.py --threads 1 2 --rounds 3 --json runs/threads.json
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time
import numpy as np
import torch
threads = int(sys.argv[1])
torch.set_num_threads(threads)
from laetitia.fer import load_model
model = load_model()
crops = np.random.default_rng(0).integers(0, 255, (10, 64, 64), dtype=np.uint8)
model.predict_proba(crops)
start = time.perf_counter()
for _ in range(50):
    model.predict_proba(crops)
fer_ms = (time.perf_counter() - start) / 50 * 1000

import gymnasium as gym
import laetitia
from laetitia.agents.ppo import PPOAgent
env = gym.make("laetitia/Smile-v0", viewer="sim:1", frames=2)
agent = PPOAgent(env, seed=0)
updates = []
train = agent.model.train
def timed():
    t = time.perf_counter(); train(); updates.append(time.perf_counter() - t)
agent.model.train = timed
agent.learn(64 * 4)
ppo_s = float(np.median(updates))

from laetitia.fer.model import MiniXception
net = MiniXception(num_classes=7)
optimizer = torch.optim.AdamW(net.parameters(), 1e-3)
images = torch.rand(256, 1, 64, 64)
labels = torch.randint(0, 7, (256,))
start = time.perf_counter()
for i in range(0, 256, 64):
    loss = torch.nn.functional.cross_entropy(net(images[i:i + 64]), labels[i:i + 64])
    optimizer.zero_grad(); loss.backward(); optimizer.step()
train_ms = (time.perf_counter() - start) / 256 * 1000
figures = {"fer_batch10_ms": fer_ms, "ppo_update_s": ppo_s, "fer_train_ms_per_image": train_ms}

import cv2
cv2.setNumThreads(threads)
from laetitia.faces import YunetDetector

def timed_decode():
    capture = cv2.VideoCapture(sys.argv[2], cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, threads])
    frames, wall, cpu = [], time.perf_counter(), time.process_time()
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    n = len(frames)
    return frames, (time.perf_counter() - wall) / n * 1000, (time.process_time() - cpu) / n * 1000

frames, figures["decode_ms"], figures["decode_cpu_ms"] = min(
    (timed_decode() for _ in range(3)), key=lambda t: t[2]
)
detector = YunetDetector()
detector.detect(frames[0])
wall, cpu = time.perf_counter(), time.process_time()
for frame in frames:
    detector.detect(frame)
figures["yunet_ms"] = (time.perf_counter() - wall) / len(frames) * 1000
figures["yunet_cpu_ms"] = (time.process_time() - cpu) / len(frames) * 1000
print(json.dumps(figures))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--video", default="../shared/fixtures/noface_face.mov")
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    results: dict[int, list[dict[str, float]]] = {n: [] for n in args.threads}
    loads = []
    for _ in range(args.rounds):
        for n in args.threads:
            loads.append(os.getloadavg()[0])
            env = {**os.environ, "OMP_NUM_THREADS": str(n), "MKL_NUM_THREADS": str(n)}
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(n), args.video],
                env=env,
                capture_output=True,
                text=True,
            )
            if out.returncode:
                sys.exit(out.stderr)
            results[n].append(json.loads(out.stdout.strip().splitlines()[-1]))
    summary = {
        n: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for n, runs in results.items()
    }
    for n, figures in summary.items():
        print(
            f"{n} thread(s): FER model {figures['fer_batch10_ms']:.1f} ms per 10 faces, "
            f"PPO update {figures['ppo_update_s']:.2f} s, "
            f"FER training {figures['fer_train_ms_per_image']:.1f} ms per image; per frame: "
            f"YuNet {figures['yunet_ms']:.2f} ms ({figures['yunet_cpu_ms']:.2f} ms CPU), "
            f"decoding {figures['decode_ms']:.2f} ms ({figures['decode_cpu_ms']:.2f} ms CPU)"
        )
    document = {
        "machine": {"platform": platform.platform(), "cores": os.cpu_count()},
        "video": args.video,
        "load_average_1m": {"min": min(loads), "max": max(loads)},
        "rounds": args.rounds,
        "median": summary,
        "runs": results,
    }
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1)


if __name__ == "__main__":
    main()
