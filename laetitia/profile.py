"""Calibration profiles: one person's mapping from a smile signal to their P(smile).

    meter = calibrated(HappinessMeter.live(signal="smile"), "me.json")  # refused for others
    reaction = meter.read(frames)                # the signal's values are now P(smile)

    profile = load_profile("me.json")            # or by hand, for any reaction of the meter
    profile.check_signal(reaction.signal)
    calibrated_reaction = profile.calibrate(raw_reaction)

A profile is a small JSON file (never a pickle) written by `laetitia calibrate --signal NAME`
(`laetitia.app.calibration`). It records the signal it was made for (`signal`; profiles from
before there was a choice are `fer-happy`'s) and holds a logistic regression on that signal's
calibration features (`laetitia.signals.Signal.calibration_features`):

- for the FER signals (`fer-happy`, `fer-smile`), eight numbers per frame: the model's own
  evidence for "happy", its log-odds log P(happy) - log(1 - P(happy)), and the *centred
  logits*, the logits minus their mean over the classes. The softmax ignores a common shift of
  the logits, so the centred logits carry everything the probabilities do and nothing else, and
  both features can be computed alike from logits or from the probabilities a `Reaction`
  carries. A handful of numbers keeps the fit well-posed with the few dozen frames a
  calibration records (the 128 penultimate features would not be). Such a profile maps one FER
  model's outputs and is refused with another (`check_model`);
- for `smile`, one number: the logit of the smile.

Applied to a reaction, the profile replaces the signal's values with the calibrated P(smile);
the class probabilities stay the model's own. The raw mean of the signal is kept in the
reaction's `extras` as `raw_signal`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from laetitia.errors import ConfigError, ProfileError
from laetitia.labels import EMOTIONS, HAPPY, check_labels
from laetitia.logistic import LogisticFit
from laetitia.records import from_dict, parse_json
from laetitia.signals import Signal, get_signal, log_prob_features
from laetitia.types import FER_HAPPY, Reaction

PROFILE_FORMAT = "laetitia-calibration/1"
"""Value of a profile file's `format` key."""


