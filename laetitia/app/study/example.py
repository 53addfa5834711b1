"""The example study `laetitia study init` writes: two conditions, runnable as a dry run."""

from __future__ import annotations

from typing import Final

EXAMPLE_STUDY: Final = '''\
# A laetitia study (docs/studies.md). `laetitia study run|status|report|export|withdraw` read it.
# Every key is checked: a misspelt one is an error that names it.
#
# Try the protocol before anyone sits down, on simulated people (no camera, no calibration):
#     laetitia study run STUDY --simulate 6
#     laetitia study report STUDY --out STUDY/report.html
# Then run each participant, under a pseudonym you give:
#     laetitia study run STUDY --participant P01

name = "example"              # letters, digits, '-' and '_': it names the exported datasets
order = "latin-square"        # orders balanced over participants by index; or "fixed"
viewer = "webcam"             # who looks at a participant's sessions (webcam, webcam:INDEX)
calibrate = true              # each participant calibrates first; a dry run skips it
break_s = 30.0                # seconds of rest between conditions (space goes on sooner)
seed = 0                      # participant i's condition c runs with seed + 1000 i + c
keep_frames = false           # no image of anyone is written: only the per-frame values

# What the participant reads and must accept (key A) before the camera starts; D declines.
consent = """
In this study a cartoon face on the screen changes while a camera reads your facial
expression. A program learns which faces make you smile. No image of you is kept: only
numbers read from each camera frame, under a pseudonym, never your name.

You may stop at any time by pressing Q. You may also withdraw later: all your data is then
deleted from the study.

Press A to agree and take part, or D to decline.
"""

# Every other key at the top is a setting of `laetitia train`, for every session:
frames = 10                   # frames read per shown face
settle_s = 0.5                # seconds before reading, after each change
max_episode_steps = 50

[simulation]                  # the simulated people of a dry run
people = "person:v3:{member}" # dry-run participant of index i is member first_member + i
first_member = 40             # people-v3's validation members are 40-99

[analysis]                    # what `laetitia study report` computes
threshold = 0.9               # steps until the rolling mean is 90% of the way from the
window = 10                   #   participant's own floor to their own top (10-step window)
last_steps = 20               # the mean signal over each session's last 20 readings

[[conditions]]
name = "climb"
agent = "hill-climb"
steps = 60

[[conditions]]
name = "bayes"
agent = "bayes-opt"
steps = 60
# Each participant's prior is learned from the sessions of this condition that earlier
# participants completed (pool = "study": of every condition); none for the first two.
prior = { policy = "growing", pool = "condition" }
'''
"""The study file of `laetitia study init`."""
