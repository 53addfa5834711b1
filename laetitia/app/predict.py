"""Emotions and the smile signal of every frame of a video, a folder of images or one image.

What `laetitia fer predict` runs:

meter = HappinessMeter.live(signal="smile")
result = predict_source("clip.mp4", meter)
print(result.summary())
result.write_csv("clip.csv")
result.plot_timeline("clip.png")
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from laetitia.cameras import Camera, ImageFolder, open_camera
from laetitia.files import atomic_open, save_figure
from laetitia.meter import HappinessMeter
from laetitia.signals import get_signal

CHUNK_FRAMES = 32
"""Frames read per meter call: the CNN runs once per chunk, batched over its faces."""


@dataclass(frozen=True)
class Prediction:
    """Per-frame emotions of one source, in the order the frames were read."""

    source: str
    """The path that was read."""
    class_names: tuple[str, ...]
    """Columns of `probs`, from the model (the label map's names)."""
    probs: np.ndarray
    """float32 (N, C) emotion probabilities; NaN rows where no face was found."""
    has_face: np.ndarray
    """bool (N,): a face was found."""
    boxes: np.ndarray
    """float32 (N, 4) face boxes x, y, w, h in frame pixels; NaN where no face."""
    times_s: np.ndarray | None
    """float64 (N,) seconds from the start of a video (frame / fps); None for images, or a
    video whose file states no frame rate."""
    files: tuple[str, ...] | None
    """File name of each frame when the source is images; None for a video."""
    signal: str
    """The name of the smile signal `values` are of (`laetitia.signals`)."""
    values: np.ndarray
    """float32 (N,): the signal per frame (what the reward would average), NaN where no face."""
    measures: dict[str, np.ndarray]
    """float32 (N,) per name: what the signal measured per frame beyond the probabilities."""

    @property
    def n_frames(self) -> int:
        """Frames (or images) read."""
        return int(self.has_face.shape[0])

    def mean_probs(self) -> np.ndarray:
        """Mean probability of each class over frames with a face; NaN if there were none."""
        if not self.has_face.any():
            return np.full(len(self.class_names), np.nan)
        return self.probs[self.has_face].astype(np.float64).mean(axis=0)

    def summary(self) -> str:
        """A few lines for a person: frames, faces, mean probabilities, dominant emotion."""
        faces = int(self.has_face.sum())
        unit = "images" if self.files is not None else "frames"
        lines = [f"{self.source}: {self.n_frames} {unit}, {faces} with a face"]
        if faces == 0:
            lines.append("no face found: no emotion to report.")
            return "\n".join(lines)
        means = self.mean_probs()
        width = max(len(name) for name in self.class_names)
        lines.append("mean probability over frames with a face:")
        lines += [
            f"  {name:<{width}}  {value:.3f}"
            for name, value in zip(self.class_names, means, strict=True)
        ]
        lines.append(f"dominant emotion: {self.class_names[int(np.argmax(means))]}")
        signal = self.values[self.has_face].astype(np.float64)
        lines.append(
            f"signal {self.signal} ({get_signal(self.signal).label}): mean {signal.mean():.3f}, "
            f"frames >= 0.5: {int((signal >= 0.5).sum())} of {faces}"
        )
        return "\n".join(lines)

    def write_csv(self, path: str | Path) -> Path:
        """One row per frame: frame, [file,] t, face, x, y, w, h, the classes, signal, measures.

        `signal` is the value the reward would average for the frame (the signal's name is in
        the summary and the session's record); the measures (a landmark signal's blendshapes)
        follow it. Cells of frames without a face and `t` for images are empty.

        Returns:
            The path written.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = ["frame"] + (["file"] if self.files is not None else [])
        header += ["t", "face", "x", "y", "w", "h", *self.class_names, "signal", *self.measures]
        with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for i in range(self.n_frames):
                row: list[object] = [i]
                if self.files is not None:
                    row.append(self.files[i])
                row.append("" if self.times_s is None else f"{self.times_s[i]:.4f}")
                row.append(int(self.has_face[i]))
                row += [_cell(v, "{:.1f}") for v in self.boxes[i]]
                row += [_cell(v, "{:.6f}") for v in self.probs[i]]
                row.append(_cell(self.values[i], "{:.6f}"))
                row += [_cell(m[i], "{:.6f}") for m in self.measures.values()]
                writer.writerow(row)
        return path

    def plot_timeline(self, path: str | Path) -> Path:
        """Save a PNG of each class's probability over the frames (gaps where no face).

        Returns:
            The path written.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.times_s is not None:
            x, xlabel = self.times_s, "time (s)"
        elif self.files is not None:
            x, xlabel = np.arange(self.n_frames), "image (sorted by file name)"
        else:
            x, xlabel = np.arange(self.n_frames), "frame"
        figure = Figure(figsize=(10, 4), layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        for column, name in enumerate(self.class_names):
            axes.plot(x, self.probs[:, column], label=name, marker="." if len(x) < 50 else None)
        label = get_signal(self.signal).label
        axes.plot(x, self.values, color="black", ls="--", lw=2, label=f"signal: {label}")
        axes.set_xlabel(xlabel)
        axes.set_ylabel(f"probability; signal ({label})")
        axes.set_ylim(0, 1)
        faces = int(self.has_face.sum())
        axes.set_title(f"{Path(self.source).name}: {faces} of {self.n_frames} with a face")
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return save_figure(figure, path, dpi=100, field="plot")


def _cell(value: float, form: str) -> str:
    return "" if math.isnan(value) else form.format(value)


def predict_source(
    source: str | Path | Camera, meter: HappinessMeter, progress: bool = False
) -> Prediction:
    """Run the meter over every frame of a video, a folder of images, or an image.

    Args:
        source: A path (video, folder, image) or an open camera of a finite source.
        meter: The happiness meter to read the frames with.
        progress: Show a progress bar (tqdm, on stderr) for videos.

    Returns:
        The per-frame prediction.

    Raises:
        CameraError: If the source cannot be opened or read.
    """
    camera = source if isinstance(source, Camera) else open_camera(source)
    name = str(getattr(camera, "path", source))
    images = isinstance(camera, ImageFolder)
    classes = tuple(meter.model.class_names)
    probs = [np.zeros((0, len(classes)), np.float32)]
    has_face, boxes = [np.zeros(0, bool)], [np.zeros((0, 4), np.float32)]
    values = [np.zeros(0, np.float32)]
    measures: dict[str, list[np.ndarray]] = {m: [] for m in meter.signal.measures}
    files: list[str] = []
    bar = None
    if progress and not images:
        from tqdm import tqdm

        total = getattr(camera, "frame_count", 0)
        bar = tqdm(total=total or None, unit="frame", desc=Path(name).name)
    continues = False
    with camera:
        try:
            while chunk := _next_chunk(camera, files if images else None):
                # Frames of a video follow one another, so the tracker carries on across
                # chunks; images are unrelated and each is searched afresh.
                reaction = meter.read(chunk, continues=continues, related=not images)
                continues = not images
                assert reaction.boxes is not None, "a meter's reaction always has its boxes"
                probs.append(reaction.probs)
                has_face.append(reaction.has_face)
                boxes.append(reaction.boxes)
                values.append(reaction.signal_values())
                for name, read in measures.items():
                    read.append(reaction.measures[name])
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    face = np.concatenate(has_face)
    times = None
    if not images and camera.fps:
        times = np.arange(face.shape[0], dtype=np.float64) / camera.fps
    return Prediction(
        source=name,
        class_names=classes,
        probs=np.concatenate(probs),
        has_face=face,
        boxes=np.concatenate(boxes),
        times_s=times,
        files=tuple(files) if images else None,
        signal=meter.signal.name,
        values=np.concatenate(values),
        measures={
            name: np.concatenate(read) if read else np.zeros(0, np.float32)
            for name, read in measures.items()
        },
    )


def _next_chunk(camera: Camera, files: list[str] | None) -> list[np.ndarray]:
    """Up to CHUNK_FRAMES next frames (fewer at the end); their file names go to `files`."""
    chunk: list[np.ndarray] = []
    while len(chunk) < CHUNK_FRAMES and (frame := camera.read()) is not None:
        chunk.append(frame)
        if files is not None and isinstance(camera, ImageFolder):
            files.append(camera.current_name or "")
    return chunk
