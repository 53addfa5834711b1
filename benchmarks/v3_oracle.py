"""How fast could an agent find a people-v3 person's smile, knowing what about them? An oracle.

Issue 27 asks bayes-opt's recommendation to reach 90% of the way and stay there within 45 s of
a person's time (54 steps at the default settle and frames) in half the runs, and within 300
steps in 90% of them. This measures what the suite's people allow, and what an agent must know
to get there: an *oracle* agent is told everything about the person (their kind, floor, lift,
taste shape and widths, how much each parameter matters, how their favourite moves, latency,
rise time, the noise's sizes and correlation times, habituation) except where their favourites
lie, and knows the prior those are drawn from (`around_the_population`: the first favourite
0.2 normalised units per parameter around the population's; a second one anywhere in the box).
`--unknown` takes some of that knowledge away, either to be inferred with the favourites
(`relevance`, `scale`, `latency`) or replaced by the middle of its range, as an agent that
assumes a typical person would (`timing`, `noise`, `habituation`). It reasons exactly, up to
Monte Carlo error:

- **belief**: a sequential Monte Carlo posterior over the unknowns (`--particles`), resampled,
  with Metropolis moves on the whole history (random walks, a favourite drawn afresh from its
  prior, the best and second favourites swapped) whenever the effective sample size falls
  below half;
- **likelihood**: the people-v3 model itself: each frame's log-odds is the face's level (the
  lag and rise from the previous emoticon's level to this one's, habituation from what was
  shown) plus mood (an AR(1) over steps), wander (an Ornstein-Uhlenbeck process in seconds) and
  jitter, integrated by a Kalman filter (frames without a face are skipped). At the truth, the
  filter's standardised innovations have mean 0 and standard deviation 1.02-1.04;
- **what it shows**: Thompson sampling (the best favourite of one posterior draw), or with
  `--top-two` top-two Thompson sampling;
- **what it recommends**: of the best favourites of 256 posterior draws and the posterior
  mean, the emoticon with the highest posterior expected appeal on the next step's taste.

It is scored as the bench scores an agent (`recommendation_metrics`: 90% of the way and
staying, person-time from the run settings) on the same viewers (`member_viewer`, same seeds);
non-responders are left out (the oracle is told who they are). No agent is told any of this:
the oracle says which knowledge the targets need, and so what an agent must learn.

    .venv/bin/python benchmarks/v3_oracle.py 40-79 --seeds 0 --workers 2 \
        --unknown relevance,scale --out /tmp/oracle.json

Prints one line per run and the summary (bootstrap 95% intervals over runs).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from laetitia.agents.particle import (
    FrameFilter,
    FrameNoise,
    StepMaps,
    fresh_state,
    metropolis,
)
from laetitia.app.bench_agents import member_viewer, parse_people
from laetitia.app.bench_metrics import recommendation_metrics
from laetitia.app.bench_recommended import interval
from laetitia.app.sweep import run_sweep
from laetitia.run_settings import RUN_DEFAULTS, RunSettings
from laetitia.viewers import people_v3 as v3
from laetitia.viewers.people import POPULATION_FAVOURITE, POPULATION_SPREAD, Habituation, Taste
from laetitia.viewers.people_v3 import HABITUATION_WIDTH, PersonV3Viewer, V3Person

CANDIDATES = 256
"""Posterior draws whose best favourites are candidates for the recommendation."""
MOVES = 4
"""Metropolis sweeps after each resampling."""
UNKNOWNS = ("relevance", "scale", "latency", "timing", "noise", "habituation")
"""What the oracle may be denied (`--unknown`): how much each parameter matters (drawn from
the generator's prior, 0.6-1.4, or 0-1.4 for the three-parameter shape), the person's floor
and lift (the London floors' quantiles, the kind's lift range) and their latency and rise
(`latency`: from their ranges), each inferred with the favourites; or the latency and
rise, the noise's sizes and correlation times, and habituation, each taken at the middle of its
range instead of the person's own (`typical`)."""
_TYPICAL = {
    "timing": {"latency_s": v3.LATENCY_S, "readable_s": v3.READABLE_S},
    "noise": {
        "jitter": v3.JITTER_LOGIT,
        "wander": v3.WANDER_LOGIT,
        "wander_s": v3.WANDER_S,
        "mood_sd": v3.MOOD_LOGIT,
        "mood_steps": v3.MOOD_STEPS,
    },
    "habituation": {"habituation_depth": v3.HABITUATION_DEPTH, "recovery_steps": v3.RECOVERY_STEPS},
}
"""The person's figures each unknown part stands for, with their ranges."""


def typical(person: V3Person, parts: Sequence[str]) -> V3Person:
    """The person with the figures of `parts` (`_TYPICAL`) at the middle of their ranges."""
    middle = {
        name: 0.5 * (low + high)
        for part in parts
        for name, (low, high) in _TYPICAL.get(part, {}).items()
    }
    return dataclasses.replace(person, **middle)


@dataclass
class _Step:
    """One shown emoticon and what the camera read, with its Kalman maps (shared by all)."""

    unit: np.ndarray
    """Normalised parameters shown."""
    shown: int
    """Emoticons shown before it (the taste's clock)."""
    kept: float
    """Share of the appeal habituation leaves."""
    start: float
    """Person-time the emoticon appeared."""
    times: np.ndarray
    """Person-time of each frame with a face."""
    logits: np.ndarray
    """Log-odds of each such frame's reading."""
    maps: StepMaps
    """The Kalman filter's step (`laetitia.agents.particle`, the same for every hypothesis)."""


Theta = dict[str, np.ndarray]
"""A batch of hypotheses: "fav" (P, k, n) favourites, and what else is unknown: "rel" (P, n),
"floor_q" (P,) the floor's quantile among the London neutral faces, "lift" (P,), "latency" and
"readable" (P,) seconds."""


class Oracle:
    """A posterior over one person's favourites (and what else it is denied) given the rest."""

    def __init__(
        self,
        viewer: PersonV3Viewer,
        particles: int,
        rng: np.random.Generator,
        unknown: Sequence[str] = (),
        top_two: bool = False,
    ):
        self.viewer, self.rng, self.unknown = viewer, rng, set(unknown)
        self.top_two = top_two
        truth = viewer.person
        self.belief = typical(truth, unknown)
        self.k, self.n = truth.taste.favourites.shape
        self.centre = viewer.space.normalize(viewer.space.clip(np.array(POPULATION_FAVOURITE)))
        self.P = particles
        self.theta = self._prior_draw(particles)
        self.logw = np.zeros(particles)
        self.loglik = np.zeros(particles)
        self.steps: list[_Step] = []
        self.memory = Habituation(
            self.belief.habituation_depth, HABITUATION_WIDTH, self.belief.recovery_steps, self.n
        )
        # The noise's Kalman filter is shared by every hypothesis; each has its mean, and the
        # face's anchor (level at the last switch, that switch's time, the level it moves to).
        b = self.belief
        self.frames = FrameFilter(
            FrameNoise(b.jitter, b.wander, b.wander_s, b.mood_sd, b.mood_steps)
        )
        self.scale = 0.5
        self.state = self._fresh_state(self.theta)

    # ----- prior ---------------------------------------------------------------------------------
    def _prior_draw(self, count: int) -> Theta:
        fav = np.empty((count, self.k, self.n))
        fav[:, 0] = np.clip(
            self.centre + POPULATION_SPREAD * self.rng.standard_normal((count, self.n)), -0.9, 0.9
        )
        if self.k > 1:
            fav[:, 1:] = self.rng.uniform(-0.7, 0.7, size=(count, self.k - 1, self.n))
        theta = {"fav": fav}
        if "relevance" in self.unknown:
            theta["rel"] = self.rng.uniform(*self._relevance_range(), size=(count, self.n))
        if "latency" in self.unknown:
            latency = self.rng.uniform(*v3.LATENCY_S, size=count)
            low = np.maximum(v3.READABLE_S[0], latency + v3.RISE_MIN_S)
            theta["latency"] = latency
            theta["readable"] = self.rng.uniform(low, v3.READABLE_S[1])
        if "scale" in self.unknown:
            theta["floor_q"] = self.rng.uniform(0.0, 1.0, size=count)
            theta["lift"] = self.rng.uniform(*self._lift_range(), size=count)
        return theta

    def _relevance_range(self) -> tuple[float, float]:
        return (0.0, 1.4) if self.belief.taste.shape == "irrelevant" else (0.6, 1.4)

    def _lift_range(self) -> tuple[float, float]:
        return v3.FAINT_LIFT if self.belief.kind == "faint" else v3.CLEAR_LIFT

    def _log_prior(self, theta: Theta) -> np.ndarray:
        fav = theta["fav"]
        out = self._log_first(fav[:, 0])
        for second in range(1, self.k):
            out = out + self._log_second(fav[:, second])
        inside = np.isfinite(out)
        if "rel" in theta:
            low, high = self._relevance_range()
            inside &= np.all((theta["rel"] >= low) & (theta["rel"] <= high), axis=1)
        if "floor_q" in theta:
            low, high = self._lift_range()
            inside &= (theta["floor_q"] >= 0) & (theta["floor_q"] <= 1)
            inside &= (theta["lift"] >= low) & (theta["lift"] <= high)
        if "latency" in theta:
            latency, readable = theta["latency"], theta["readable"]
            low = np.maximum(v3.READABLE_S[0], latency + v3.RISE_MIN_S)
            inside &= (latency >= v3.LATENCY_S[0]) & (latency <= v3.LATENCY_S[1])
            inside &= (readable >= low) & (readable <= v3.READABLE_S[1])
            out = out - np.log(np.maximum(v3.READABLE_S[1] - low, 1e-9))
        return np.where(inside, out, -np.inf)

    # ----- the model -----------------------------------------------------------------------------
    def _taste(self, theta: Theta, shown: int) -> Taste:
        """The hypotheses' tastes after `shown` emoticons, favourites (P, k, n)."""
        taste = dataclasses.replace(self.belief.taste, favourites=theta["fav"])
        if "rel" in theta:
            taste = dataclasses.replace(taste, relevance=theta["rel"][:, None, :])
        return dataclasses.replace(self.belief, taste=taste).taste_at(shown)

    def _scale(self, theta: Theta) -> tuple[np.ndarray | float, np.ndarray | float]:
        """Floor and peak of each hypothesis."""
        if "floor_q" not in theta:
            return self.belief.taste.floor, self.belief.taste.peak
        quantiles, levels = zip(*v3.NEUTRAL_QUANTILES, strict=True)
        floor = np.interp(theta["floor_q"], quantiles, levels)
        return floor, np.minimum(floor + theta["lift"], v3.PEAK_MAX)

    def _timing(self, theta: Theta) -> tuple[np.ndarray | float, np.ndarray | float]:
        """Latency and rise time constant of each hypothesis, seconds."""
        if "latency" not in theta:
            return self.belief.latency_s, self.belief.rise_s
        return theta["latency"], (theta["readable"] - theta["latency"]) / math.log(10.0)

    def _fresh_state(self, theta: Theta) -> dict[str, np.ndarray]:
        count = theta["fav"].shape[0]
        return fresh_state(np.broadcast_to(self._scale(theta)[0], (count,)).astype(np.float64))

    def _advance(self, theta: Theta, state: dict[str, np.ndarray], step: _Step) -> np.ndarray:
        """Take one step into `state` (in place); return each hypothesis's log-likelihood."""
        latency, tau = self._timing(theta)
        switch = step.start + latency
        floor, peak = self._scale(theta)
        appeal = self._taste(theta, step.shown).appeal(step.unit)
        target = floor + (peak - floor) * appeal * step.kept
        level, at, old = state["level"], state["at"], state["target"]
        times = step.times[None, :]
        tau_ = np.broadcast_to(tau, at.shape)[:, None]
        switch_ = np.broadcast_to(switch, at.shape)[:, None]
        on_old = old[:, None] + (level - old)[:, None] * np.exp(-(times - at[:, None]) / tau_)
        at_switch = old + (level - old) * np.exp(-(switch - at) / tau)
        on_new = target[:, None] + (at_switch - target)[:, None] * np.exp(-(times - switch_) / tau_)
        levels = np.where(times < switch_, on_old, on_new)
        state["level"], state["at"], state["target"] = (
            at_switch,
            np.broadcast_to(switch, at.shape).astype(np.float64),
            target,
        )
        residual = step.logits[None, :] - v3._logit(levels)
        loglik, state["mean"] = step.maps.read(state["mean"], residual)
        return loglik

    def _history_loglik(self, theta: Theta) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        state = self._fresh_state(theta)
        total = np.zeros(theta["fav"].shape[0])
        for step in self.steps:
            total += self._advance(theta, state, step)
        return total, state

    # ----- the agent -----------------------------------------------------------------------------
    def _weights(self) -> np.ndarray:
        w = np.exp(self.logw - self.logw.max())
        return w / w.sum()

    def _best_at(self, theta: Theta, shown: int) -> np.ndarray:
        """(P, n): each hypothesis's best favourite after `shown` emoticons."""
        best = int(np.argmax(self.belief.taste.heights))
        return self._taste(theta, shown).favourites[:, best]

    def choose(self) -> np.ndarray:
        """Thompson sampling: the best favourite of one posterior draw, now.

        With `top_two`, half the time the best favourite of another draw instead, one whose
        best the first draw's taste puts below 90% of its top (top-two Thompson sampling, for
        finding the best rather than earning on the way; Russo 2016).
        """
        w = self._weights()
        shown = self.viewer.shown
        pick = int(self.rng.choice(self.P, p=w))
        one = {key: value[pick : pick + 1] for key, value in self.theta.items()}
        first = self._best_at(one, shown)[0]
        if not self.top_two or self.rng.random() < 0.5:
            return first
        taste = self._taste(one, shown)
        others = self.rng.choice(self.P, size=64, p=w)
        at = self._best_at({key: value[others] for key, value in self.theta.items()}, shown)
        elsewhere = np.flatnonzero(taste.appeal(at) < 0.9)
        return at[elsewhere[0]] if elsewhere.size else first

    def observe(
        self, unit: np.ndarray, values: np.ndarray, times: np.ndarray, start: float
    ) -> None:
        """Take in one step's frames (NaN: no face)."""
        seen = ~np.isnan(values)
        step = _Step(
            unit=unit,
            shown=len(self.steps),
            kept=1.0 - self.memory.fraction(unit),
            start=start,
            times=times[seen],
            logits=v3._logit(values[seen].astype(np.float64)),
            maps=self.frames.maps(times[seen], first=not self.steps),
        )
        self.memory.remember(unit)
        self.steps.append(step)
        gain = self._advance(self.theta, self.state, step)
        self.logw += gain
        self.loglik += gain
        w = self._weights()
        if 1.0 / np.sum(w**2) < self.P / 2:
            self._resample_move(w)

    def _resample_move(self, w: np.ndarray) -> None:
        positions = (self.rng.random() + np.arange(self.P)) / self.P
        index = np.minimum(np.searchsorted(np.cumsum(w), positions), self.P - 1)
        self.theta = {key: value[index] for key, value in self.theta.items()}
        self.loglik = self.loglik[index]
        self.state = {key: value[index] for key, value in self.state.items()}
        self.logw = np.zeros(self.P)
        for _ in range(MOVES):
            proposal = {
                key: value
                + self.scale * (value.std(axis=0) + 1e-3) * self.rng.standard_normal(value.shape)
                for key, value in self.theta.items()
            }
            rate = self._metropolis(
                proposal, self._log_prior(proposal) - self._log_prior(self.theta)
            )
            self.scale *= 1.1 if rate > 0.3 else 0.9
        # Moves across the box, for a posterior with more than one mode: a favourite drawn
        # afresh from its prior (an independence proposal: the priors cancel) and, with two
        # favourites, the best one demoted to second place (a new best drawn) or promoted.
        for which in range(self.k):
            fresh = self._prior_draw(self.P)["fav"][:, which]
            proposal = {key: value.copy() for key, value in self.theta.items()}
            proposal["fav"][:, which] = fresh
            self._metropolis(proposal, np.zeros(self.P))
        if self.k > 1:
            fav = self.theta["fav"]
            demote = self.rng.random(self.P) < 0.5
            fresh = self._prior_draw(self.P)["fav"]
            moved = fav.copy()
            moved[demote, 1] = fav[demote, 0]
            moved[demote, 0] = fresh[demote, 0]
            moved[~demote, 0] = fav[~demote, 1]
            moved[~demote, 1] = fresh[~demote, 1]
            first, second = self._log_first(fav[:, 0]), self._log_second(fav[:, 0])
            up_first, up_second = self._log_first(fav[:, 1]), self._log_second(fav[:, 1])
            extra = np.where(demote, second - first, up_first - up_second)
            self._metropolis({**self.theta, "fav": moved}, extra)

    def _log_first(self, x: np.ndarray) -> np.ndarray:
        """Normalised log prior density of a best favourite, (P, n) -> (P,)."""
        s = POPULATION_SPREAD
        out = -0.5 * np.sum(((x - self.centre) / s) ** 2, axis=1) - self.n * math.log(
            s * math.sqrt(2 * math.pi)
        )
        return np.where(np.all(np.abs(x) <= 0.9, axis=1), out, -np.inf)

    def _log_second(self, x: np.ndarray) -> np.ndarray:
        """Normalised log prior density of a second favourite, (P, n) -> (P,)."""
        inside = np.all(np.abs(x) <= 0.7, axis=1)
        return np.where(inside, -self.n * math.log(1.4), -np.inf)

    def _metropolis(self, proposal: Theta, extra: np.ndarray) -> float:
        return metropolis(
            self.rng, self.theta, self.loglik, self.state, proposal, extra, self._history_loglik
        )

    def recommend(self) -> np.ndarray:
        """The emoticon of highest posterior expected appeal on the next step's taste."""
        w = self._weights()
        shown = self.viewer.shown
        draws = self.rng.choice(self.P, size=min(CANDIDATES, self.P), p=w, replace=False)
        at = self._best_at(self.theta, shown)
        candidates = np.vstack([at[draws], (w[:, None] * at).sum(axis=0)])
        taste = self._taste(self.theta, shown)
        scores = np.array([w @ taste.appeal(c) for c in candidates])
        return candidates[int(np.argmax(scores))]


def run(
    member: int,
    seed: int,
    steps: int,
    particles: int,
    settings: RunSettings,
    unknown: Sequence[str] = (),
    top_two: bool = False,
) -> dict:
    """One oracle run, scored as the bench scores a run."""
    viewer = member_viewer(member, seed, settings, "people-v3")
    assert isinstance(viewer, PersonV3Viewer)
    oracle = Oracle(viewer, particles, np.random.default_rng([seed, member, 27]), unknown, top_two)
    space = viewer.space
    floor, top = viewer.floor(), viewer.attainable_max()
    fraction, wait = np.empty(steps), np.empty(steps)
    for k in range(steps):
        began = time.perf_counter()
        unit = oracle.choose()
        start = viewer.clock_s
        reaction = viewer.react(None, space.denormalize(unit))
        values = np.asarray(reaction.values, dtype=np.float64)
        oracle.observe(
            space.normalize(space.clip(space.denormalize(unit))), values, reaction.times_s, start
        )
        best = space.denormalize(oracle.recommend())
        wait[k] = time.perf_counter() - began
        fraction[k] = (viewer.true_happiness(best, shown=k + 1) - floor) / (top - floor)
    person_s = np.full(steps, settings.settle_s + settings.frames / settings.camera_fps)
    metrics = recommendation_metrics(fraction, person_s, wait)
    return {
        "member": member,
        "seed": seed,
        "kind": viewer.person.kind,
        "shape": viewer.person.taste.shape,
        "drifts": viewer.person.drifts,
        "steps_to_90": None if not metrics.reached else metrics.steps_to_90,
        "person_s_to_90": None if not metrics.reached else metrics.person_s_to_90,
        "at_seconds": {key: _finite(value) for key, value in metrics.at_seconds.items()},
        "at_steps": {key: _finite(value) for key, value in metrics.at_steps.items()},
        "wait_s": float(wait.sum()),
    }


def summary(rows: list[dict], count: int = 4000) -> dict:
    """Median person-time and never-there share, overall and by kind, with 95% intervals."""
    out = {}
    rng = np.random.default_rng(0)
    for name, keep in (("responders", None), ("faint", "faint"), ("clear", "clear")):
        chosen = [r for r in rows if keep is None or r["kind"] == keep]
        if not chosen:
            continue
        t = np.array(
            [math.inf if r["person_s_to_90"] is None else r["person_s_to_90"] for r in chosen]
        )
        idx = rng.integers(0, t.size, size=(count, t.size))
        medians = np.median(t[idx], axis=1)
        never = np.mean(~np.isfinite(t[idx]), axis=1)
        out[name] = {
            "runs": int(t.size),
            "median_person_s_to_90": _finite(float(np.median(t))),
            "median_ci95": interval(medians),
            "never_share": float(np.mean(~np.isfinite(t))),
            "never_ci95": interval(never),
            "within_45s_share": float(np.mean(t <= 45.0)),
        }
    return out


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("members", help="people-v3 members: 40-79, or a split such as validation")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--particles", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="runs at once (laetitia's sweep)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--top-two", action="store_true", help="top-two Thompson sampling")
    parser.add_argument(
        "--settle", type=float, default=RUN_DEFAULTS.settle_s, help="seconds before the frames"
    )
    parser.add_argument(
        "--unknown",
        default="",
        help=f"comma-separated, what the oracle is not told besides the favourites: {UNKNOWNS}",
    )
    args = parser.parse_args(argv)
    settings = dataclasses.replace(RUN_DEFAULTS, settle_s=args.settle)
    unknown = [u for u in args.unknown.split(",") if u]
    if not set(unknown) <= set(UNKNOWNS):
        parser.error(f"--unknown takes {UNKNOWNS}, got {unknown}")
    if {"latency", "timing"} <= set(unknown):
        parser.error(
            "--unknown: latency (inferred) and timing (taken as typical) exclude each other"
        )
    jobs = {
        (member, seed): (member, seed, args.steps, args.particles, settings, unknown, args.top_two)
        for member in parse_people(args.members, v3.SUITE_V3)
        for seed in (int(s) for s in args.seeds.split(","))
        if v3.v3_kind(member) != "none"
    }
    outcome = run_sweep(run, jobs, workers=args.workers, progress=False)
    if outcome.failures:
        raise SystemExit(f"runs failed: {sorted(outcome.failures)}")
    rows = list(outcome.results.values())
    for row in rows:
        seconds = row["person_s_to_90"]
        print(
            f"member {row['member']} seed {row['seed']} {row['kind']:5s} {row['shape']:10s}"
            f"{' moving' if row['drifts'] else '       '} to 90%: "
            f"{'never' if seconds is None else f'{seconds:.0f} s'}; at 45 s "
            f"{_or_nan(row['at_seconds']['45']):.2f}, end {row['at_steps']['end']:.2f}"
        )
    document = {
        "unknown": unknown,
        "top_two": args.top_two,
        "settle_s": settings.settle_s,
        "summary": summary(rows),
        "runs": rows,
    }
    if args.out is not None:
        args.out.write_text(json.dumps(document, indent=1))
    print(json.dumps(document["summary"], indent=1))


if __name__ == "__main__":
    main()
