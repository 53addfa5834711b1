#!/usr/bin/env bash
# The population prior on people-v2 (BENCHMARKS.md, "What does a prior learned from other people give?").
#
# 1. Record the sessions a lab would have from earlier participants: `laetitia train` with
#    cma-es on each of people-v2's 24 training people (0-23), 300 steps each. The prior is
#    learned from these steps.csv files only, never from the suite's hidden tastes.
# 2. Score on the 24 held-out people (24-47), never seen while learning: without a prior, and
#    with the prior learned from the sessions of step 1.
#
# Usage: benchmarks/prior_v2.sh [SEEDS] [STEPS]   (defaults: the full grid, 3 seeds, 1000 steps)
set -euo pipefail
seeds=${1:-3}
steps=${2:-1000}
sessions=runs/people-v2-training
results=benchmarks/results
mkdir -p "$sessions" "$results"
for person in $(seq 0 23); do
    if [ ! -f "$sessions/person-$person/best.json" ]; then
        laetitia train --agent cma-es --viewer "person:v2:$person" --steps 300 --seed "$person" \
            --out "$sessions/person-$person" > /dev/null
    fi
done
laetitia bench agents --suite people-v2 --people held-out --seeds "$seeds" --steps "$steps" \
    --agents bayes-opt cma-es hill-climb hill-climb:remeasure_every=10 --stop-at-90 \
    --json "$results/v2_held_out_no_prior.json"
laetitia bench agents --suite people-v2 --people held-out --seeds "$seeds" --steps "$steps" \
    --agents bayes-opt --prior "$sessions" --stop-at-90 \
    --json "$results/v2_held_out_prior.json"
