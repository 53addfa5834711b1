"""Shared machinery of the smile environments; concrete envs only say how an action moves params."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec

from laetitia.emoticon.params import PARAM_SPACE, ParamSpace
from laetitia.emoticon.render import render
from laetitia.emoticon.window import EmoticonWindow
from laetitia.errors import ConfigError, VideoEndedError
from laetitia.reward import reward_from
from laetitia.run_settings import RUN_DEFAULTS, STEP_SIZE, RunSettings
from laetitia.types import FER_HAPPY, Viewer
from laetitia.viewers.control import SessionControl
from laetitia.viewers.spec import make_viewer
from laetitia.viewers.stage import Screen, parse_screen

START_STATES = ("default", "random")


class EmoticonEnv(gym.Env[np.ndarray, Any]):
    """Show an emoticon, read the viewer's reaction, reward its happiness.

    Subclasses build `self.action_space` and implement `_delta(action)`, the change of the
    normalised parameters an action asks for.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 4}
    _spec: EnvSpec | None = None

    def __init__(
        self,
        viewer: Viewer | str = "sim",
        frames: int = RUN_DEFAULTS.frames,
        settle_s: float = RUN_DEFAULTS.settle_s,
        camera_fps: float = RUN_DEFAULTS.camera_fps,
        step_size: float = STEP_SIZE,
        start: str = "default",
        image_size: int = 256,
        render_mode: str | None = None,
        space: ParamSpace = PARAM_SPACE,
        detector: str | None = None,
        model: str | Path | None = None,
        profile: str | Path | None = None,
        window: bool | None = None,
        signal: str | None = None,
        default_signal: str = FER_HAPPY,
        screen: Screen | str | None = None,
        control: SessionControl | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(
                f"render_mode {render_mode!r} is not one of {self.metadata['render_modes']}."
            )
        RunSettings(  # checks each
            frames=frames, settle_s=settle_s, camera_fps=camera_fps, step_size=step_size
        )
        if start not in START_STATES:
            raise ConfigError(f"start {start!r} is not one of {START_STATES}.")
        self.space = space
        if isinstance(viewer, str):
            self.viewer = make_viewer(
                viewer,
                frames=frames,
                settle_s=settle_s,
                camera_fps=camera_fps,
                detector=detector,
                model=model,
                profile=profile,
                window=window,
                signal=signal,
                default_signal=default_signal,
                screen=parse_screen(screen) if isinstance(screen, str) else screen,
                control=control,
            )
        else:
            given = {
                "detector": detector,
                "model": model,
                "profile": profile,
                "window": window,
                "screen": screen,
                "control": control,
            }
            named = sorted(k for k, v in given.items() if v is not None)
            if named:
                raise ConfigError(
                    f"{', '.join(named)} choose how a viewer built from a spec string reads "
                    "faces and shows itself; this env was given a viewer object: build it with "
                    "them instead."
                )
            own = getattr(viewer, "signal", FER_HAPPY)
            if signal is not None and signal != own:
                raise ConfigError(
                    f"signal {signal} was asked of a viewer object that gives {own}; "
                    "build the viewer with that signal, or ask for its own.",
                    field="signal",
                )
            self.viewer = viewer
        # A viewer object that declares no signal gives P(happy) (a `Reaction`'s default).
        self.signal: str = getattr(self.viewer, "signal", FER_HAPPY)
        """The name of the smile signal the reward averages (`laetitia.signals`)."""
        self.step_size = step_size
        self.settle_s = float(getattr(self.viewer, "settle_s", settle_s))
        """Seconds between an emoticon's appearance and its first frame (the viewer's own)."""
        self.camera_fps = float(getattr(self.viewer, "camera_fps", camera_fps))
        """Frames per second a viewer without a clock is taken to read at."""
        self.start = start
        self.image_size = image_size
        self.render_mode = render_mode
        n = len(space)
        self.observation_space = gym.spaces.Box(
            low=np.array([-1.0] * n + [0.0], dtype=np.float32),
            high=np.array([1.0] * n + [1.0], dtype=np.float32),
            dtype=np.float32,
        )
        self._unit = np.zeros(n)
        self._last_reward = 0.0
        self._recording_over: str | None = None
        self._window: EmoticonWindow | None = None

    @property
    def spec(self) -> EnvSpec | None:
        """The env's spec; marked nondeterministic when the viewer is a person, however made."""
        return self._spec

    @spec.setter
    def spec(self, value: EnvSpec | None) -> None:
        if value is not None and self.viewer.nondeterministic and not value.nondeterministic:
            value = dataclasses.replace(value, nondeterministic=True)
        self._spec = value

    @property
    def params(self) -> np.ndarray:
        """Raw parameters of the emoticon on show."""
        return self.space.denormalize(self._unit)

    def _delta(self, action: Any) -> np.ndarray:
        """Change of the normalised parameters that `action` asks for."""
        raise NotImplementedError

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start from the original emoticon (or a random one) with no reward read yet.

        `options={"params": raw_vector}` starts from the given emoticon instead.
        """
        if self._recording_over is not None:
            raise VideoEndedError(
                f"the recording is over: {self._recording_over} Make a new env with a longer "
                "recording (or another viewer) to go on."
            )
        super().reset(seed=seed)
        self.viewer.reset(seed=int(self.np_random.integers(2**31 - 1)))
        start = self.starting_unit(options)
        if start is None:
            start = self.np_random.uniform(-1.0, 1.0, size=len(self.space))
        self._unit = start
        self._last_reward = 0.0
        return self._observation(), {"params": self.params}

    def starting_unit(self, options: dict[str, Any] | None = None) -> np.ndarray | None:
        """Normalised parameters an episode starts from with these reset options.

        None when the env starts from random parameters (drawn at `reset`).
        """
        if options and "params" in options:
            return self.space.normalize(self.space.clip(options["params"]))
        if self.start == "random":
            return None
        return self.space.normalize(self.space.defaults)

    def moved(self, unit: np.ndarray, action: Any) -> np.ndarray:
        """Normalised parameters after `action` from `unit`, as `step` moves them."""
        return np.clip(unit + self._delta(action), -1.0, 1.0)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move the parameters, show the emoticon, and reward the viewer's happiness."""
        self._unit = self.moved(self._unit, action)
        params = self.params
        image = self._draw() if self.viewer.needs_image or self.render_mode == "human" else None
        if self.render_mode == "human":
            self._show(image)
        try:
            reaction = self.viewer.react(image, params)
        except VideoEndedError as ended:
            return self._end_of_recording(params, str(ended))
        terms = reward_from(reaction, previous_reward=self._last_reward)
        self._last_reward = terms.reward
        self.viewer.show_reward(terms.reward, terms.scored)
        info = {"params": params, "reaction": reaction, **terms.as_info()}
        return self._observation(), terms.reward, False, False, info

    def _end_of_recording(
        self, params: np.ndarray, reason: str
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """A recording standing in for a camera ran out: the episode is truncated, unshown.

        Nothing was read for `params`: the step is unscored, `info["reaction"]` is None and
        `info["recording_over"]` says why; the next `reset` says the recording is over.
        """
        self._recording_over = reason
        info = {
            "params": params,
            "reaction": None,
            "reward": self._last_reward,
            "happiness": float("nan"),
            "frames": 0,
            "faces": 0,
            "scored": False,
            "signal": self.signal,
            "recording_over": reason,
        }
        return self._observation(), self._last_reward, False, True, info

    def render(self) -> np.ndarray | None:
        """The emoticon on show as RGB (`rgb_array`), or drawn in a window (`human`)."""
        if self.render_mode == "rgb_array":
            return self._draw()
        if self.render_mode == "human":
            self._show(self._draw())
        return None

    def close(self) -> None:
        """Close the window and release the viewer."""
        if self._window is not None:
            self._window.close()
            self._window = None
        self.viewer.close()

    def _observation(self) -> np.ndarray:
        # The shown emoticon normalised from its raw parameters, as a session records them, so
        # an agent catching up from the session sees what it saw live: float32(self._unit) can
        # round the other way when the unit lies on a float32 tie.
        return np.append(self.space.normalize(self.params), self._last_reward).astype(np.float32)

    def _draw(self) -> np.ndarray:
        return render(self.params, self.image_size, self.space)

    def _show(self, image: np.ndarray | None) -> None:
        if self._window is None:
            self._window = EmoticonWindow("laetitia")
        self._window.show(image if image is not None else self._draw())
