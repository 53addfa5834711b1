"""Viewers: what reacts to a shown emoticon (a person, a video, a recording, a simulation).

| module | what it holds |
|---|---|
| `spec` | viewer spec strings (`sim`, `webcam:INDEX`, `video:PATH`, ...) and `make_viewer` |
| `simulated` | `SimulatedViewer`: a hidden favourite emoticon read through noisy frames |
| `people` | `PersonViewer` and the suites people-v1 and v2 of simulated people |
| `people_v3` | `PersonV3Viewer`: people-v3, drawn from the smile signal's readings of real faces |
| `suites` | every suite by name, its splits, and `suite_viewer` |
| `session` | `SessionReplayViewer`: a recorded session answering with real reactions |
| `live` | `LiveViewer`: a person at a webcam, or a video standing in for one |
| `live_window` | the pygame window a person sees during a live session |

The `Viewer` protocol and the `Reaction` it returns live in `laetitia.types`. Importing this
package runs nothing: import the module you need.
"""
