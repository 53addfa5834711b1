"""Calibration profiles: one person's mapping from the FER model's output to P(smile).

    meter = calibrated(HappinessMeter.live(), "me.json")   # refused for other weights
    reaction = meter.read(frames)                # the "happy" column is now P(smile)

    profile = load_profile("me.json")            # or by hand, for any reaction of the model
    profile.check_model(model.identity)
    calibrated_reaction = profile.calibrate(raw_reaction)

A profile is a small JSON file (never a pickle) written by `laetitia calibrate`
(`laetitia.app.calibration`). It holds a logistic regression on eight numbers per frame
(`profile_features`): the model's own evidence for "happy", its log-odds
log P(happy) - log(1 - P(happy)), and the *centred logits*, the logits minus their mean over the
classes. The softmax ignores a common shift of the logits, so the centred logits carry
everything the probabilities do and nothing else, and both features can be computed alike from
logits or from the probabilities a `Reaction` carries. A handful of numbers keeps the fit
well-posed with the few dozen frames a calibration records (the 128 penultimate features would
not be, and reaching them would mean opening up the model).

Applied to a reaction, the profile replaces the "happy" column (the name stays the label map's,
so the reward rule and every reader are unchanged) with the calibrated P(smile); the other
classes share what is left in the model's own proportions, so each row still sums to 1. The
raw mean P(happy) is kept in the reaction's `extras` as `raw_happiness`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from laetitia.errors import ProfileError
from laetitia.labels import EMOTIONS, HAPPY, check_labels
from laetitia.logistic import LogisticFit
from laetitia.records import from_dict, parse_json
from laetitia.types import Reaction

PROFILE_FORMAT = "laetitia-calibration/1"
"""Value of a profile file's `format` key."""

FEATURES = "happy_log_odds+centered_logits"
"""The one feature kind: P(happy)'s log-odds, then the centred logits (see the module doc)."""


