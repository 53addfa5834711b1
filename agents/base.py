"""The base of every laetitia agent: settings, persistence, and the loop of our own agents.

Every agent, ours or stable-baselines3's, answers `learn`, `predict`, `save` and `load`, so
`laetitia train` treats them all alike. `BaseAgent` carries what they all share: its settings
(a frozen dataclass, `laetitia.agents.settings`), the seed, and persistence. `Agent` adds the
training loop of laetitia's own agents; an algorithm file implements only its hooks: `_act`
(choose an action while learning), `_observe` (learn from one transition), `_policy` (the
greedy action), and the state it persists (`_state`/`_set_state`, plain JSON plus optional
arrays).

Persistence is a folder: `agent.json` (the agent's name, settings and JSON state) and, when
the agent has arrays, `tensors-<steps>.safetensors`, named in `agent.json`. The tensors are
written first and `agent.json` is replaced atomically last, so a process killed mid-save leaves
the previous complete save. Loading rebuilds the agent from JSON and sets the tensors; nothing
is unpickled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, runtime_checkable

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import Logger

from laetitia.agents.settings import Settings
from laetitia.errors import ConfigError, DiskError, SessionError, VideoEndedError
from laetitia.files import write_bytes_atomic, write_json_atomic
from laetitia.records import from_dict, parse_json
from laetitia.run_settings import STEP_SIZE
from laetitia.sessions.paths import read_inside

if TYPE_CHECKING:
    from laetitia.emoticon.params import ParamSpace
    from laetitia.types import Reaction

AGENT_FILE = "agent.json"
AGENT_FILE_LIMIT = 64 << 20
"""The largest `agent.json` read (64 MiB): an agent's JSON state is far smaller; its arrays are
in its tensors."""
StepInfo = dict[str, Any]
"""The `info` a step of the env returns (the reward's terms, the parameters, the reaction)."""


@runtime_checkable
class EmoticonSteps(Protocol):
    """What the agents need of an emoticon env of either kind (its unwrapped env).

    `laetitia.envs.base.EmoticonEnv` answers it (`laetitia/Smile-v1` and
    `laetitia/SmileDiscrete-v1`); the agents read it through `emoticon_steps`. Catching up on
    recorded steps (`BaseAgent.catch_up`) works out each step's action from it.
    """

    space: ParamSpace
    """The emoticon's parameter space."""
    step_size: float
    """How far one step moves each parameter, as a fraction of its range."""

    def starting_unit(self, options: dict[str, Any] | None = None) -> np.ndarray | None:
        """Normalised parameters an episode starts from with these options; None: at random."""
        ...

    def moved(self, unit: np.ndarray, action: Any) -> np.ndarray:
        """Normalised parameters after `action` from `unit`, as `step` moves them."""
        ...

    def action_between(self, unit: np.ndarray, shown: np.ndarray) -> Any:
        """An action that moves normalised parameters `unit` to `shown`; None if none does."""
        ...


@runtime_checkable
class EmoticonMoves(EmoticonSteps, Protocol):
    """What the agents that choose emoticons need of `laetitia/Smile-v1` (its unwrapped env).

    `laetitia.envs.smile.SmileEnv` answers it; the agents read it through `emoticon_env`.
    """

    def action_towards(self, current: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The action that moves normalised parameters `current` towards `target`."""
        ...


def emoticon_steps(env: gym.Env) -> EmoticonSteps:
    """The emoticon env inside `env` (below its wrappers).

    Raises:
        ConfigError: If `env` is not an emoticon env.
    """
    unwrapped = env.unwrapped
    if not isinstance(unwrapped, EmoticonSteps):
        raise ConfigError(
            f"{type(unwrapped).__name__} is not a laetitia emoticon env: it has no parameter "
            "space, step size or moves to take recorded steps in."
        )
    return unwrapped


def emoticon_env(env: gym.Env) -> EmoticonMoves:
    """The emoticon env inside `env` (below its wrappers), which moves to chosen emoticons.

    Raises:
        ConfigError: If `env` is not an emoticon env with continuous moves.
    """
    unwrapped = env.unwrapped
    if not isinstance(unwrapped, EmoticonMoves):
        raise ConfigError(
            f"{type(unwrapped).__name__} is not laetitia/Smile-v1: it has no parameter space, "
            "step size or action_towards to move to a chosen emoticon."
        )
    return unwrapped


@dataclass(frozen=True)
class AgentDocument:
    """The contents of a saved agent's `agent.json`."""

    agent: str
    """The agent's name (`laetitia.agents.AGENTS`)."""
    settings: dict[str, Any]
    """Every setting, defaults included (the agent's `Settings.to_dict`)."""
    seed: int | None
    """The seed it was built with."""
    num_timesteps: int
    """Environment steps it has learned from."""
    episode: int
    """Episodes it has started."""
    env: dict[str, Any]
    """The environment it was saved with: id, step size, episode length."""
    rng: dict[str, Any]
    """Its random generator's state (numpy's `bit_generator.state`)."""
    state: dict[str, Any]
    """What the algorithm learned, as JSON (`_state`)."""
    tensors: str | None
    """The safetensors file beside it holding the algorithm's arrays, if any."""


def read_agent_document(path: str | Path) -> AgentDocument:
    """The `agent.json` of a saved agent folder, read strictly.

    Raises:
        SessionError: If the folder holds no saved agent, or its `agent.json` is corrupt or
            not an agent's.
    """
    folder = Path(path)
    source = str(folder / AGENT_FILE)
    try:
        text = read_inside(folder, AGENT_FILE, source, limit=AGENT_FILE_LIMIT)
    except FileNotFoundError as error:
        raise SessionError(
            f"no saved agent in {folder}: {AGENT_FILE} is missing. Give the agent folder a "
            "training run wrote (SESSION/agent)."
        ) from error
    except OSError as error:
        raise SessionError(f"{source} cannot be read: {error.strerror or error}.") from error
    data = parse_json(text, source, SessionError, limit=AGENT_FILE_LIMIT)
    return from_dict(AgentDocument, data, source, SessionError)


@dataclass(frozen=True)
class RecordedSteps:
    """Steps a session recorded, for an agent to learn from after a resume (`catch_up`)."""

    params: np.ndarray
    """float64 (n, n_params): raw parameters shown at each step."""
    rewards: np.ndarray
    """float64 (n,): the reward each step was given."""
    scored: np.ndarray
    """bool (n,): whether the step saw a face."""
    episodes: np.ndarray
    """int (n,): the episode each step belongs to."""
    reactions: tuple[Reaction, ...] | None = None
    """Each step's reaction, frame by frame, where the session indexed its frames (agents
    that read frames, not only the reward, need them to take a step in as it was taken)."""

    @property
    def n_steps(self) -> int:
        """Number of steps recorded."""
        return int(self.rewards.shape[0])

    def starts_episode(self, step: int) -> bool:
        """Whether `step` is the first of its episode."""
        return step == 0 or bool(self.episodes[step] != self.episodes[step - 1])

    def info(self, step: int) -> dict[str, Any]:
        """The `info` the env gave at `step`, as far as an agent reads it."""
        scored = bool(self.scored[step])
        reward = float(self.rewards[step])
        return {
            "params": self.params[step],
            "reward": reward,
            "happiness": reward if scored else float("nan"),
            "scored": scored,
            "reaction": None if self.reactions is None else self.reactions[step],
        }


def later_seed(seed: int | None, num_timesteps: int) -> int | None:
    """A seed for a reset part-way through a run, distinct from the first one.

    A resumed agent must not replay the environment's random streams from the start.
    """
    if seed is None:
        return None
    return int(np.random.default_rng([seed, num_timesteps]).integers(2**31 - 1))


class BaseAgent:
    """What every laetitia agent shares: checked settings, a seed, an env, persistence.

    Subclasses set `name` and `settings_class`, narrow `settings` to that class, and define
    `num_timesteps` (steps taken so far), `learn` and `predict`.

    Args:
        env: The environment to learn on; may be None for an agent loaded only to predict.
        seed: Seeds the agent's own random generator.
        settings: The algorithm's settings (an instance of `settings_class`); None: the
            defaults.
        **changes: Settings by name, over `settings` (as `Settings.replace` takes them).

    Raises:
        ConfigError: For settings of another agent, a name no setting has, or a value not of
            its setting's type or out of its range.
    """

    name: ClassVar[str]
    """The name `laetitia train --agent` uses."""
    settings_class: ClassVar[type[Settings]] = Settings
    """The dataclass of the algorithm's settings."""
    settings: Settings
    """The algorithm's settings (subclasses narrow the type to their `settings_class`)."""
    preferred_step_size: ClassVar[float] = STEP_SIZE
    """The env `step_size` the agent runs with unless told otherwise (`--step-size`)."""
    takes_prior: ClassVar[bool] = False
    """Whether the agent can start from a prior learned from other people
    (`laetitia.app.prior`): built with `prior_mean=` and `warm_start=`, loaded with
    `prior_mean=`."""
    logs_tensorboard: ClassVar[bool] = False
    """Whether the agent logs its own training statistics (`log_to_tensorboard`), beside the
    steps every agent's run logs (`laetitia.app.tensorboard`)."""
    checkpoint_every: ClassVar[int] = 1
    """Steps between the saves that let a killed run resume (`AgentCheckpoint`); 0 saves
    after each policy update instead, for agents that learn only between rollouts."""
    num_timesteps: int
    """Environment steps taken so far, across every `learn` call and resume."""

    def __init__(
        self,
        env: gym.Env | None,
        seed: int | None = None,
        settings: Settings | None = None,
        **changes: Any,
    ) -> None:
        if settings is None:
            settings = self.settings_class.from_dict(changes)
        elif type(settings) is not self.settings_class:
            raise ConfigError(
                f"agent {self.name!r} takes its settings as {self.settings_class.__name__}, "
                f"not {type(settings).__name__}.",
                field="agent_args",
            )
        else:
            settings = settings.replace(**changes)
        self.settings = settings
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.env = env
        self.episode = 0
        self.env_config: dict[str, Any] = {}
        """The env the agent was saved with (id, step size, episode length), when known."""
        if env is not None:
            self._check_env(env)

    def _check_env(self, env: gym.Env) -> None:
        """Refuse an environment the algorithm cannot drive (override where it matters)."""

    def observed(self, env: gym.Env) -> gym.Env:
        """`env` as this agent observes it: the env itself, or wrapped as a setting asks.

        The agent's own `env` is already observed so; anything else that runs the agent's
        policy in an env (`laetitia.app.evaluation.evaluate`) steps the env this returns.
        """
        return env

    def get_env(self) -> gym.Env | None:
        """The environment (stable-baselines3's callback contract asks for it)."""
        return self.env

    def learn(
        self, total_timesteps: int, callback: BaseCallback | list[BaseCallback] | None = None
    ) -> Self:
        """Take `total_timesteps` more steps in the environment, learning as it goes."""
        raise NotImplementedError

    def predict(
        self,
        observation: np.ndarray,
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[Any, tuple[np.ndarray, ...] | None]:
        """The action for an observation: greedy when deterministic, exploring otherwise."""
        raise NotImplementedError

    def _check_learn(self, total_timesteps: int) -> gym.Env:
        """Refuse a `learn` call that cannot run; the env to learn on.

        Raises:
            ConfigError: If `total_timesteps` is not positive or the agent has no env.
        """
        if total_timesteps < 1:
            raise ConfigError(f"the number of steps must be at least 1, got {total_timesteps}.")
        if self.env is None:
            raise ConfigError(f"agent {self.name!r} has no environment; load it with env=...")
        return self.env

    def reset_options(self) -> dict[str, Any] | None:
        """Options for `env.reset` at the start of an episode (where the agent starts)."""
        return None

    def best_params(self) -> np.ndarray | None:
        """Raw parameters of the emoticon the agent thinks best so far; None if it has no view.

        An agent's own estimate (an incumbent, a search mean, a model's prediction), never
        simply the emoticon of its luckiest reading.
        """
        return None

    def responds(self) -> bool | None:
        """Whether the person's face answers the emoticons reliably, as far as the agent says.

        False is the agent's explicit "no reliable reaction": no emoticon it has shown lifts
        the reading beyond what the person's face does anyway, and its `best_params` is then no
        favourite, only the emoticon it would show. True: the readings rise where the agent
        recommends. None: the agent gives no verdict (the default).
        """
        return None

    def reaction_evidence(self) -> float | None:
        """The statistic `responds` is a threshold on (larger: surer the person reacts).

        None for an agent that gives no verdict; NaN while it has too little to go on.
        """
        return None

    def catch_up(self, recorded: RecordedSteps) -> int:
        """Learn from the recorded steps after the agent's own count, as if it had taken them.

        A session is on disk step by step and the agent is saved after each step: a process
        killed between the two leaves the agent behind the session. On resume the agent takes
        in the steps it missed, so the two agree again.

        Returns:
            How many steps it caught up on (0 when it is not behind).

        Raises:
            SessionError: If the agent cannot learn from recorded steps, or is ahead of them.
        """
        missing = recorded.n_steps - self.num_timesteps
        if missing < 0:
            raise SessionError(
                f"agent {self.name!r} has learned from {self.num_timesteps} steps but the "
                f"session records {recorded.n_steps}; the agent's save is from a later point "
                "than the session (a session repaired back to fewer steps, or a mixed-up copy)."
            )
        if missing:
            raise SessionError(
                f"agent {self.name!r} was saved {missing} step(s) behind the session and cannot "
                "learn from recorded steps."
            )
        return 0

    def log_to_tensorboard(self, folder: Path, run: str | None = None) -> None:
        """Write training statistics for TensorBoard under `folder`, as the run `run`.

        Raises:
            ConfigError: This agent does not log to TensorBoard.
        """
        raise ConfigError(
            f"agent {self.name!r} does not log to TensorBoard; only the stable-baselines3 "
            "agents (ppo, dqn) do.",
            field="tensorboard",
        )

    # ----- persistence ------------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What the agent has learned: JSON-able data and named arrays."""
        return {}, {}

    def _set_state(self, data: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what `_state` returned (`num_timesteps` and `episode` are already set)."""

    def save(self, path: str | Path) -> None:
        """Write the agent to the folder `path` (settings and state as JSON, arrays as tensors).

        Raises:
            SessionError: If the folder cannot be written (the disk is full, say): the message
                names the file, and the previous save in the folder is still complete.
        """
        from safetensors.numpy import save

        folder = Path(path)
        data, arrays = self._state()
        steps = self.saved_timesteps()
        tensors = f"tensors-{steps}.safetensors" if arrays else None
        document = AgentDocument(
            agent=self.name,
            settings=self.settings.to_dict(),
            seed=self.seed,
            num_timesteps=steps,
            episode=self.episode,
            env=self._env_config(),
            rng=dict(self.rng.bit_generator.state),
            state=data,
            tensors=tensors,
        )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if tensors is not None:
                # On disk before agent.json names it: a power cut must not leave a dangling name.
                # Serialised in memory, so a failed write is an OSError naming the file.
                data_bytes = save({k: np.ascontiguousarray(v) for k, v in arrays.items()})
                write_bytes_atomic(folder / tensors, data_bytes)
            write_json_atomic(folder / AGENT_FILE, asdict(document))
        except DiskError as error:
            raise SessionError(
                f"cannot save the agent: {error} Its previous save in {folder} is still "
                "complete: resume the session once there is room."
            ) from error
        except OSError as error:
            raise SessionError(
                f"cannot save the agent to {folder}: {error.strerror or error}. The previous "
                "save is still complete there; make room and resume the session."
            ) from error
        for stale in folder.glob("tensors-*.safetensors"):
            if stale.name != tensors:
                stale.unlink()

    def saved_timesteps(self) -> int:
        """The step count a save records: every step taken.

        An algorithm that learns from some steps only later (PPO's rollout in progress)
        records fewer, and a resume takes those steps back in from the session (`catch_up`).
        """
        return self.num_timesteps

    def _env_config(self) -> dict[str, Any]:
        if self.env is None:
            return self.env_config
        env = self.env
        spec = env.spec
        return {
            "id": None if spec is None else spec.id,
            "step_size": getattr(env.unwrapped, "step_size", None),
            "max_episode_steps": None if spec is None else spec.max_episode_steps,
        }

    @classmethod
    def _check_saved(cls, document: AgentDocument, folder: Path) -> None:
        """Refuse a saved agent whose settings would make loading it read elsewhere.

        A saved agent is data from a session folder: an algorithm whose settings may name a
        file (Q-learning's `start_from`) refuses such a name here. None do by default.

        Raises:
            SessionError: Naming the setting and the file.
        """

    @classmethod
    def load(cls, path: str | Path, env: gym.Env | None = None) -> Self:
        """Rebuild an agent saved with `save`, optionally attached to an environment.

        Raises:
            SessionError: If the folder holds no agent, an agent of another kind, or settings
                this version of the agent does not take.
        """
        from safetensors import SafetensorError
        from safetensors.numpy import load

        folder = Path(path)
        document = read_agent_document(folder)
        cls._check_saved(document, folder)
        if document.agent != cls.name:
            raise SessionError(f"{folder} holds a {document.agent!r} agent, not {cls.name!r}.")
        try:
            settings = cls.settings_class.from_dict(document.settings)
        except ConfigError as error:
            raise SessionError(
                f"{folder / AGENT_FILE}: {error} It was saved by another version of laetitia."
            ) from error
        agent = cls(env, seed=document.seed, settings=settings)
        agent.num_timesteps = document.num_timesteps
        agent.episode = document.episode
        agent.env_config = document.env
        # The tensors file agent.json names must be a file of the folder: never a path out of it.
        tensors = None
        if document.tensors:
            try:
                tensors = read_inside(folder, document.tensors, f"{folder / AGENT_FILE}: tensors")
            except OSError as error:
                raise _corrupt(folder, error) from error
        try:
            agent.rng.bit_generator.state = document.rng
            arrays = load(tensors) if tensors is not None else {}
            agent._set_state(document.state, arrays)
        except (OSError, ValueError, KeyError, TypeError, IndexError, SafetensorError) as error:
            raise _corrupt(folder, error) from error
        return agent


def _corrupt(folder: Path, error: BaseException) -> SessionError:
    """A saved agent whose files cannot be read back, said in one line."""
    return SessionError(
        f"the saved agent in {folder} cannot be restored ({type(error).__name__}: {error}); its "
        "files are damaged or from another version of laetitia. Restore the folder from a copy, "
        "or start a new session."
    )


class Agent(BaseAgent):
    """laetitia's own agents: one environment, one transition at a time.

    The loop calls `_act` for an action, steps the env, hands the transition to `_observe`,
    and reports each step to stable-baselines3-style callbacks (`locals`: `infos`, `dones`,
    `rewards`), so the session recorder serves these agents and SB3's alike.
    """

    def __init__(
        self,
        env: gym.Env | None,
        seed: int | None = None,
        settings: Settings | None = None,
        **changes: Any,
    ) -> None:
        super().__init__(env, seed, settings, **changes)
        self.num_timesteps = 0
        self.logger = Logger(folder=None, output_formats=[])
        self._obs: np.ndarray | None = None

    # ----- the hooks an algorithm implements -------------------------------------------------
    def _act(self, obs: np.ndarray) -> Any:
        """The action to take while learning."""
        raise NotImplementedError

    def _observe(
        self, obs: np.ndarray, action: Any, reward: float, next_obs: np.ndarray, info: StepInfo
    ) -> None:
        """Learn from one transition."""

    def _policy(self, obs: np.ndarray) -> Any:
        """The greedy action (what `predict(deterministic=True)` returns)."""
        raise NotImplementedError

    def catch_up(self, recorded: RecordedSteps) -> int:
        """Learn from the recorded steps the agent missed (see `BaseAgent.catch_up`).

        Each missed step is chosen again with `_act` from the agent's own state (its random
        generator included, so it proposes what it proposed then), checked against the
        emoticon the session recorded, and learned from with `_observe`.

        Raises:
            SessionError: If the agent is ahead of the session, the env starts episodes at
                random, or a step it chooses again is not the emoticon the session recorded.
        """
        start = self.num_timesteps
        if recorded.n_steps <= start:
            return super().catch_up(recorded)
        if self.env is None:
            raise ConfigError(f"agent {self.name!r} has no environment; load it with env=...")
        env = emoticon_steps(self.env)
        space = env.space
        if not recorded.starts_episode(start):  # the emoticon on show when the agent stopped
            shown = space.normalize(space.clip(recorded.params[start - 1]))
            obs = np.append(shown, recorded.rewards[start - 1]).astype(np.float32)
        for step in range(start, recorded.n_steps):
            if recorded.starts_episode(step):
                unit = env.starting_unit(self.reset_options())
                if unit is None:
                    raise SessionError(
                        "the env starts episodes from random emoticons: the agent cannot "
                        "catch up on recorded steps."
                    )
                obs = np.append(unit, 0.0).astype(np.float32)
            action = self._act(obs)
            shown = space.normalize(space.clip(recorded.params[step]))
            if not np.allclose(env.moved(obs[:-1], action), shown, atol=1e-6):
                raise SessionError(
                    f"step {step} of the session is not the emoticon agent {self.name!r} chooses "
                    "from its saved state: the session and the agent do not belong together."
                )
            next_obs = np.append(shown, recorded.rewards[step]).astype(np.float32)
            self.num_timesteps += 1
            self._observe(obs, action, float(recorded.rewards[step]), next_obs, recorded.info(step))
            if step + 1 < recorded.n_steps and recorded.starts_episode(step + 1):
                self.episode += 1
            obs = next_obs
        self._obs = None  # a resumed run starts a new episode
        return recorded.n_steps - start

    def _move(self, current: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The `laetitia/Smile-v1` action from normalised parameters `current` to `target`.

        Raises:
            ConfigError: If the agent has no environment to act in.
        """
        if self.env is None:
            raise ConfigError(
                f"agent {self.name!r} needs its env to turn an emoticon into an action; "
                "load it with env=..."
            )
        return emoticon_env(self.env).action_towards(current, target)

    # ----- the stable-baselines3-shaped interface --------------------------------------------
    def learn(
        self, total_timesteps: int, callback: BaseCallback | list[BaseCallback] | None = None
    ) -> Self:
        """Interact with the environment for `total_timesteps` steps, learning as it goes.

        A second call continues where the first stopped (same episode, same emoticon).

        Raises:
            ConfigError: If `total_timesteps` is not positive or the agent has no env.
        """
        env = self._check_learn(total_timesteps)
        callback = self._init_callback(callback)
        callback.on_training_start(locals(), globals())
        if self._obs is None:
            seed = (
                self.seed if self.num_timesteps == 0 else later_seed(self.seed, self.num_timesteps)
            )
            self._obs, _ = env.reset(seed=seed, options=self.reset_options())
        for _ in range(total_timesteps):
            obs = self._obs
            action = self._act(obs)
            next_obs, reward, terminated, truncated, info = env.step(action)
            if info.get("recording_over"):
                raise VideoEndedError(info["recording_over"])  # nothing was shown: no step
            self.num_timesteps += 1
            self._observe(obs, action, float(reward), next_obs, info)
            done = terminated or truncated
            callback.update_locals(
                {"infos": [info], "dones": np.array([done]), "rewards": np.array([reward])}
            )
            self._obs = next_obs
            if done:
                self.episode += 1
                self._obs, _ = env.reset(options=self.reset_options())
            if not callback.on_step():
                break
        callback.on_training_end()
        return self

    def predict(
        self,
        observation: np.ndarray,
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[Any, tuple[np.ndarray, ...] | None]:
        """The action for an observation: greedy when deterministic, exploring otherwise."""
        obs = np.asarray(observation, dtype=np.float64)
        return (self._policy(obs) if deterministic else self._act(obs)), state

    def _init_callback(self, callback: BaseCallback | list[BaseCallback] | None) -> BaseCallback:
        if callback is None:
            callback = []
        if isinstance(callback, list):
            callback = CallbackList(callback)
        # SB3 types a callback's model as its BaseAlgorithm; callbacks read only what every
        # laetitia agent answers of it (num_timesteps, logger, get_env, save).
        callback.init_callback(self)  # type: ignore[arg-type]
        return callback
