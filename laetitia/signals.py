"""The smile signal: what each frame is scored by, as one named, recorded choice.

    signal = get_signal("smile")
    signal.measures                          # ('mouthSmileLeft', 'mouthSmileRight')
    values = signal.values(probs, measures)  # float32 per frame, NaN where no face

The reward is the mean of the session's signal over the frames with a face (`laetitia.reward`).
Each signal says what it needs per frame beyond the FER model's class probabilities (which the
meter always reads, and `frames.csv` always keeps), how a frame's value is computed from those
stored inputs (so a session is re-scored from its table, bit for bit), and its description.

- `smile`: the mean of MediaPipe's `mouthSmileLeft` and `mouthSmileRight` blendshapes
  (`laetitia.landmarks`), uncalibrated; it needs the two blendshapes per frame. On the London
  set's 54 dev people: ROC AUC neutral vs smiling 0.937, 69% of smiles read >= 0.5, 100% of
  neutral faces < 0.5.
- `fer-happy`: the FER model's P(happy), DeepLaetitia's reward and the `-v0` envs'; nothing
  more per frame. 0.888; 30%; 100%.
- `fer-smile`: a population logistic regression on the FER model's happy log-odds, fitted on
  the London dev half (`FER_SMILE_FIT`); nothing more per frame. 0.881 (cross-validated over
  people); 78%; 87%.

`smile` is the default of the `-v1` envs: it sees faint and closed-mouth smiles that P(happy)
reads as 0, and reads the same smile alike across the set's ethnic groups (README, BENCHMARKS).
A person's calibration (`laetitia.profile`) can go on top of any signal: its features are the
signal's own (`Signal.calibration_features`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from laetitia.errors import CheckpointError, ConfigError
from laetitia.labels import EMOTIONS, HAPPY
from laetitia.logistic import LogisticFit
from laetitia.records import from_dict
from laetitia.types import FER_HAPPY, SMILE

FER_SMILE: Final = "fer-smile"
DEFAULT_SIGNAL: Final = SMILE
"""The signal of the `-v1` envs' webcam and video viewers, and of `laetitia fer predict`."""
SMILE_MEASURES: Final = ("mouthSmileLeft", "mouthSmileRight")
"""The blendshapes `smile` averages (`laetitia.landmarks.BLENDSHAPE_NAMES`)."""
FER_SMILE_FIT: Final = "fer_smile.json"
"""The population fit of `fer-smile`, beside the shipped FER weights (`laetitia/fer/weights/`),
refitted by `scripts/fit_fer_smile.py`."""
FIT_FORMAT: Final = "laetitia-population-fit/1"
LOGIT_FLOOR: Final = 1e-6
"""A blendshape score is clipped to [floor, 1 - floor] before its logit is taken."""


def fer_features(probs: np.ndarray, happy_index: int) -> np.ndarray:
    """The FER model's evidence for "happy", float64 (N, C + 1), from probabilities (N, C).

    Column 0 is log P(happy) - log(1 - P(happy)) (1 - P(happy) summed over the other classes,
    which keeps its precision when P(happy) is near 1); columns 1..C are the centred logits,
    log P minus its mean over the classes (the softmax ignores a common shift of the logits, so
    they carry everything the probabilities do). NaN rows stay NaN.
    """
    probs = np.asarray(probs, dtype=np.float64)
    return log_prob_features(np.log(np.maximum(probs, np.finfo(np.float32).tiny)), happy_index)


def log_prob_features(log_probs: np.ndarray, happy_index: int) -> np.ndarray:
    """`fer_features` from log-probabilities (the log-softmax of logits)."""
    others = np.delete(log_probs, happy_index, axis=1)
    with np.errstate(invalid="ignore"):  # NaN rows (no face) stay NaN, quietly
        log_odds = log_probs[:, happy_index] - np.logaddexp.reduce(others, axis=1)
    centred = log_probs - log_probs.mean(axis=1, keepdims=True)
    return np.column_stack([log_odds, centred])


