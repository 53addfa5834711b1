"""The happiness meter: camera frames in, per-frame emotion probabilities and smile signal out.

    meter = HappinessMeter.live(signal="smile")      # YuNet + tracking, the shipped models
    reaction = meter.read(frames)                    # frames: BGR uint8 (H, W, 3)
    reaction.signal_values()                         # the smile per frame, NaN where no face

Per frame: grayscale, find the largest face (`laetitia.faces`), cut the crop the model card
asks for (`laetitia.fer.preprocess`). Then the CNN runs once, batched over every face crop of
the call: the class probabilities are always read (sessions keep them). When the meter's signal
(`laetitia.signals`) needs more, the face landmarker (`laetitia.landmarks`) reads it too: it
follows the face from frame to frame, and searches for one only in frames where the detector
found one, so a `fer-happy` meter pays nothing for landmarks and a frame without a face costs
the landmarker nothing. A frame has a face when everything the signal needs was read in it;
frames without one get `has_face` False and NaN rows: they carry no emotion. What a reaction
without any face is worth is the reward rule's business (`laetitia.reward`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import torch

from laetitia.errors import CheckpointError, LabelMismatchError
from laetitia.faces import (
    ABSENT_EVERY,
    DETECT_EVERY,
    DETECTOR_NAMES,
    TRACKERS,
    FaceDetector,
    make_detector,
)
from laetitia.fer import FerModel, crop_face, load_model, to_gray
from laetitia.fer.data import resize_face
from laetitia.labels import HAPPY
from laetitia.signals import Signal, get_signal
from laetitia.threads import ensure_threads
from laetitia.types import FER_HAPPY, Reaction

if TYPE_CHECKING:
    from laetitia.landmarks import FaceLandmarker


@runtime_checkable
class Meter(Protocol):
    """What reads happiness off camera frames: a `HappinessMeter`, or one wrapped around it.

    A person's profile wraps a meter the same way (`laetitia.profile.CalibratedMeter`); a live
    viewer reads through either.
    """

    @property
    def signal(self) -> Signal:
        """The smile signal the meter's reactions carry."""
        ...

    def read(self, frames: Sequence[np.ndarray]) -> Reaction:
        """Emotion probabilities, face flags and boxes of each frame."""
        ...

    def describe(self) -> dict[str, object]:
        """Plain-data description (detector, model, signal) for a session's meta.json."""
        ...