@dataclass(frozen=True)
class Profile:
    """A person's calibration: logistic regression from the FER output to P(smile).

    P(smile) = sigmoid(bias + weights . (features - feature_mean) / feature_scale) (`logistic`),
    with the features of `profile_features` (C + 1 numbers for C classes).
    """

    model_identity: str
    """sha256 of the FER weights file the profile was fitted on (`FerModel.identity`)."""
    model_name: str
    """The model card's name, for messages."""
    class_names: tuple[str, ...]
    """The model's output classes, in logit order."""
    detector: dict[str, Any]
    """The face detector the frames went through (`describe()` of it)."""
    features: str
    """Feature kind; `FEATURES`."""
    feature_mean: tuple[float, ...]
    """Per-feature mean of the frames the mapping was fitted on."""
    feature_scale: tuple[float, ...]
    """Per-feature standard deviation of those frames (1 where a feature was constant)."""
    weights: tuple[float, ...]
    """Logistic-regression weights on the standardised features."""
    bias: float
    """Logistic-regression intercept."""
    l2: float
    """L2 penalty on the weight of P(happy)'s log-odds."""
    l2_logits: float
    """L2 penalty on the weights of the centred logits (chosen by cross-validation)."""
    created: str
    """When the profile was made, ISO 8601 UTC."""
    source: dict[str, Any] = field(default_factory=dict)
    """Where the frames came from: a video and its spans, or a live camera and its prompts."""
    report: dict[str, Any] = field(default_factory=dict)
    """Held-out figures of the calibration (`CalibrationReport.to_dict`)."""
    format: str = PROFILE_FORMAT
    """File format version."""

    def __post_init__(self) -> None:
        for name in ("class_names", "feature_mean", "feature_scale", "weights"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        n = len(self.class_names) + 1
        problems = []
        if self.format != PROFILE_FORMAT:
            problems.append(f"format {self.format!r} (this version reads {PROFILE_FORMAT!r})")
        if self.features != FEATURES:
            problems.append(f"feature kind {self.features!r} (this version knows {FEATURES!r})")
        if HAPPY not in self.class_names:
            problems.append(f"no {HAPPY!r} class in {list(self.class_names)}")
        for name in ("feature_mean", "feature_scale", "weights"):
            values = getattr(self, name)
            if len(values) != n or not all(_finite(v) for v in values):
                problems.append(f"{name} needs {n} finite numbers, got {list(values)}")
        if any(_finite(s) and s <= 0 for s in self.feature_scale):
            problems.append(f"feature_scale must be positive: {list(self.feature_scale)}")
        if not _finite(self.bias):
            problems.append(f"bias must be a finite number, got {self.bias!r}")
        if problems:
            raise ProfileError(
                "invalid calibration profile: " + "; ".join(problems) + ". Re-create it with "
                "`laetitia calibrate`."
            )

    @property
    def logistic(self) -> LogisticFit:
        """The profile's map from features to P(smile)."""
        return LogisticFit(
            mean=np.asarray(self.feature_mean),
            scale=np.asarray(self.feature_scale),
            weights=np.asarray(self.weights),
            bias=self.bias,
        )

    @property
    def happy_index(self) -> int:
        """Column of the "happy" class in the model's output."""
        return self.class_names.index(HAPPY)

    def check_model(self, identity: str, class_names: Sequence[str] = EMOTIONS) -> None:
        """Refuse to run with a model other than the one the profile was fitted on.

        Args:
            identity: sha256 of the model in use (`FerModel.identity`).
            class_names: The classes of the model in use.

        Raises:
            ProfileError: If the identities differ.
            LabelMismatchError: If the class names differ.
        """
        if identity != self.model_identity:
            raise ProfileError(
                f"this calibration profile was fitted on FER model {self.model_identity} "
                f"({self.model_name}), but the model in use is {identity}. A profile maps one "
                "model's outputs and means nothing for another: run `laetitia calibrate` again "
                "with this model, or score with the model the profile was made for "
                "(`model`).",
                mentions=("model",),
            )
        check_labels(self.class_names, class_names, source="calibration profile")

    def smile_probability_from_logits(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated P(smile) per frame, float64 (N,), from logits (N, C); NaN rows stay NaN."""
        logits = np.asarray(logits, dtype=np.float64)
        self._check_width(logits)
        log_probs = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        return self.logistic.predict(_features(log_probs, self.happy_index))

    def smile_probability(self, probs: np.ndarray) -> np.ndarray:
        """Calibrated P(smile) per frame, float64 (N,), from softmax probabilities (N, C).

        Gives what `smile_probability_from_logits` gives for the logits the probabilities came
        from. NaN rows (frames without a face) stay NaN.
        """
        probs = np.asarray(probs, dtype=np.float64)
        self._check_width(probs)
        return self.logistic.predict(profile_features(probs, self.happy_index))

    def calibrate_probs(self, probs: np.ndarray) -> np.ndarray:
        """Probabilities with the "happy" column replaced by the calibrated P(smile).

        Args:
            probs: float (N, C) softmax probabilities; NaN rows where there was no face.

        Returns:
            float32 (N, C): "happy" is P(smile); the other classes share 1 - P(smile) in the
            model's proportions among themselves; NaN rows stay NaN.
        """
        probs = np.asarray(probs, dtype=np.float64)
        smile = self.smile_probability(probs)
        others = probs.copy()
        others[:, self.happy_index] = 0.0
        total = others.sum(axis=1, keepdims=True)
        # A model that gives "happy" all the mass leaves nothing to share: split it evenly.
        even = np.full_like(others, 1.0 / (others.shape[1] - 1))
        even[:, self.happy_index] = 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.where(total > 0, others / total, even)
        out = shares * (1.0 - smile)[:, None]
        out[:, self.happy_index] = smile
        return out.astype(np.float32)

    def calibrate(self, reaction: Reaction) -> Reaction:
        """The reaction with calibrated probabilities; the raw mean P(happy) goes to `extras`.

        Raises:
            LabelMismatchError: If the reaction's classes are not the profile's.
        """
        check_labels(reaction.class_names, self.class_names, source="the reaction")
        raw = reaction.mean_probs()[self.happy_index]
        return dataclasses.replace(
            reaction,
            probs=self.calibrate_probs(reaction.probs),
            extras={**reaction.extras, "raw_happiness": float(raw)},
        )

    def describe(self) -> dict[str, Any]:
        """What a session's meta.json records about the profile."""
        return {
            "model_identity": self.model_identity,
            "features": self.features,
            "created": self.created,
            "source": self.source,
            "report": self.report,
        }

    def to_dict(self) -> dict[str, Any]:
        """The profile as plain JSON-ready data."""
        data = dataclasses.asdict(self)
        for name in ("class_names", "feature_mean", "feature_scale", "weights"):
            data[name] = list(data[name])
        return data

    @classmethod
    def from_dict(cls, data: object, source: str = "profile") -> Profile:
        """Build a profile from `to_dict` output, strictly (`laetitia.records.from_dict`).

        Raises:
            ProfileError: On unknown or missing keys, values of the wrong type or invalid
                values; the message names the key and `source`.
        """
        return from_dict(cls, data, source, ProfileError)

    def _check_width(self, values: np.ndarray) -> None:
        if values.ndim != 2 or values.shape[1] != len(self.class_names):
            raise ValueError(
                f"expected (N, {len(self.class_names)}) model outputs, got shape {values.shape}."
            )


def profile_features(probs: np.ndarray, happy_index: int) -> np.ndarray:
    """The features a profile reads, float64 (N, C + 1), from probabilities (N, C).

    Column 0 is log P(happy) - log(1 - P(happy)) (1 - P(happy) summed over the other classes,
    which keeps its precision when P(happy) is near 1); columns 1..C are the centred logits,
    log P minus its mean over the classes. NaN rows stay NaN.
    """
    probs = np.asarray(probs, dtype=np.float64)
    return _features(np.log(np.maximum(probs, np.finfo(np.float32).tiny)), happy_index)


def _features(log_probs: np.ndarray, happy_index: int) -> np.ndarray:
    others = np.delete(log_probs, happy_index, axis=1)
    with np.errstate(invalid="ignore"):  # NaN rows (no face) stay NaN, quietly
        log_odds = log_probs[:, happy_index] - np.logaddexp.reduce(others, axis=1)
    centred = log_probs - log_probs.mean(axis=1, keepdims=True)
    return np.column_stack([log_odds, centred])


def save_profile(profile: Profile, path: Path | str) -> Path:
    """Write a profile as JSON (atomically).

    Raises:
        ProfileError: If the file cannot be written.
    """
    from laetitia.files import write_json_atomic

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, profile.to_dict())
    except OSError as err:
        raise ProfileError(
            f"cannot write the calibration profile {path}: {err}. Choose a writable path."
        ) from err
    return path


def load_profile(path: Path | str) -> Profile:
    """Read a profile written by `save_profile`.

    Raises:
        ProfileError: If the file does not exist or is not a readable calibration profile.
    """
    path = Path(path)
    if not path.is_file():
        raise ProfileError(
            f"calibration profile not found: {path}. Make one with `laetitia calibrate`."
        )
    try:
        text = path.read_bytes()
    except OSError as err:
        raise ProfileError(f"{path} cannot be read: {err.strerror or err}.") from err
    source = f"{path} (a calibration profile, the JSON `laetitia calibrate` writes)"
    data = parse_json(text, source, ProfileError)
    return Profile.from_dict(data, source=str(path))


def load_profile_for(path: Path | str, model: Path | str | None = None) -> Profile:
    """Read a profile and check it was fitted on a FER model file, without loading the model.

    Args:
        path: The profile.
        model: The FER model file it will run with; None for the shipped one.

    Raises:
        ProfileError: If the profile is missing, unreadable or fitted on another model.
        LabelMismatchError: If its classes are not the model's.
    """
    from laetitia.fer import model_identity, read_card

    profile = load_profile(path)
    profile.check_model(model_identity(model), read_card(model).class_names)
    return profile


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class CalibratedMeter:
    """A happiness meter whose "happy" column is a person's calibrated P(smile).

    Wraps a `laetitia.meter.HappinessMeter` (or anything with its `read`, `model`, `detector`
    and `describe`): same interface, same frames and boxes, probabilities through
    `Profile.calibrate`.

    Args:
        meter: The meter to wrap.
        profile: The person's profile, fitted on `meter.model`.

    Raises:
        ProfileError: If the profile was fitted on another model.
        LabelMismatchError: If the classes differ.
    """

    def __init__(self, meter: Any, profile: Profile) -> None:
        profile.check_model(meter.model.identity, meter.model.class_names)
        self.meter = meter
        self.profile = profile

    @property
    def model(self) -> Any:
        """The wrapped meter's FER model."""
        return self.meter.model

    @property
    def detector(self) -> Any:
        """The wrapped meter's face detector."""
        return self.meter.detector

    def read(self, frames: Sequence[np.ndarray], **options: Any) -> Reaction:
        """The wrapped meter's reaction, calibrated (options go to its `read`)."""
        return self.profile.calibrate(self.meter.read(frames, **options))

    def describe(self) -> dict[str, Any]:
        """The wrapped meter's description plus the profile's."""
        return {**self.meter.describe(), "profile": self.profile.describe()}


def calibrated(meter: Any, profile: Profile | Path | str | None) -> Any:
    """`meter` with the profile applied; the meter itself when there is no profile.

    Args:
        meter: A happiness meter.
        profile: A profile, the path of one, or None.

    Raises:
        ProfileError: If the profile is missing, unreadable or fitted on another model.
    """
    if profile is None:
        return meter
    if not isinstance(profile, Profile):
        profile = load_profile(profile)
    return CalibratedMeter(meter, profile)
