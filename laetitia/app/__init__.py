"""The application: running a training, an evaluation, a benchmark, a replay, a calibration.

What the CLI and notebooks call, each with a typed config; below it are the agents and envs,
the viewers and sessions, and the smile signal (see docs/architecture.md).

| module | what it runs |
|---|---|
| `training` | `train` / `resume`: any agent against any viewer, every step recorded |
| `evaluation` | `evaluate_saved`: a saved agent's policy, learning nothing |
| `bench_agents` | the agents on the suite of simulated people (`laetitia bench agents`) |
| `bench_pipeline` | frames per second of the face pipeline (`laetitia bench pipeline`) |
| `sweep` | a grid of independent runs, here or as Ray tasks (the bench's `--workers`) |
| `tune` | Ray Tune over an agent's settings (`laetitia tune`) |
| `agent_settings` | an agent's settings as a file (`laetitia train --agent-config`) |
| `replay` | re-scoring a recorded session's frames (`laetitia replay`) |
| `predict` | the FER model over a video or images (`laetitia fer predict`) |
| `plots` | every figure of sessions (`laetitia plot`, the notebook) |
| `truth` | a simulated viewer's noise-free happiness, for the curves and the best said |
| `calibration` | fitting a person's calibration profile (`laetitia calibrate`) |
| `web` | the web server: the experimenter's dashboard and a participant in the browser |

Importing this package runs nothing: import the module you need.
"""
