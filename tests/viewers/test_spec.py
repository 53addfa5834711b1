import pytest

from laetitia.errors import ViewerSpecError
from laetitia.viewers.simulated import SimulatedViewer
from laetitia.viewers.spec import make_viewer, parse_viewer_spec


@pytest.mark.parametrize(
    "text, kind, arg",
    [
        ("sim", "sim", None),
        ("sim:7", "sim", "7"),
        ("webcam", "webcam", None),
        ("webcam:1", "webcam", "1"),
        ("video:a/b.mp4", "video", "a/b.mp4"),
        ("session:runs/x", "session", "runs/x"),
    ],
)
def test_valid_specs_parse(text, kind, arg):
    spec = parse_viewer_spec(text)
    assert (spec.kind, spec.arg) == (kind, arg)
    assert str(spec) == text


@pytest.mark.parametrize("text", ["simulated", "sim:x", "webcam:front", "video:", "", "file:a"])
def test_invalid_specs_name_the_valid_forms(text):
    with pytest.raises(ViewerSpecError, match="sim"):
        parse_viewer_spec(text)


def test_sim_spec_builds_a_seeded_viewer():
    viewer = make_viewer("sim:5", frames=4)
    assert isinstance(viewer, SimulatedViewer)
    assert viewer.seed == 5 and viewer.frames == 4


def test_a_missing_video_is_named(tmp_path):
    with pytest.raises(ViewerSpecError, match="does not exist"):
        make_viewer(f"video:{tmp_path / 'none.mp4'}")