@dataclass(frozen=True)
class PopulationFit:
    """`fer-smile`'s map, as `laetitia/fer/weights/fer_smile.json` holds it."""

    model_identity: str
    """sha256 of the FER weights file it was fitted on."""
    features: str
    """"happy_log_odds": column 0 of `fer_features`."""
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    l2: float
    """L2 penalty of the fit (`laetitia.logistic.fit_logistic`, class-balanced)."""
    fitted_on: dict[str, Any]
    """The images it was fitted on: the London set's dev half, never its held-out half."""
    cross_validated: dict[str, Any]
    """Figures of the same fit left one person out at a time (what `fer-smile` scores)."""
    format: str = FIT_FORMAT

    @property
    def logistic(self) -> LogisticFit:
        """The map from the happy log-odds to P(smile)."""
        return LogisticFit.of(self.mean, self.scale, self.weights, self.bias)


def fer_smile_fit_path() -> Path:
    """Path of the shipped `fer_smile.json`."""
    resource = importlib.resources.files("laetitia") / "fer" / "weights" / FER_SMILE_FIT
    return Path(str(resource))


def read_population_fit(path: Path | None = None) -> tuple[PopulationFit, str]:
    """`fer-smile`'s fit and the sha256 of its file.

    Raises:
        CheckpointError: If the file is missing or not a population fit.
    """
    path = fer_smile_fit_path() if path is None else path
    try:
        data = path.read_bytes()
        fit = from_dict(PopulationFit, json.loads(data), str(path), CheckpointError)
    except (OSError, ValueError) as err:
        raise CheckpointError(
            f"cannot read the fer-smile fit {path} ({err}). Reinstall laetitia, or refit it "
            "with scripts/fit_fer_smile.py."
        ) from err
    if fit.format != FIT_FORMAT:
        raise CheckpointError(f"{path}: format {fit.format!r}, this laetitia reads {FIT_FORMAT!r}.")
    return fit, hashlib.sha256(data).hexdigest()


@functools.cache
def shipped_fit() -> tuple[PopulationFit, str]:
    """The shipped `fer_smile.json` and its sha256, read once per process."""
    return read_population_fit()


PerFrame = Callable[[np.ndarray, Mapping[str, np.ndarray], int], np.ndarray]
"""A function of a frame's readings: the class probabilities (N, C), the measures (name ->
(N,)), and the column of "happy" among the classes."""


def happy_column(probs: np.ndarray, measures: Mapping[str, np.ndarray], happy: int) -> np.ndarray:
    """`fer-happy`: the "happy" column, float32, as it is (a `-v0` reward, bit for bit)."""
    return np.asarray(probs[:, happy], dtype=np.float32)


def smile_mean(probs: np.ndarray, measures: Mapping[str, np.ndarray], happy: int) -> np.ndarray:
    """`smile`: (mouthSmileLeft + mouthSmileRight) / 2, computed in float64, as float32."""
    left, right = (np.asarray(measures[name], dtype=np.float64) for name in SMILE_MEASURES)
    return ((left + right) / 2).astype(np.float32)


def fer_smile(probs: np.ndarray, measures: Mapping[str, np.ndarray], happy: int) -> np.ndarray:
    """`fer-smile`: sigmoid(bias + w (happy log-odds - mean) / scale), as float32."""
    features = fer_features(probs, happy)[:, :1]
    return shipped_fit()[0].logistic.predict(features).astype(np.float32)


def fer_evidence(probs: np.ndarray, measures: Mapping[str, np.ndarray], happy: int) -> np.ndarray:
    """A FER signal's calibration features: `fer_features` (C + 1 numbers)."""
    return fer_features(probs, happy)


def smile_logit(probs: np.ndarray, measures: Mapping[str, np.ndarray], happy: int) -> np.ndarray:
    """`smile`'s calibration feature: its logit, the score clipped to [1e-6, 1 - 1e-6]."""
    smile = np.clip(
        smile_mean(probs, measures, happy).astype(np.float64), LOGIT_FLOOR, 1 - LOGIT_FLOOR
    )
    return np.log(smile / (1 - smile))[:, None]


