import cv2
import pytest
import torch

from laetitia import threads


@pytest.fixture
def restored():
    before = (threads._chosen, torch.get_num_threads(), cv2.getNumThreads())
    yield
    threads._chosen = before[0]
    torch.set_num_threads(before[1])
    cv2.setNumThreads(before[2])


@pytest.mark.parametrize("count", [2, 1])
def test_a_choice_sets_torch_and_opencv_alike(restored, count: int) -> None:
    assert threads.use_threads(count) == count
    assert torch.get_num_threads() == count
    assert cv2.getNumThreads() == count  # YuNet's network and resizing run in OpenCV's pool


def test_the_default_is_one_thread_on_a_small_machine(restored, monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert threads.default_threads(cores=2) == threads.default_threads(cores=4) == 1
    assert threads.default_threads(cores=16) == 8
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.default_threads(cores=2) == 3  # the user's choice wins


def test_a_choice_made_before_opencv_starts_holds_once_it_does(fresh_python) -> None:
    """The CLI chooses before anything imports cv2 (it must start fast), so the choice must
    reach OpenCV's pool through its environment."""
    code = (
        "import sys\n"
        "from laetitia.threads import use_threads\n"
        "use_threads(1)\n"
        "assert 'cv2' not in sys.modules\n"
        "import cv2\n"
        "print(cv2.getNumThreads())"
    )
    assert fresh_python(code) == "1"


@pytest.mark.parametrize("count", [1, 2])
def test_a_video_is_decoded_with_the_chosen_thread_count(restored, tmp_path, count: int) -> None:
    """FFmpeg's decoding threads are a pool like the others: a second one on a small machine
    spends CPU the rest of the pipeline needs."""
    import numpy as np

    from laetitia.cameras import VideoFile

    path = tmp_path / "clip.mp4"  # MPEG-4 decodes in threads (FFmpeg's MJPEG decoder does not)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for i in range(5):
        writer.write(np.full((48, 64, 3), i * 40, np.uint8))
    writer.release()
    threads.use_threads(count)
    with VideoFile(path) as video:
        assert video._capture.get(cv2.CAP_PROP_N_THREADS) == count
        assert sum(1 for _ in video) == 5
