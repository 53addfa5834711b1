"""The settings of a run are declared once (`laetitia.run_settings`), and every run reads them."""

import ast
import inspect
from pathlib import Path

import gymnasium as gym
import pytest

from laetitia.app.bench_agents import BenchConfig
from laetitia.app.evaluation import EvaluationConfig
from laetitia.app.training import TrainConfig
from laetitia.app.tune import TuneConfig
from laetitia.cli import build_parser
from laetitia.envs.base import EmoticonEnv
from laetitia.envs.make import make_env
from laetitia.errors import ConfigError
from laetitia.run_settings import RUN_DEFAULTS, RunSettings
from laetitia.viewers.spec import make_viewer

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ("frames", "settle_s", "max_episode_steps", "episode_steps", "frames_per_call")
"""Names under which a run setting's default could be written again."""


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"frames": 0}, "frames"),
        ({"max_episode_steps": 0}, "max_episode_steps"),
        ({"settle_s": float("nan")}, "settle_s"),
        ({"settle_s": -1.0}, "settle_s"),
        ({"step_size": 0.0}, "step_size"),
        ({"step_size": 1.5}, "step_size"),
    ],
)
def test_a_setting_out_of_range_is_an_error_naming_its_field(changes, field):
    with pytest.raises(ConfigError) as refused:
        RunSettings(**changes)
    assert refused.value.field == field and str(refused.value).startswith(field)


def test_the_registration_the_cli_and_every_config_default_to_the_same_settings():
    train = build_parser().parse_args(["train", "--out", "x"])
    evaluate = build_parser().parse_args(["evaluate", "--agent-path", "a"])
    config = TrainConfig(out=Path("x"))
    # The same objects, not equal literals: 0.5 written twice would be two floats.
    assert train.settle_s is RUN_DEFAULTS.settle_s is config.settle_s
    assert evaluate.settle_s is RUN_DEFAULTS.settle_s
    assert EvaluationConfig(agent_path=Path("a")).settle_s is RUN_DEFAULTS.settle_s
    assert inspect.signature(EmoticonEnv).parameters["settle_s"].default is RUN_DEFAULTS.settle_s
    assert inspect.signature(make_viewer).parameters["settle_s"].default is RUN_DEFAULTS.settle_s
    for env_id in ("laetitia/Smile-v0", "laetitia/SmileDiscrete-v0"):
        assert gym.spec(env_id).max_episode_steps == RUN_DEFAULTS.max_episode_steps
    assert train.max_episode_steps == config.max_episode_steps == RUN_DEFAULTS.max_episode_steps
    assert train.frames == config.frames == RUN_DEFAULTS.frames
    for other in (
        BenchConfig(agents=("hill-climb",)),
        TuneConfig("cma-es", ("sigma=0.1:0.8",), "t"),
    ):
        assert other.frames == RUN_DEFAULTS.frames
        assert other.max_episode_steps == RUN_DEFAULTS.max_episode_steps


def _number(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _literal_defaults(path: Path) -> list[str]:
    """Parameters and dataclass fields named for a run setting with a number as default."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args.args + node.args.kwonlyargs
            missing = [None] * (len(node.args.args) - len(node.args.defaults))
            defaults = [*missing, *node.args.defaults, *node.args.kw_defaults]
            pairs = zip(arguments, defaults, strict=True)
            found += [
                f"{path.name}:{node.lineno} {arg.arg}"
                for arg, default in pairs
                if arg.arg in SETTINGS and _number(default)
            ]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if node.target.id in SETTINGS and _number(node.value):
                found.append(f"{path.name}:{node.lineno} {node.target.id}")
    return found


def test_no_default_of_a_run_setting_is_written_outside_the_run_settings():
    sources = [
        p for folder in ("laetitia", "envs", "agents") for p in (ROOT / folder).rglob("*.py")
    ]
    # A calibration's settle is its own: the seconds of each prompt that are not used.
    apart = (ROOT / "laetitia" / "run_settings.py", ROOT / "laetitia" / "app" / "calibration")
    written = [
        found
        for path in sources
        if not any(path == p or p in path.parents for p in apart)
        for found in _literal_defaults(path)
    ]
    assert written == []


def test_the_env_is_built_in_one_place():
    """No application module calls `gym.make` itself: they all build through `make_env`."""
    calls = []
    for path in (ROOT / "laetitia" / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("gym.make"):
                calls.append(f"{path.name}:{node.lineno}")
    assert calls == []


def test_make_env_passes_each_run_setting_where_the_env_takes_it():
    run = RunSettings(frames=3, settle_s=0.0, max_episode_steps=4, step_size=0.25)
    env = make_env("laetitia/Smile-v0", "sim:2", run)
    assert env.spec.max_episode_steps == 4
    assert env.unwrapped.step_size == 0.25 and env.unwrapped.viewer.frames == 3
    env.reset(seed=0)
    truncated = [env.step(env.action_space.sample())[3] for _ in range(4)]
    assert truncated == [False, False, False, True]
    # A viewer that reads no face takes no face pipeline: none is passed to it.
    assert make_env("laetitia/Smile-v0", "sim", RunSettings(detector="haar")).unwrapped.viewer
    # Without a step size, the env keeps its own default.
    assert make_env("laetitia/Smile-v0", "sim", RUN_DEFAULTS).unwrapped.step_size == 0.1


def test_a_training_is_a_run_with_its_own_settings_added():
    config = TrainConfig(out=Path("x"), frames=4, max_episode_steps=9, detector="haar")
    assert config.run_settings() == RunSettings(frames=4, max_episode_steps=9, detector="haar")
    with pytest.raises(ConfigError) as refused:
        TrainConfig(out=Path("x"), max_episode_steps=0)
    assert refused.value.field == "max_episode_steps"


def test_the_signal_is_one_run_setting_from_the_cli_to_the_env(tmp_path, capsys):
    from laetitia.cli import main

    train = build_parser().parse_args(["train", "--out", "x", "--signal", "fer-smile"])
    evaluate = build_parser().parse_args(["evaluate", "--agent-path", "a", "--signal", "smile"])
    assert train.signal == "fer-smile" and evaluate.signal == "smile"
    assert RUN_DEFAULTS.signal is None and TrainConfig(out=Path("x")).signal is None
    assert TrainConfig(out=Path("x"), signal="smile").to_json()["signal"] == "smile"
    assert EvaluationConfig(agent_path=Path("a"), signal="smile").run_settings({}).signal == "smile"
    env = make_env("laetitia/Smile-v1", "sim:2", RunSettings(signal="fer-happy"))
    assert env.unwrapped.signal == "fer-happy"
    # A signal a simulated viewer cannot give: refused by its flag, before anything is written.
    out = tmp_path / "run"
    assert main(["train", "--viewer", "sim", "--signal", "smile", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "--signal smile cannot be read off a simulated viewer" in error
    assert not out.exists()
