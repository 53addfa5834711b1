import math
import shutil
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.image import AxesImage

from laetitia.agents import AGENTS
from laetitia.app import plots
from laetitia.app.training import TrainConfig, train
from laetitia.cli import main
from laetitia.emoticon.params import PARAM_SPACE
from laetitia.errors import ConfigError, SessionError
from laetitia.files import save_figure
from laetitia.labels import EMOTIONS, HAPPY
from laetitia.sessions import (
    FRAMES_FILE,
    SessionRecorder,
    load_session,
    load_sessions,
    new_meta,
    sessions_dir,
)
from laetitia.types import Reaction
from laetitia.viewers.simulated import SimulatedViewer

STEPS = 40
SECOND_AGENT = "hill-climb-remeasure"
NO_FACE = {5, 6, 7, 20}
FRAMES = 4
BLINK = (12, 1)
"""(step, frame): the one frame without a face in an otherwise scored step."""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three hill-climb sessions and two of a second agent name (the same climber, remeasuring)."""
    root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(AGENTS, SECOND_AGENT, AGENTS["hill-climb"])
        for seed in range(3):
            config = TrainConfig(out=root / f"hc-{seed}", viewer="sim:1", steps=STEPS, seed=seed)
            train(config, progress=False)
        for seed in range(2):
            config = TrainConfig(
                out=root / "second" / f"rm-{seed}",
                agent=SECOND_AGENT,
                viewer="sim:1",
                steps=STEPS + 10,
                seed=seed,
                agent_args={"remeasure_every": 5},
            )
            train(config, progress=False)
    return root


@pytest.fixture(scope="module")
def blinking(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session whose viewer looked away on the steps in NO_FACE and for one frame of step 12."""
    folder = tmp_path_factory.mktemp("blinking") / "session"
    viewer = SimulatedViewer(seed=2, frames=FRAMES)
    rng = np.random.default_rng(0)
    with SessionRecorder(folder, new_meta(agent="random", viewer=viewer.describe())) as recorder:
        for step in range(30):
            params = PARAM_SPACE.denormalize(rng.uniform(-1, 1, len(PARAM_SPACE)))
            reaction = viewer.react(None, params)
            face = np.ones(FRAMES, dtype=bool)
            if step in NO_FACE:
                face[:] = False
            elif step == BLINK[0]:
                face[BLINK[1]] = False
            probs = np.where(face[:, None], reaction.probs, np.nan).astype(np.float32)
            reaction = Reaction(probs=probs, has_face=face)
            reward = float(np.nanmean(reaction.happiness())) if reaction.n_faces else 0.0
            recorder.record(0, reward, params, reaction)
    return folder


