"""Where an agent's recommendation ends on people-v3: near which favourite, how far from its top.

`laetitia bench agents` says how far of the way a recommendation is; this says where it is. For
each `MEMBER:SEED` it runs the agent as the bench does (the same viewer, env and prior), then
prints the person's favourites (relative heights, the top's width), the recommendation's
relevance-weighted distance to each favourite (the distance the taste itself uses), its offset
from the best favourite in each parameter, and the fraction of the way it reaches.

    L=reading=logit,carry_over=true,refit_share=0.1,taste_drift=true,recommend_sd=1.0
    .venv/bin/python benchmarks/v3_where_recommended.py "bayes-opt:$L" 64:0 66:0 68:0 71:1 \\
        72:0 74:0 76:0 --prior laetitia/priors/people-v3
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from laetitia.agents import AGENTS, agent_class
from laetitia.app.bench_agents import BenchConfig, member_viewer, parse_agent_spec, run_settings
from laetitia.app.prior import PopulationPrior, read_prior
from laetitia.envs.make import make_env
from laetitia.viewers.people_v3 import PersonV3Viewer


def where(agent: str, member: int, seed: int, steps: int, prior: PopulationPrior | None) -> str:
    """One run's end, in words."""
    config = BenchConfig(agents=(agent,), suite="people-v3", people=(member,), steps=steps)
    name, settings = parse_agent_spec(agent)
    run = run_settings(agent, config)
    viewer = member_viewer(member, seed, run, "people-v3")
    assert isinstance(viewer, PersonV3Viewer)
    env = make_env(AGENTS[name].env_id, viewer, run)
    chosen = agent_class(name)
    extra = prior.agent_arguments() if prior is not None and chosen.takes_prior else {}
    learner = chosen(env, seed=seed, **settings, **extra)
    learner.learn(steps)
    env.close()
    best = learner.best_params()
    if best is None:
        return f"member {member} seed {seed}: no recommendation"
    taste = viewer.person.taste_at(viewer.shown)
    unit = viewer.space.normalize(viewer.space.clip(best))
    distances = np.sqrt((((unit - taste.favourites) * taste.relevance) ** 2).sum(axis=1))
    top = taste.favourites[int(np.argmax(taste.heights))]
    fraction = (viewer.true_happiness(best) - taste.floor) / (taste.peak - taste.floor)
    return "\n".join(
        [
            f"member {member} seed {seed} ({viewer.person.kind}, shape {taste.shape}"
            f"{', moving' if viewer.person.drifts else ''}): {fraction:.2f} of the way",
            f"  favourites' heights {np.round(taste.heights, 2)}, top width "
            f"{taste.top_width:.2f}, foothill width {taste.broad_width:.2f}",
            f"  weighted distance to each favourite {np.round(distances, 2)}",
            f"  offset from the best favourite {np.round(unit - top, 2)}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("agent", help="an agent spec, as `laetitia bench agents --agents` takes")
    parser.add_argument("runs", nargs="+", help="MEMBER:SEED of people-v3")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--prior", type=Path, default=None)
    args = parser.parse_args(argv)
    prior = read_prior([args.prior]) if args.prior is not None else None
    for text in args.runs:
        member, _, seed = text.partition(":")
        print(where(args.agent, int(member), int(seed or 0), args.steps, prior))


if __name__ == "__main__":
    main()
