"""Viewers: what reacts to a shown emoticon (a person, a video, a recording, a simulation).

| module | what it holds |
|---|---|
| `spec` | viewer spec strings (`sim`, `webcam:INDEX`, `video:PATH`, ...) and `make_viewer` |
| `simulated` | `SimulatedViewer`: a hidden favourite emoticon read through noisy frames |
| `people` | `PersonViewer` and the benchmark suite of simulated people |
| `session` | `SessionReplayViewer`: a recorded session answering with real reactions |
| `live` | `LiveViewer`: a person at a camera (a webcam, a browser page), or a video standing in |
| `stage` | the `Stage` protocol (where a live viewer shows the emoticon) and the `screen` setting |
| `live_window` | the demo's pygame window: the emoticon beside the reading (`--screen full`) |
| `participant_window` | the participant's window: the emoticon alone (`--screen participant`) |
| `browser` | `BrowserStage`: a participant's browser page as the stage (`--viewer browser`) |
| `control` | `SessionControl`: a live session's pause and end, from any thread |

The `Viewer` protocol and the `Reaction` it returns live in `laetitia.types`. Importing this
package runs nothing: import the module you need.
"""
