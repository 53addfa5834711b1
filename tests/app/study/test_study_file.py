"""The study file is read strictly: every key checked, each setting passed through by name."""

import re
from pathlib import Path

import pytest

from laetitia.app.study.protocol import Study, parse_study, read_study
from laetitia.app.study.run import init_study
from laetitia.errors import StudyError


def _read(text: str, tmp_path: Path) -> Study:
    return parse_study(text, tmp_path / "study.toml", tmp_path)


def test_init_writes_a_commented_example_that_reads_and_is_named_after_its_folder(tmp_path):
    path = init_study(tmp_path / "pilot-2")
    assert path.read_text().count("#") > 20  # commented
    study = read_study(tmp_path / "pilot-2")
    assert study.name == "pilot-2"
    assert [c.agent for c in study.conditions] == ["hill-climb", "bayes-opt"]
    assert study.conditions[1].prior.policy == "growing"
    assert not study.keep_frames and study.calibrate
    with pytest.raises(StudyError, match="not an empty folder"):
        init_study(tmp_path / "pilot-2")


@pytest.mark.parametrize(
    ("edit", "named", "where"),
    [
        (("order = ", "ordre = "), "'ordre'", "at the top of the file"),
        (('agent = "hill-climb"', 'agent = "hill-climb"\nstep = 3'), "'step'", "number 1"),
        (('pool = "condition"', 'pool = "condition", from = "x"'), "'from'", "prior"),
        (("first_member = 24", "first = 24"), "'first'", "[simulation]"),
        (("window = 4", "windows = 4"), "'windows'", "[analysis]"),
        (('agent = "bayes-opt"', 'agent = "bayes-opt"\nseed = 4'), "'seed'", "number 2"),
        (("frames = 2", 'out = "elsewhere"'), "'out'", "at the top"),
    ],
)
def test_an_unknown_key_is_named_with_where_it_is_and_the_valid_keys(
    tmp_path, study_text, edit, named, where
):
    with pytest.raises(StudyError) as raised:
        _read(study_text.replace(*edit), tmp_path)
    message = str(raised.value)
    assert named in message and where in message and "study.toml" in message
    assert "the keys there are" in message


def test_a_value_of_the_wrong_type_or_range_is_named_with_the_file(tmp_path, study_text):
    with pytest.raises(StudyError, match=r"study\.toml.*steps"):
        _read(study_text.replace("steps = 10", 'steps = "10"', 1), tmp_path)
    with pytest.raises(StudyError, match=r"study\.toml.*frames must be at least 1"):
        _read(study_text.replace("frames = 2", "frames = 0"), tmp_path)
    with pytest.raises(StudyError, match="order 'random'"):
        _read(study_text.replace('order = "latin-square"', 'order = "random"'), tmp_path)


def test_training_settings_pass_through_by_name_and_a_condition_overrides_the_top(
    tmp_path, study_text
):
    text = study_text.replace('agent = "hill-climb"', 'agent = "hill-climb"\nmax_episode_steps = 6')
    text = text.replace("settle_s = 0.0", 'settle_s = 0.25\ntensorboard = "logs"')
    study = _read(text, tmp_path)
    climb, bayes = study.conditions
    one = study.train_config(climb, tmp_path / "s", "sim:1", seed=3)
    other = study.train_config(bayes, tmp_path / "t", "sim:1", seed=4)
    assert (one.frames, one.settle_s, one.max_episode_steps) == (2, 0.25, 6)
    assert (other.frames, other.settle_s, other.max_episode_steps) == (2, 0.25, 50)
    assert one.keep_frames is False  # a study keeps no image unless it says so
    assert one.tensorboard == tmp_path / "logs"  # a relative path is the study folder's
    assert (one.agent, one.steps, one.seed, one.viewer) == ("hill-climb", 10, 3, "sim:1")


def test_a_prior_for_an_agent_that_takes_none_and_unsafe_names_are_refused(tmp_path, study_text):
    text = study_text.replace('agent = "bayes-opt"', 'agent = "cma-es"')
    with pytest.raises(StudyError, match="takes no prior"):
        _read(text, tmp_path)
    with pytest.raises(StudyError, match="the condition name '../x'"):
        _read(study_text.replace('name = "climb"', 'name = "../x"'), tmp_path)
    with pytest.raises(StudyError, match="the same name twice"):
        _read(study_text.replace('name = "bayes"', 'name = "climb"'), tmp_path)
    with pytest.raises(StudyError, match="not a simulated viewer"):
        _read(study_text.replace('"person:v2:{member}"', '"webcam:{member}"'), tmp_path)


def test_a_folder_without_a_study_file_says_how_to_make_one(tmp_path):
    with pytest.raises(StudyError, match="laetitia study init"):
        read_study(tmp_path)


def test_the_study_file_of_the_docs_reads_as_it_is_shown(tmp_path):
    page = (Path(__file__).resolve().parents[3] / "docs" / "studies.md").read_text()
    text = page.split("```toml\n", 1)[1].split("```", 1)[0]
    study = _read(text, tmp_path)
    assert [c.name for c in study.conditions] == ["climb", "bayes"]
    assert study.settings == {"frames": 10, "settle_s": 0.5, "max_episode_steps": 50}


def test_a_dry_run_meets_people_v3_of_its_validation_split_unless_the_file_says_otherwise(
    tmp_path,
):
    from laetitia.viewers.spec import parse_viewer_spec
    from laetitia.viewers.suites import SPLITS, SUITE_V3

    init_study(tmp_path / "pilot")
    example = read_study(tmp_path / "pilot")
    text = (tmp_path / "pilot" / "study.toml").read_text()
    bare = re.sub(r"\[simulation\][^\[]*", "", text)  # the table and its keys, to the next
    assert "first_member" not in bare
    defaults = _read(bare, tmp_path)
    validation = SPLITS[SUITE_V3]["validation"]
    for study in (example, defaults):
        specs = [study.simulation.viewer(index) for index in range(6)]
        assert specs == [f"person:v3:{member}" for member in range(40, 46)]
        assert all(int(spec.rsplit(":", 1)[1]) in validation for spec in specs)
        assert parse_viewer_spec(specs[0]).kind == "person"
