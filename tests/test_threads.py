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
