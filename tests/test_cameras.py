"""Cameras: webcam errors, video files, image folders, and the factory that picks one."""

import cv2
import numpy as np
import pytest

from laetitia import cameras
from laetitia.cameras import ImageFolder, VideoFile, Webcam, open_camera
from laetitia.errors import CameraError


def test_video_file_reads_every_frame_in_order_then_ends(fixtures_dir):
    with VideoFile(fixtures_dir / "single_face.mp4") as video:
        assert video.fps == pytest.approx(30.0)
        assert video.frame_size == (640, 360)
        frames = list(video)
        assert video.read() is None
        assert video.frames_read == len(frames) == 72
    assert frames[0].shape == (360, 640, 3) and frames[0].dtype == np.uint8
    assert not np.array_equal(frames[0], frames[-1])


def test_a_corrupt_video_is_a_camera_error(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video" * 200)
    with pytest.raises(CameraError, match="corrupt"):
        VideoFile(path)


def test_a_missing_video_is_a_camera_error(tmp_path):
    with pytest.raises(CameraError, match="does not exist"):
        VideoFile(tmp_path / "nothing.mp4")


def test_a_missing_webcam_names_the_alternatives():
    with pytest.raises(CameraError) as caught:
        Webcam(99)
    message = str(caught.value)
    assert "the viewer `video:PATH`" in message and "the viewer `sim`" in message


class _DeadCapture:
    """A capture device that opened but delivers no frame (unplugged mid-session)."""

    def __init__(self, index):
        self.released = False

    def isOpened(self):  # noqa: N802 (OpenCV's name)
        return not self.released

    def read(self):
        return False, None

    def get(self, prop):
        return 0.0

    def release(self):
        self.released = True


def test_a_webcam_that_stops_delivering_is_an_error_not_a_hang(monkeypatch):
    monkeypatch.setattr(cameras.cv2, "VideoCapture", _DeadCapture)
    camera = Webcam(0, timeout_s=0.05)
    with pytest.raises(CameraError, match="stopped delivering frames"):
        camera.read()
    camera.close()
    with pytest.raises(CameraError, match="closed"):
        camera.read()


def _write_image(path, value):
    cv2.imwrite(str(path), np.full((20, 30, 3), value, np.uint8))


def test_image_folder_reads_images_in_file_name_order(tmp_path):
    _write_image(tmp_path / "b.png", 200)
    _write_image(tmp_path / "a.png", 100)
    (tmp_path / "notes.txt").write_text("not an image")
    with ImageFolder(tmp_path) as folder:
        assert folder.fps is None and folder.frame_size == (30, 20)
        first = folder.read()
        assert folder.current_name == "a.png" and first[0, 0, 0] == 100
        assert folder.read()[0, 0, 0] == 200 and folder.current_name == "b.png"
        assert folder.read() is None


def test_an_unreadable_image_names_the_file(tmp_path):
    _write_image(tmp_path / "a.png", 100)
    (tmp_path / "b.jpg").write_bytes(b"garbage")
    folder = ImageFolder(tmp_path)
    folder.read()
    with pytest.raises(CameraError, match="b.jpg"):
        folder.read()


def test_an_empty_folder_is_an_error(tmp_path):
    with pytest.raises(CameraError, match="no image"):
        ImageFolder(tmp_path)


def test_open_camera_picks_the_source_by_what_it_is(fixtures_dir, tmp_path):
    assert isinstance(open_camera(fixtures_dir / "single_face.mp4"), VideoFile)
    still = open_camera(fixtures_dir / "single_face.jpg")
    assert isinstance(still, ImageFolder) and len(list(still)) == 1
    _write_image(tmp_path / "a.png", 1)
    assert isinstance(open_camera(tmp_path), ImageFolder)
    with pytest.raises(CameraError, match="the viewer `sim`"):
        open_camera(99)
    with pytest.raises(CameraError, match="does not exist"):
        open_camera(tmp_path / "missing.mov")