class HappinessMeter:
    """A face detector and a FER model, reading emotions and a smile signal off camera frames.

    Args:
        detector: Finds the face in each frame (see `laetitia.faces.make_detector`).
        model: The FER model (see `laetitia.fer.load_model`); its classes must include "happy".
        signal: The smile signal its reactions carry (`laetitia.signals`), by name or itself.
        landmarker: The face landmarker of a signal that needs one; None builds the shipped
            one (its networks load on the first frame with a face).
        torch_threads: Torch intra-op threads, set process-wide when the meter is built; None
            for the process's choice (`laetitia.threads`: one thread on a machine of up to four
            cores, the robust choice for small networks: on a quiet two-core machine two
            threads were 25 % faster, but with other processes running they spun against them
            and made the pipeline 2-11 times slower; see BENCHMARKS.md).

    Raises:
        LabelMismatchError: If the model has no "happy" class.
        ConfigError: For an unknown signal, or one the model cannot give (`fer-smile` with
            another model than the shipped one).
    """

    def __init__(
        self,
        detector: FaceDetector,
        model: FerModel,
        torch_threads: int | None = None,
        signal: str | Signal = FER_HAPPY,
        landmarker: FaceLandmarker | None = None,
    ) -> None:
        if HAPPY not in model.class_names:
            raise LabelMismatchError(
                f"the FER model's classes {list(model.class_names)} have no {HAPPY!r}, so it "
                "cannot measure happiness; load a model trained on the FER2013 label map."
            )
        self._signal = get_signal(signal) if isinstance(signal, str) else signal
        self._signal.check_model(model.identity)
        self.detector = detector
        self.model = model
        self.landmarker: FaceLandmarker | None = None
        if self._signal.needs_landmarks:
            from laetitia.landmarks import FaceLandmarker

            self.landmarker = landmarker or FaceLandmarker()
        self._size = model.card.input_size
        if torch_threads is None:
            ensure_threads()
        elif torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)

    @classmethod
    def default(
        cls,
        detector: str = DETECTOR_NAMES[0],
        model_path: str | Path | None = None,
        detect_every: int = 1,
        tracker: str = TRACKERS[0],
        absent_every: int = ABSENT_EVERY,
        scout_side_px: int | None = None,
        signal: str = FER_HAPPY,
        **detector_options: object,
    ) -> HappinessMeter:
        """The meter with a detector by name and a model from a path.

        Args:
            detector: "yunet" (the default), "mtcnn", "haar" or "none".
            model_path: A FER weights file; None for the shipped default.
            detect_every: Frames from one detection to the next (see `make_detector`).
            tracker: How the face is followed between detections (see `make_detector`).
            absent_every: Frames from one detection to the next while there is no face (see
                `make_detector`).
            scout_side_px: Working size of the scout that looks while there is no face; None
                for the detector's default (see `make_detector`).
            signal: The smile signal (`laetitia.signals.SIGNAL_NAMES`).
            **detector_options: Passed to the detector class (see `make_detector`).
        """
        face_detector = make_detector(
            detector, detect_every, tracker, absent_every, scout_side_px, **detector_options
        )
        return cls(face_detector, load_model(model_path), signal=signal)

    @classmethod
    def live(
        cls,
        detector: str = DETECTOR_NAMES[0],
        model_path: str | Path | None = None,
        detect_every: int | None = None,
        tracker: str = TRACKERS[0],
        absent_every: int = ABSENT_EVERY,
        scout_side_px: int | None = None,
        signal: str = FER_HAPPY,
        **detector_options: object,
    ) -> HappinessMeter:
        """The live pipeline's meter: what viewers, `fer predict` and calibration read with.

        The live and video viewers, `laetitia fer predict` and calibration all build their meter
        here: the detector runs on every `DETECT_EVERY[detector]`-th frame (`laetitia.faces`)
        and the face is tracked in between, so a calibration, a prediction and a session read
        a face the same way.

        Args:
            detector: "yunet" (the default), "mtcnn", "haar" or "none".
            model_path: A FER weights file; None for the shipped default.
            detect_every: Frames from one detection to the next; None for the detector's
                `DETECT_EVERY` (an unknown detector name is `make_detector`'s error).
            tracker: How the face is followed between detections (see `make_detector`).
            absent_every: Frames from one detection to the next while there is no face (see
                `make_detector`).
            scout_side_px: Working size of the scout that looks while there is no face; None
                for the detector's default (see `make_detector`).
            signal: The smile signal (`laetitia.signals.SIGNAL_NAMES`).
            **detector_options: Passed to the detector class (see `make_detector`).
        """
        if detect_every is None:
            detect_every = DETECT_EVERY.get(detector, 1)
        return cls.default(
            detector,
            model_path,
            detect_every,
            tracker,
            absent_every,
            scout_side_px,
            signal,
            **detector_options,
        )

    @property
    def signal(self) -> Signal:
        """The smile signal the meter's reactions carry."""
        return self._signal

    def read(
        self, frames: Sequence[np.ndarray], continues: bool = False, related: bool = True
    ) -> Reaction:
        """Emotion probabilities and the signal of each frame.

        Args:
            frames: BGR uint8 frames (H, W, 3) (or grayscale (H, W)).
            continues: True when these frames directly follow the previous call's (a video
                read in chunks), so a face tracked at the end of that call is followed on;
                False starts afresh with a detection on the first frame.
            related: False for unrelated images (a folder of photos): every frame is detected
                afresh and nothing is tracked from one to the next.

        Returns:
            A Reaction with per-frame probabilities, the signal's values and measures,
            `has_face`, face boxes and the frames.
        """
        n = len(frames)
        classes = self.model.class_names
        probs = np.full((n, len(classes)), np.nan, dtype=np.float32)
        boxes = np.full((n, 4), np.nan, dtype=np.float32)
        has_face = np.zeros(n, dtype=bool)
        crops = np.empty((n, self._size, self._size), dtype=np.uint8)
        if not continues:
            self.detector.reset()
        found = 0
        for i, frame in enumerate(frames):
            if not related:
                self.detector.reset()
            gray = to_gray(frame)
            box = self.detector.detect(frame, gray)
            if box is None:
                continue
            crops[found] = self._crop(gray, box)
            found += 1
            has_face[i] = True
            boxes[i] = box
        if found:
            read = self.model.predict_proba(crops[:found])
            if not np.isfinite(read).all():
                card = self.model.card
                raise CheckpointError(
                    f"the FER model {card.name} (sha256 {self.model.identity[:12]}...) gives "
                    "probabilities that are not finite numbers (NaN or infinite) for a face: "
                    "its weights are damaged or were trained wrongly. Score with another model."
                )
            probs[has_face] = read
        measures = self._measure(frames, has_face, continues, related)
        if measures:
            # A face the landmarker could not read gives no signal: the frame has no face.
            lost = has_face & np.isnan(next(iter(measures.values())))
            has_face &= ~lost
            probs[lost] = np.nan
            boxes[lost] = np.nan
        return Reaction(
            probs=probs,
            has_face=has_face,
            class_names=tuple(classes),
            boxes=boxes,
            frames=tuple(frames),
            signal=self._signal.name,
            values=self._signal.values(probs, measures, classes),
            measures=measures,
        )

    def _measure(
        self, frames: Sequence[np.ndarray], has_face: np.ndarray, continues: bool, related: bool
    ) -> dict[str, np.ndarray]:
        """What the signal needs beyond the probabilities, per frame (NaN where no face)."""
        if self.landmarker is None:
            return {}
        names = self._signal.measures
        read = np.full((len(frames), len(names)), np.nan, dtype=np.float32)
        if not continues:
            self.landmarker.reset()
        for i, frame in enumerate(frames):
            reading = self.landmarker.read(frame, follow=related, search=bool(has_face[i]))
            if reading is not None and has_face[i]:
                read[i] = [reading.blendshape(name) for name in names]
        return {name: read[:, k] for k, name in enumerate(names)}

    def _crop(self, gray: np.ndarray, box: np.ndarray) -> np.ndarray:
        if self.detector.whole_frame:
            # The frame is the face crop already (FER2013 style): resize it as the training
            # data's whole faces are.
            return resize_face(gray, self._size)
        return crop_face(gray, box, self.model.card)

    def describe(self) -> dict[str, object]:
        """The detector, the model's identity and the signal with its models, for meta.json."""
        card = self.model.card
        signal = self._signal.describe()
        if self.landmarker is not None:
            signal["landmarker"] = self.landmarker.describe()
        if self._signal.reads_fer:
            signal["fer_model_sha256"] = self.model.identity
        return {
            "detector": self.detector.describe(),
            "model": {
                "name": card.name,
                "identity": self.model.identity,
                "classes": list(card.class_names),
                "input_size": card.input_size,
                "crop": card.crop,
            },
            "signal": signal,
        }