@pytest.fixture(scope="module")
def blinking_without_frames(blinking: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same session as recorded before frames were indexed: no frames.csv."""
    folder = tmp_path_factory.mktemp("old") / "session"
    shutil.copytree(blinking, folder)
    (folder / FRAMES_FILE).unlink()
    return folder


def test_mean_band_is_the_t_interval_of_the_mean_over_the_curves_present() -> None:
    band = plots.mean_band([np.array([1.0, 2.0, 3.0]), np.array([3.0, 4.0, np.nan, 9.0])])
    np.testing.assert_allclose(band.mean, [2.0, 3.0, 3.0, 9.0])
    np.testing.assert_array_equal(band.count, [2, 2, 1, 1])
    # two curves: sd = √2, sem = 1, so the half-width is t(0.975, 1)
    np.testing.assert_allclose(band.high[:2] - band.mean[:2], 12.706204736)  # t(0.975, 1)
    np.testing.assert_allclose(band.mean[:2] - band.low[:2], 12.706204736)
    assert np.isnan(band.low[2:]).all() and np.isnan(band.high[2:]).all()


def test_running_best_and_rolling_mean_skip_steps_without_a_face() -> None:
    values = np.array([np.nan, 0.2, np.nan, 0.1, 0.5])
    best = plots.running_best(values, np.isfinite(values))
    np.testing.assert_allclose(best, [np.nan, 0.2, 0.2, 0.2, 0.5])
    np.testing.assert_allclose(plots.rolling_mean(values, 2), [np.nan, 0.2, 0.2, 0.1, 0.3])


def test_no_face_runs_are_half_open_ranges() -> None:
    assert plots.no_face_runs(np.array([0, 0, 3, 3, 0, 4, 0])) == [(0, 2), (4, 5), (6, 7)]
    assert plots.no_face_runs(np.array([1, 2])) == []


def test_load_sessions_finds_every_session_under_a_parent(runs: Path) -> None:
    sessions = load_sessions(runs)
    assert [s.folder.name for s in sessions] == ["hc-0", "hc-1", "hc-2", "rm-0", "rm-1"]
    assert [s.folder for s in load_sessions([runs / "hc-1", runs / "second"])] == [
        runs / "hc-1",
        runs / "second" / "rm-0",
        runs / "second" / "rm-1",
    ]
    assert list(plots.group_by_agent(sessions)) == ["hill-climb on sim", f"{SECOND_AGENT} on sim"]


def test_load_sessions_explains_what_is_not_a_session(tmp_path: Path, runs: Path) -> None:
    with pytest.raises(SessionError, match="no session folder given"):
        load_sessions([])
    with pytest.raises(SessionError, match="does not exist"):
        load_sessions(tmp_path / "missing")
    with pytest.raises(SessionError, match="holds none"):
        load_sessions(tmp_path)
    with pytest.raises(SessionError, match="not a session folder"):
        load_sessions(runs / "hc-0" / "agent")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "meta.json").write_text("{}")
    with pytest.raises(SessionError, match="needs meta.json and steps.csv"):
        load_sessions(broken)


def test_sessions_dir_prefers_the_variable_then_the_repo_runs(tmp_path: Path) -> None:
    assert sessions_dir({"LAETITIA_SESSIONS": str(tmp_path)}) == tmp_path
    repo = tmp_path / "repo"
    (repo / "laetitia").mkdir(parents=True)
    (repo / "notebooks").mkdir()
    (repo / "pyproject.toml").write_text("")
    from_notebooks = sessions_dir({}, start=repo / "notebooks")
    assert from_notebooks.resolve() == (repo / "runs").resolve()
    assert sessions_dir({}, start=repo).resolve() == (repo / "runs").resolve()


def test_learning_curve_labels_units_and_legend(runs: Path) -> None:
    session = load_session(runs / "hc-0")
    ax = plots.plot_learning_curve(session)
    assert ax.get_xlabel() == plots.STEP_LABEL
    assert "P(happy)" in ax.get_ylabel()
    assert "hill-climb" in ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [
        "happiness of the step",
        "rolling mean (10 steps)",
        "noise-free happiness",  # a simulated viewer: what the readings are noisy readings of
        "best noise-free so far",
    ]
    truth = SimulatedViewer(seed=1)
    expected = [truth.true_happiness(p) for p in session.params()]
    np.testing.assert_allclose(ax.get_lines()[2].get_ydata(), expected)
    best = ax.get_lines()[3].get_ydata()
    assert np.all(np.diff(best) >= 0) and best[-1] == pytest.approx(max(expected))
    # Never the best of the noisy readings: those run above what the viewer felt.
    assert session.steps["reward"].max() > best[-1]


def test_figures_name_the_signal_the_session_was_scored_by(tmp_path: Path) -> None:
    from laetitia.signals import SMILE_MEASURES

    measures = list(SMILE_MEASURES)
    meta = new_meta(
        agent="test", viewer={"kind": "video"}, signal={"name": "smile", "measures": measures}
    )
    with SessionRecorder(tmp_path / "s", meta) as recorder:
        for value in (0.2, 0.6):
            values = np.full(3, value, np.float32)
            reaction = Reaction(
                probs=np.full((3, 7), 1 / 7, np.float32),
                has_face=np.ones(3, bool),
                signal="smile",
                values=values,
                measures={name: values.copy() for name in measures},
            )
            recorder.record(0, value, PARAM_SPACE.defaults, reaction)
    session = load_session(tmp_path / "s")
    ylabel = plots.plot_learning_curve(session).get_ylabel()
    assert ylabel.startswith("smile") and "P(happy)" not in ylabel
    assert "best smile 0.600" in plots.summarize([session])


def test_agents_figure_draws_one_line_and_one_band_per_agent(runs: Path) -> None:
    fig = plots.agents_figure(load_sessions(runs))
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert len(lines) == 2
    assert lines[0].get_color() != lines[1].get_color()
    assert [line.get_xdata().size for line in lines] == [STEPS, STEPS + 10]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2
    for band, line in zip(bands, lines, strict=True):
        vertices = band.get_paths()[0].vertices
        assert np.isfinite(vertices).all() and np.ptp(vertices[:, 1]) > 0
        np.testing.assert_allclose(band.get_facecolor()[0][:3], _rgb(line.get_color()))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [
        "hill-climb on sim (3 sessions)",
        f"{SECOND_AGENT} on sim (2 sessions)",
        "95% t-interval of the mean",
    ]
    assert ax.get_xlabel() == plots.STEP_LABEL and "rolling mean" in ax.get_ylabel()
    assert "Student-t" in ax.get_title()


def _rgb(color: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(color)


def test_agents_figure_band_matches_mean_band(runs: Path) -> None:
    group = load_sessions(runs)[:3]
    fig = plots.agents_figure(group, metric="best")
    expected = plots.mean_band([plots.session_curve(s, "best") for s in group])
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), expected.mean)
    assert "best so far" in fig.axes[0].get_ylabel()


def test_params_figure_draws_each_parameter_normalised(runs: Path) -> None:
    session = load_session(runs / "hc-0")
    (ax,) = plots.params_figure(session).axes
    lines = ax.get_lines()
    assert len(lines) == len(PARAM_SPACE) + 1  # and the best step's marker
    for line, name in zip(lines[:-1], PARAM_SPACE.names, strict=True):
        assert line.get_label().startswith(f"{name}: ")
        assert np.all(np.abs(line.get_ydata()) <= 1.0 + 1e-9)
    np.testing.assert_allclose(
        [line.get_ydata()[0] for line in lines[:-1]],
        PARAM_SPACE.normalize(session.params()[0]),
    )
    assert lines[-1].get_xdata()[0] == session.best_step()
    assert "normalised" in ax.get_ylabel()


def test_emotion_timeline_is_per_frame_with_no_face_frames_as_gaps(blinking: Path) -> None:
    session = load_session(blinking)
    timeline = plots.emotion_timeline(session)
    assert timeline.per_frame and timeline.x.size == 30 * FRAMES
    np.testing.assert_allclose(timeline.x[:FRAMES], [-0.375, -0.125, 0.125, 0.375])
    missing = np.zeros(30 * FRAMES, dtype=bool)
    for step in NO_FACE:
        missing[step * FRAMES : (step + 1) * FRAMES] = True
    missing[BLINK[0] * FRAMES + BLINK[1]] = True

    ax = plots.plot_emotions(session, stacked=False)
    names = [line.get_label() for line in ax.get_lines()]
    assert sorted(names) == sorted(EMOTIONS) and names[0] == HAPPY
    for line in ax.get_lines():
        y = np.asarray(line.get_ydata(), dtype=float)
        assert np.isnan(y[missing]).all() and np.isfinite(y[~missing]).all()
    spans = [patch.get_x() for patch in ax.patches]
    assert len(spans) == 3  # steps 5-7, the blink in step 12, step 20
    assert spans[1] == pytest.approx(BLINK[0] - 0.5 + BLINK[1] / FRAMES)
    assert ax.patches[0].get_label() == "no face in view"
    assert "per frame" in ax.get_title() and "frames" in ax.get_xlabel()

    stacked = plots.plot_emotions(session)
    areas = [c for c in stacked.collections if isinstance(c, PolyCollection)]
    assert len(areas) == len(EMOTIONS)
    gaps = [(patch.get_x(), patch.get_x() + patch.get_width()) for patch in stacked.patches]
    for area in areas:  # one polygon per stretch of frames with a face, none inside a gap
        assert len(area.get_paths()) == 4
        x = np.concatenate([p.vertices[:, 0] for p in area.get_paths()])
        assert x.min() == pytest.approx(-0.5) and x.max() == pytest.approx(29.5)
        assert not any(((left + 1e-9 < x) & (x < right - 1e-9)).any() for left, right in gaps)
    legend = [t.get_text() for t in stacked.get_legend().get_texts()]
    assert legend[len(EMOTIONS) - 1] == HAPPY  # listed top to bottom, as stacked


def test_emotion_timeline_without_frames_uses_step_means(blinking_without_frames: Path) -> None:
    session = load_session(blinking_without_frames)
    timeline = plots.emotion_timeline(session)
    assert not timeline.per_frame
    np.testing.assert_array_equal(timeline.x, np.arange(30))
    ax = plots.plot_emotions(session, stacked=False)
    for line in ax.get_lines():
        y = np.asarray(line.get_ydata(), dtype=float)
        assert np.isnan(y[sorted(NO_FACE)]).all()
        assert np.isfinite(np.delete(y, sorted(NO_FACE))).all()
    assert len(ax.patches) == len(plots.no_face_runs(session.steps["faces"])) == 2
    assert "per step" in ax.get_title()
    areas = [c for c in plots.plot_emotions(session).collections if isinstance(c, PolyCollection)]
    for area in areas:  # one polygon per stretch of steps with a face: 0-4, 8-19, 21-29
        assert len(area.get_paths()) == 3
        x = np.concatenate([p.vertices[:, 0] for p in area.get_paths()])
        assert not np.isin(x, sorted(NO_FACE)).any()


def test_curve_shades_no_face_steps_instead_of_drawing_zeros(blinking: Path) -> None:
    ax = plots.plot_learning_curve(load_session(blinking))
    points = np.asarray(ax.get_lines()[0].get_ydata(), dtype=float)
    assert np.isnan(points[sorted(NO_FACE)]).all()
    assert len(ax.patches) == 2


def test_overview_has_curve_emoticon_parameters_and_emotions(runs: Path) -> None:
    session = load_session(runs / "hc-1")
    fig = plots.overview_figure(session)
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("Happiness") for t in titles)
    assert any(t.startswith("Emoticon parameters") for t in titles)
    assert any(t.startswith("Emotions") for t in titles)
    images = [im for ax in fig.axes for im in ax.get_images() if isinstance(im, AxesImage)]
    assert len(images) == 1 and images[0].get_array().shape == (256, 256, 3)
    said = next(t for t in titles if t.startswith("best emoticon"))
    assert "reading" in said and "noise-free" in said and "agent's best guess" in said
    assert "hc-1" in fig.get_suptitle()


def test_a_session_without_any_face_still_draws(tmp_path: Path) -> None:
    folder = tmp_path / "nobody"
    with SessionRecorder(folder, new_meta(agent="random", viewer={"kind": "webcam"})) as recorder:
        for _ in range(3):
            empty = Reaction(probs=np.full((2, 7), np.nan), has_face=np.zeros(2, dtype=bool))
            recorder.record(0, 0.0, PARAM_SPACE.defaults, empty)
    fig = plots.overview_figure(load_session(folder))
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("no step saw a face" in t for t in texts)
    assert "no face seen" in plots.summarize([load_session(folder)])


def test_sessions_figure_puts_each_best_emoticon_beside_its_curve(runs: Path) -> None:
    sessions = load_sessions(runs)[:3]
    fig = plots.sessions_figure(sessions)
    assert len(fig.axes) == 2 * len(sessions)
    for i, session in enumerate(sessions):
        curve, face = fig.axes[2 * i], fig.axes[2 * i + 1]
        assert session.folder.name in curve.get_title()
        assert len(face.get_images()) == 1
    with pytest.raises(ConfigError):
        plots.sessions_figure(sessions, kind="overview")


def test_save_figure_writes_a_png_that_decodes(tmp_path: Path, runs: Path) -> None:
    fig = plots.curve_figure(load_session(runs / "hc-0"))
    path = save_figure(fig, tmp_path / "deep" / "curve.png", dpi=50)
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 300
    with pytest.raises(ConfigError, match="end the file name"):
        save_figure(fig, tmp_path / "curve.docx")


def test_cli_plot_writes_each_kind(tmp_path: Path, runs: Path, capsys) -> None:
    cases = {
        "one.png": [str(runs / "hc-0"), "--dpi", "50"],
        "params.png": [str(runs / "hc-0"), "--kind", "params"],
        "rows.png": [str(runs / "hc-0"), str(runs / "hc-1")],
        "agents.png": [str(runs), "--by", "agent", "--metric", "best"],
    }
    for name, args in cases.items():
        out = tmp_path / name
        assert main(["plot", *args, "--out", str(out)]) == 0
        assert matplotlib.image.imread(out).ndim == 3
    assert matplotlib.image.imread(tmp_path / "one.png").shape[1] == 13 * 50  # the overview
    assert "5 sessions drawn" in capsys.readouterr().out


def test_cli_plot_errors_are_one_clear_line(tmp_path: Path, runs: Path, capsys) -> None:
    out = str(tmp_path / "x.png")
    assert main(["plot", str(tmp_path), "--out", out]) == 2
    assert "is not a session folder" in capsys.readouterr().err
    assert (
        main(["plot", str(runs / "hc-0"), "--by", "agent", "--kind", "params", "--out", out]) == 2
    )
    assert "--by agent draws learning curves" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["plot", "--out", out])
    assert exit_info.value.code == 2
    assert not (tmp_path / "x.png").exists()


def test_t_band_shrinks_with_more_sessions() -> None:
    rng = np.random.default_rng(0)
    few = plots.mean_band([rng.normal(size=50) for _ in range(3)])
    many = plots.mean_band([rng.normal(size=50) for _ in range(30)])
    assert math.isfinite(float(np.mean(few.high - few.low)))
    assert np.mean(many.high - many.low) < np.mean(few.high - few.low)


def test_by_agent_pools_training_sessions_of_one_viewer_kind_over_common_steps(
    runs: Path, tmp_path: Path
) -> None:
    """Evaluations and replays are not runs of an agent learning; viewers are never mixed."""
    from laetitia.app.evaluation import EvaluationConfig, evaluate_saved

    pool = tmp_path / "pool"
    shutil.copytree(runs / "hc-0", pool / "hc-0")
    shutil.copytree(runs / "hc-1", pool / "hc-1")
    short = TrainConfig(out=pool / "hc-short", viewer="sim:1", steps=15, seed=5)
    train(short, progress=False)
    other = TrainConfig(out=pool / "hc-person", viewer="person:2", steps=STEPS, seed=0)
    train(other, progress=False)
    evaluate_saved(
        EvaluationConfig(
            agent_path=pool / "hc-0" / "agent", viewer="sim:1", episodes=1, out=pool / "evaluation"
        ),
        progress=False,
    )
    groups = plots.group_by_agent(load_sessions(pool))
    assert {k: len(v) for k, v in groups.items()} == {
        "hill-climb on sim": 3,
        "hill-climb on person": 1,
    }
    ax = plots.plot_agents(load_sessions(pool))
    lines = {line.get_label(): line for line in ax.get_lines()}
    # The mean over the three sim sessions stops where the shortest one does: no jump.
    assert lines["hill-climb on sim (3 sessions)"].get_xdata().size == 15
    assert lines["hill-climb on person (1 session)"].get_xdata().size == STEPS
    with pytest.raises(SessionError, match="training session"):
        plots.plot_agents(load_sessions(pool / "evaluation"))