@dataclass(frozen=True)
class Signal:
    """A named smile signal: what it needs per frame and how a frame's value is computed."""

    name: str
    """The name sessions, the CLI and `gym.make(..., signal=NAME)` know it by."""
    label: str
    """How a gauge, a plot or a table names its values ("P(happy)", "smile")."""
    summary: str
    """One line for `--help` and the README."""
    compute: PerFrame
    """A frame's value from its readings (`values`)."""
    measures: tuple[str, ...] = ()
    """What the meter must measure per frame beyond the class probabilities."""
    features: PerFrame = fer_evidence
    """What a person's calibration maps to P(smile) (`calibration_features`); the first column
    is the one a calibration penalises least (`laetitia.app.calibration.fit`)."""
    feature_kind: str = "happy_log_odds+centered_logits"
    """The kind of `features`, recorded in a profile."""
    reads_fer: bool = True
    """Whether its values (and its calibration features) are the FER model's output: a profile
    of it is then tied to that model."""
    fit: Callable[[], tuple[PopulationFit, str]] | None = None
    """A population fit on one FER model's output, and its file's sha256; None for none."""

    @property
    def needs_landmarks(self) -> bool:
        """Whether the meter must run the face landmarker for it."""
        return bool(self.measures)

    def values(
        self,
        probs: np.ndarray,
        measures: Mapping[str, np.ndarray],
        class_names: Sequence[str] = EMOTIONS,
    ) -> np.ndarray:
        """The signal per frame, float32 (N,), NaN where there was no face.

        Args:
            probs: float32 (N, C) class probabilities, NaN rows where no face.
            measures: float32 (N,) per name of `measures`, NaN where no face.
            class_names: The columns of `probs`.
        """
        return self.compute(probs, measures, list(class_names).index(HAPPY))

    def calibration_features(
        self,
        probs: np.ndarray,
        measures: Mapping[str, np.ndarray],
        class_names: Sequence[str] = EMOTIONS,
    ) -> np.ndarray:
        """What a person's calibration maps to P(smile), float64 (N, D); NaN rows stay NaN."""
        return self.features(probs, measures, list(class_names).index(HAPPY))

    def feature_count(self, n_classes: int) -> int:
        """How many calibration features a frame has, for a model of `n_classes` classes."""
        measures = {name: np.full(1, 0.5, np.float32) for name in self.measures}
        return int(self.features(np.full((1, n_classes), 1 / n_classes), measures, 0).shape[1])

    def check_model(self, identity: str) -> None:
        """Refuse a FER model other than the one the signal's population fit was made on.

        Raises:
            ConfigError: For another model's identity (signals without a fit take any).
        """
        if self.fit is None:
            return
        fitted = self.fit()[0].model_identity
        if identity != fitted:
            raise ConfigError(
                f"signal {self.name} maps the shipped FER model's output (sha256 "
                f"{fitted[:12]}...), not that of model {identity[:12]}...: score that model "
                "with fer-happy or smile, or refit fer-smile for it (scripts/fit_fer_smile.py).",
                field="signal",
            )

    def describe(self) -> dict[str, Any]:
        """What a session records of the signal (the meter adds its models' sha256)."""
        described: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "summary": self.summary,
            "measures": list(self.measures),
        }
        if self.fit is not None:
            fit, sha256 = self.fit()
            described["fit"] = {"file": FER_SMILE_FIT, "sha256": sha256, "fitted_on": fit.fitted_on}
        return described


SIGNALS: Final[dict[str, Signal]] = {
    SMILE: Signal(
        SMILE,
        "smile",
        "mean of the mouthSmileLeft/Right blendshapes of MediaPipe's face landmarker",
        smile_mean,
        measures=SMILE_MEASURES,
        features=smile_logit,
        feature_kind="smile_logit",
        reads_fer=False,
    ),
    FER_HAPPY: Signal(
        FER_HAPPY, "P(happy)", "the FER model's P(happy) (DeepLaetitia's reward)", happy_column
    ),
    FER_SMILE: Signal(
        FER_SMILE,
        "P(smile), FER",
        "a population P(smile) from the FER model's happy log-odds (fitted on the London set)",
        fer_smile,
        fit=shipped_fit,
    ),
}
"""Every signal, by name; the first is the default."""
SIGNAL_NAMES: Final = tuple(SIGNALS)


def get_signal(name: str) -> Signal:
    """The signal of a name.

    Raises:
        ConfigError: If no signal has that name.
    """
    if name not in SIGNALS:
        raise ConfigError(
            f"signal {name!r} is unknown; choose one of {', '.join(SIGNAL_NAMES)}.",
            field="signal",
        )
    return SIGNALS[name]
