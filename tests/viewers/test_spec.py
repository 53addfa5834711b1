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


@pytest.mark.parametrize(
    "text, address",
    [
        ("browser", ("127.0.0.1", 8770)),
        ("browser:9000", ("127.0.0.1", 9000)),
        ("browser:0.0.0.0:8443", ("0.0.0.0", 8443)),
        ("browser:[::1]:8443", ("::1", 8443)),
    ],
)
def test_a_browser_spec_names_where_the_participant_s_page_is_served(text, address):
    from laetitia.viewers.spec import browser_address

    assert browser_address(parse_viewer_spec(text)) == address


@pytest.mark.parametrize("text", ["browser:http", "browser:host:99999", "browser:host:"])
def test_a_browser_spec_with_a_bad_port_says_the_form(text):
    with pytest.raises(ViewerSpecError, match=r"\[HOST:\]PORT"):
        parse_viewer_spec(text)


def test_gym_make_with_a_browser_spec_says_how_to_get_the_viewer():
    import gymnasium as gym

    import laetitia  # noqa: F401 - registers the envs

    with pytest.raises(ViewerSpecError, match="serve_participant") as error:
        gym.make("laetitia/Smile-v0", viewer="browser")
    assert "laetitia.app.web.participant" in str(error.value)
    assert error.value.mentions == ("viewer=browser",)  # the CLI says --viewer browser