@dataclass(frozen=True)
class Profile:
    """A person's calibration: logistic regression from a signal's features to P(smile).

    P(smile) = sigmoid(bias + weights . (features - feature_mean) / feature_scale) (`logistic`),
    with the features of the signal's `calibration_features`.
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
    """Feature kind: the signal's `feature_kind`."""
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
    signal: str = FER_HAPPY
    """The smile signal the profile calibrates (`laetitia.signals`); a profile file that names
    none calibrates `fer-happy`, the FER model's P(happy)."""

    def __post_init__(self) -> None:
        for name in ("class_names", "feature_mean", "feature_scale", "weights"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        problems = self._signal_problems()
        if self.format != PROFILE_FORMAT:
            problems.append(f"format {self.format!r} (this version reads {PROFILE_FORMAT!r})")
        if HAPPY not in self.class_names:
            problems.append(f"no {HAPPY!r} class in {list(self.class_names)}")
        n = self.calibrated_signal.feature_count(len(self.class_names))
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

    def _signal_problems(self) -> list[str]:
        """What is wrong with the signal and feature kind (a list, empty when nothing is)."""
        try:
            signal = get_signal(self.signal)
        except ConfigError as error:
            raise ProfileError(f"invalid calibration profile: {error}") from error
        if self.features != signal.feature_kind:
            return [
                f"feature kind {self.features!r} (signal {self.signal} has {signal.feature_kind!r})"
            ]
        return []

    @property
    def logistic(self) -> LogisticFit:
        """The profile's map from features to P(smile)."""
        return LogisticFit.of(self.feature_mean, self.feature_scale, self.weights, self.bias)

    @property
    def happy_index(self) -> int:
        """Column of the "happy" class in the model's output."""
        return self.class_names.index(HAPPY)

    @property
    def calibrated_signal(self) -> Signal:
        """The signal the profile calibrates."""
        return get_signal(self.signal)

    def check_signal(self, signal: str) -> None:
        """Refuse to calibrate a signal other than the one the profile was made for.

        Raises:
            ProfileError: If `signal` is another signal's name.
        """
        if signal != self.signal:
            raise ProfileError(
                f"this calibration profile was made for the signal {self.signal}, and the "
                f"session scores {signal}: a profile maps one signal to P(smile) and means "
                f"nothing for another. Calibrate again with `signal` {signal}, or score with "
                f"the signal {self.signal}.",
                mentions=("signal",),
            )

    def check_model(self, identity: str, class_names: Sequence[str] = EMOTIONS) -> None:
        """Refuse to run with a FER model other than the one the profile was fitted on.

        A profile of `smile` reads no FER output: any model goes with it.

        Args:
            identity: sha256 of the model in use (`FerModel.identity`).
            class_names: The classes of the model in use.

        Raises:
            ProfileError: If the identities differ.
            LabelMismatchError: If the class names differ.
        """
        check_labels(self.class_names, class_names, source="calibration profile")
        if not self.calibrated_signal.reads_fer:
            return
        if identity != self.model_identity:
            raise ProfileError(
                f"this calibration profile was fitted on FER model {self.model_identity} "
                f"({self.model_name}), but the model in use is {identity}. A profile maps one "
                "model's outputs and means nothing for another: run `laetitia calibrate` again "
                "with this model, or score with the model the profile was made for "
                "(`model`).",
                mentions=("model",),
            )

    def smile_probability_from_logits(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated P(smile) per frame, float64 (N,), from logits (N, C); NaN rows stay NaN.

        For a profile of a FER signal, whose features the logits give.
        """
        assert self.calibrated_signal.reads_fer, "a smile profile reads blendshapes, not logits"
        logits = np.asarray(logits, dtype=np.float64)
        self._check_width(logits)
        log_probs = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        return self.logistic.predict(log_prob_features(log_probs, self.happy_index))

    def smile_probability(
        self, probs: np.ndarray, measures: Mapping[str, np.ndarray] | None = None
    ) -> np.ndarray:
        """Calibrated P(smile) per frame, float64 (N,), from what the signal reads per frame.

        Args:
            probs: float (N, C) softmax probabilities (for a FER signal, this gives what
                `smile_probability_from_logits` gives for the logits they came from).
            measures: What the signal measures per frame beyond them (`Reaction.measures`).

        NaN rows (frames without a face) stay NaN.
        """
        probs = np.asarray(probs, dtype=np.float64)
        self._check_width(probs)
        features = self.calibrated_signal.calibration_features(
            probs, measures or {}, self.class_names
        )
        return self.logistic.predict(features)

    def calibrate(self, reaction: Reaction) -> Reaction:
        """The reaction with the calibrated P(smile) as its signal's values.

        The class probabilities and measures stay as read; the raw mean of the signal over the
        frames with a face goes to `extras` as `raw_signal` (NaN: none had one).

        Raises:
            ProfileError: If the reaction carries another signal.
            LabelMismatchError: If the reaction's classes are not the profile's.
        """
        self.check_signal(reaction.signal)
        check_labels(reaction.class_names, self.class_names, source="the reaction")
        raw = reaction.signal_values()[reaction.has_face]
        mean = float(np.mean(raw, dtype=np.float64)) if raw.size else math.nan
        values = self.smile_probability(reaction.probs, reaction.measures).astype(np.float32)
        values[~reaction.has_face] = np.nan
        return dataclasses.replace(
            reaction, values=values, extras={**reaction.extras, "raw_signal": mean}
        )

    def describe(self) -> dict[str, Any]:
        """What a session's meta.json records about the profile."""
        return {
            "signal": self.signal,
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


def load_profile_for(
    path: Path | str, model: Path | str | None = None, signal: str = FER_HAPPY
) -> Profile:
    """Read a profile and check it fits a signal and a FER model file, without loading the model.

    Args:
        path: The profile.
        model: The FER model file it will run with; None for the shipped one.
        signal: The signal it will calibrate.

    Raises:
        ProfileError: If the profile is missing, unreadable, made for another signal or
            fitted on another model.
        LabelMismatchError: If its classes are not the model's.
    """
    from laetitia.fer import model_identity, read_card

    profile = load_profile(path)
    profile.check_signal(signal)
    profile.check_model(model_identity(model), read_card(model).class_names)
    return profile


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class CalibratedMeter:
    """A happiness meter whose signal's values are a person's calibrated P(smile).

    Wraps a `laetitia.meter.HappinessMeter` (or anything with its `read`, `model`, `detector`,
    `signal` and `describe`): same interface, same frames, boxes and probabilities, the values
    through `Profile.calibrate`.

    Args:
        meter: The meter to wrap.
        profile: The person's profile, made for `meter.signal` and fitted on `meter.model`.

    Raises:
        ProfileError: If the profile was made for another signal or fitted on another model.
        LabelMismatchError: If the classes differ.
    """

    def __init__(self, meter: Any, profile: Profile) -> None:
        profile.check_signal(meter.signal.name)
        profile.check_model(meter.model.identity, meter.model.class_names)
        self.meter = meter
        self.profile = profile

    @property
    def signal(self) -> Signal:
        """The signal the wrapped meter reads (its values calibrated here)."""
        signal: Signal = self.meter.signal
        return signal

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
