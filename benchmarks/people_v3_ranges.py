"""The measurements people-v3 is drawn from, recomputed from readings of the smile signal.

people-v3 (`laetitia.viewers.people_v3`) takes its floors, lifts, frame noise and onset from
what the `smile` signal reads on real faces. This script recomputes each of those figures from
CSV files of readings, so a change of signal (or of its model) can be carried into a new suite
version with the figures it rests on:

- **stills** (people photographed neutral and smiling; the London set's shared half in
  `../shared/fixtures/london/`): a CSV with one row per photo and the columns `person`,
  `expression` (`neutral` or `smiling`; or `smiling` 0/1) and the signal (`signal`, or the
  column `--signal-column` names). The output of `laetitia fer predict` is read too, one file
  per expression given as `neutral=PATH smiling=PATH`: the person is then the photo's file
  name without its extension. Gives the neutral and smiling levels across people, the
  neutral-to-smile gap (its median, and the faint-reactor bound of a quarter of it), and,
  with `--roi-columns`, how far the reading of one photo moves between crops (ROI rules).
- **videos** (a face held steady, then a smile; the fixture videos): a CSV with one row per
  frame, a time column `t` in seconds and the signal column. Gives the frame-to-frame noise on
  the steady stretches (neutral and smiling, in signal units and in logits) and the onset's
  time course (the frames from 10% to 90% of the way).

Commands (the JSON is what `laetitia.viewers.people_v3`'s docstring quotes):

    # today, from the research for issue 26 (/work/research/signal/out):
    .venv/bin/python benchmarks/people_v3_ranges.py \\
        --stills ../research/signal/out/readings_london.csv --signal-column bs_yunet_refine \\
        --roi-columns bs_yunet_refine bs_yunet bs_mp_detector \\
        --videos ../research/signal/out/video_single_face.csv \\
                 ../research/signal/out/video_noface_face.csv \\
                 ../research/signal/out/video_face_noface.csv \\
        --video-column yunet_tracked_smoothed --json benchmarks/results/people_v3_ranges.json

    # once the smile signal is laetitia's (issue 26), from its own readings:
    laetitia fer predict ../shared/fixtures/london/neutral --signal smile --csv neutral.csv
    laetitia fer predict ../shared/fixtures/london/smiling --signal smile --csv smiling.csv
    laetitia fer predict ../shared/fixtures/single_face.mp4 --signal smile --csv single_face.csv
    .venv/bin/python benchmarks/people_v3_ranges.py --stills neutral=neutral.csv \\
        smiling=smiling.csv --videos single_face.csv --json ranges.json
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from laetitia.logistic import logit

QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
"""Quantiles reported of each level across people."""
FAINT_SHARE_OF_GAP = 0.25
"""A faint reactor's best emoticon lifts the signal by at most this share of the median gap
(issue 27)."""
SMILING_ABOVE = 0.5
"""A frame of a video at or above this share of the way from its neutral to its smiling level
belongs to the smile."""
STEADY_MARGIN = 3
"""Frames left out at each end of a steady stretch (the onset and offset)."""
EPS = 1e-6


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _signal(row: dict[str, str], column: str) -> float | None:
    value = row.get(column, "")
    return float(value) if value not in ("", None) else None


def read_stills(sources: list[str], column: str) -> dict[str, dict[str, float]]:
    """Each person's reading per expression, `{person: {"neutral": x, "smiling": y}}`.

    A source is `PATH` (columns person, expression or smiling, and the signal) or
    `EXPRESSION=PATH` (a `laetitia fer predict` CSV of one expression's photos).
    """
    people: dict[str, dict[str, float]] = {}
    for source in sources:
        expression, sep, path = source.partition("=")
        if not sep:
            expression, path = "", source
        for row in _rows(Path(path)):
            value = _signal(row, column)
            if value is None:
                continue  # no face found on the photo
            person = row.get("person") or Path(row["file"]).stem
            said = expression or row.get("expression") or ""
            if not said and "smiling" in row:
                said = "smiling" if int(float(row["smiling"])) else "neutral"
            if said not in ("neutral", "smiling"):
                raise SystemExit(f"{path}: a row of person {person} says no expression.")
            people.setdefault(person, {})[said] = value
    return people


def _quantiles(values: np.ndarray) -> dict[str, float]:
    return {f"q{round(100 * q)}": float(np.quantile(values, q)) for q in QUANTILES}


def stills_figures(people: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Levels across people, the neutral-to-smile gap and the faint-reactor bound."""
    pairs = [(p["neutral"], p["smiling"]) for p in people.values() if len(p) == 2]
    neutral = np.array([n for n, _ in pairs])
    smiling = np.array([s for _, s in pairs])
    gap = smiling - neutral
    median_gap = float(np.median(gap))
    return {
        "people": len(pairs),
        "neutral": _quantiles(neutral),
        "smiling": _quantiles(smiling),
        "gap": _quantiles(gap),
        "median_gap": median_gap,
        "faint_lift_max": FAINT_SHARE_OF_GAP * median_gap,
        "paired_share": float(np.mean(gap > 0)),
    }


def roi_figures(path: Path, columns: list[str]) -> dict[str, Any]:
    """How far one photo's reading moves between crops, by the photo's level.

    The spread (standard deviation over the ROI columns) of each photo, in signal units and as
    a share of `p (1 - p)` (the spread in logits a small move of the face gives).
    """
    rows = _rows(path)
    table = np.array([[float(r[c]) for c in columns] for r in rows])
    level = table.mean(axis=1)
    spread = table.std(axis=1)
    bins = [(0.0, 0.01), (0.01, 0.1), (0.1, 0.3), (0.3, 0.6), (0.6, 0.8), (0.8, 1.0)]
    out = {}
    for low, high in bins:
        mine = (level >= low) & (level < high)
        if not mine.any():
            continue
        slope = level[mine] * (1 - level[mine])
        out[f"{low}-{high}"] = {
            "photos": int(mine.sum()),
            "median_sd": float(np.median(spread[mine])),
            "median_sd_logit": float(np.median(spread[mine] / slope)),
        }
    return out


def _stretches(mask: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True as (first, last) indices."""
    runs, start = [], None
    for i, flag in enumerate([*mask, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i - 1))
            start = None
    return runs


def video_figures(path: Path, column: str) -> dict[str, Any]:
    """Frame noise on the steady stretches of one video, and its smile's onset."""
    rows = _rows(path)
    values = np.array([np.nan if _signal(r, column) is None else _signal(r, column) for r in rows])
    times = np.array([float(r["t"]) for r in rows])
    face = np.isfinite(values)
    low, high = np.nanquantile(values, 0.05), np.nanquantile(values, 0.95)
    smiling = face & (values >= low + SMILING_ABOVE * (high - low))
    neutral = face & ~smiling
    fps = 1.0 / float(np.median(np.diff(times)))
    figures: dict[str, Any] = {"frames": int(face.sum()), "fps": fps}
    for name, mask in (("neutral", neutral), ("smiling", smiling)):
        first, last = max(_stretches(mask), key=lambda run: run[1] - run[0])
        steady = values[first + STEADY_MARGIN : last - STEADY_MARGIN + 1]
        logits = logit(steady, EPS)
        figures[name] = {
            "frames": [first + STEADY_MARGIN, last - STEADY_MARGIN],
            "mean": float(steady.mean()),
            "sd": float(steady.std()),
            "frame_to_frame_sd": float(np.diff(steady).std() / math.sqrt(2)),
            "sd_logit": float(logits.std()),
            "frame_to_frame_sd_logit": float(np.diff(logits).std() / math.sqrt(2)),
            "lag1_correlation_logit": float(np.corrcoef(logits[:-1], logits[1:])[0, 1]),
        }
    start = max(_stretches(smiling), key=lambda run: run[1] - run[0])[0]
    base, top = figures["neutral"]["mean"], figures["smiling"]["mean"]
    way = (values - base) / (top - base)
    before = start
    while before > 0 and face[before - 1] and way[before - 1] > 0.1:
        before -= 1
    first_10 = before
    first_90 = next(i for i in range(first_10, len(way)) if face[i] and way[i] >= 0.9)
    figures["onset"] = {
        "frame_10": int(first_10),
        "frame_90": int(first_90),
        "frames_10_to_90": int(first_90 - first_10),
        "seconds_10_to_90": float(times[first_90] - times[first_10]),
    }
    return figures


def main() -> None:
    """Parse the arguments, compute every figure, print and write them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stills", nargs="+", required=True, metavar="[EXPRESSION=]CSV")
    parser.add_argument("--signal-column", default="signal")
    parser.add_argument("--roi-columns", nargs="*", default=[])
    parser.add_argument("--videos", nargs="*", default=[], metavar="CSV")
    parser.add_argument("--video-column", default="signal")
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    figures: dict[str, Any] = {
        "stills": stills_figures(read_stills(args.stills, args.signal_column)),
        "signal_column": args.signal_column,
    }
    if args.roi_columns:
        figures["roi_spread"] = roi_figures(Path(args.stills[0]), args.roi_columns)
    figures["videos"] = {
        Path(path).name: video_figures(Path(path), args.video_column) for path in args.videos
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
