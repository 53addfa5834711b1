#!/usr/bin/env bash
# The population prior on people-v3 (BENCHMARKS.md, "Agents that find a faint smile").
#
# 1. Record the sessions a lab would have from earlier participants: `laetitia train` with
#    bayes-opt (no prior) on each of people-v3's 40 prior people (0-39), 300 steps each, without
#    frames. The prior is learned from these sessions' steps.csv only (each one's readings and
#    the agent's last recommendation), never from the suite's hidden tastes; a session whose
#    agent said its person gives no reliable reaction is left out.
# 2. Learn the prior from them and write it where laetitia ships it
#    (laetitia/priors/people-v3/, what `laetitia demo` starts from): a few kilobytes.
#
# Usage: benchmarks/prior_v3.sh [--agent-arg KEY=VALUE ...]   (about an hour on two cores)
set -euo pipefail
sessions=runs/people-v3-prior
shipped=laetitia/priors/people-v3
mkdir -p "$sessions"
for person in $(seq 0 39); do
    if [ ! -f "$sessions/person-$person/best.json" ]; then
        rm -rf "$sessions/person-$person"
        laetitia train --agent bayes-opt --viewer "person:v3:$person" --steps 300 \
            --seed "$person" --no-frames --out "$sessions/person-$person" "$@" > /dev/null
    fi
done
python - "$sessions" "$shipped" <<'PY'
import sys

from laetitia.app.prior import read_prior, save_prior

prior = read_prior([sys.argv[1]])
save_prior(prior, sys.argv[2])
print(f"prior of {len(prior.sources)} sessions: bandwidth {prior.bandwidth}, "
      f"height {prior.height:.4f}, level {prior.level:.4f} -> {sys.argv[2]}")
PY
