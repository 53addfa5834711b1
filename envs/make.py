"""The one way a run builds its environment: an env id, a viewer, and the run's settings.

    env = make_env("laetitia/Smile-v0", "video:me.mp4", RunSettings(frames=5, detector="haar"))

It is `gymnasium.make` with each run setting passed where the env takes it: frames, settle and
step size to the env, the episode length as Gymnasium's time limit, the signal to every viewer
(a simulated one refuses any other than its own), and the face pipeline (detector, FER model,
profile, window) only to a viewer that reads a face from a spec string (any other viewer has no
use for it).
Training, evaluation and the agents' bench build their envs here, so a new run setting reaches
every one of them by being passed on here once.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from laetitia.run_settings import RunSettings
from laetitia.types import Viewer
from laetitia.viewers.control import SessionControl
from laetitia.viewers.spec import FACE_KINDS, parse_viewer_spec
from laetitia.viewers.stage import Screen


def make_env(
    env_id: str,
    viewer: str | Viewer,
    run: RunSettings,
    window: bool | None = None,
    screen: Screen | None = None,
    control: SessionControl | None = None,
) -> gym.Env:
    """Build a laetitia env for a run, as `gymnasium.make` builds it.

    Args:
        env_id: A registered laetitia env id (`laetitia.envs.registration.ENV_IDS`).
        viewer: A viewer spec string (`sim:3`, `webcam`, `video:PATH`, ...) or a viewer
            already built (frames and settle are then the viewer's own).
        run: The run's settings; a `step_size` of None leaves the env's default (`STEP_SIZE`).
        window: Show the live window of a webcam or video viewer; None: the viewer's default.
        screen: Which window a webcam or video viewer shows (`laetitia.viewers.stage`); None:
            the live window.
        control: The pause and end of a webcam's or video's window, shared with a dashboard.

    Raises:
        ViewerSpecError: For a spec string that names no viewer.
        ConfigError: For a detector or signal that does not exist, or a signal the viewer
            cannot give.
        ProfileError: For a profile that is unreadable or made for another model.
    """
    options: dict[str, Any] = {
        "frames": run.frames,
        "settle_s": run.settle_s,
        "max_episode_steps": run.max_episode_steps,
    }
    if run.step_size is not None:
        options["step_size"] = run.step_size
    if run.signal is not None:
        options["signal"] = run.signal
    if isinstance(viewer, str) and parse_viewer_spec(viewer).kind in FACE_KINDS:
        options.update(detector=run.detector, model=run.model, profile=run.profile, window=window)
        options.update(screen=screen, control=control)
    return gym.make(env_id, viewer=viewer, **options)
