"""Re-scoring a recorded session: its frames through the face pipeline again, or another signal.

    result = replay_session("runs/me", "runs/me-haar", detector="haar")
    result = replay_session("runs/me", "runs/me-fer", signal="fer-happy")
    print(result.summary.text())

The recorded frames of each step are read back (lossless, exactly as the camera gave them) and
read by a `HappinessMeter` step by step, in the order and groups they were recorded in; the
reward rule is applied as during the session (an unscored step carries the previous reward,
0.0 at the start of each episode). The output folder is a session like any other, with the
re-scored `reward` and probabilities, plus a `recorded_reward` column, and no images (they stay
in the source session). `summary.json` says how the rewards differ.

Another signal (`signal`) is computed from what `frames.csv` kept of each frame when that is
enough (the class probabilities are always kept, `smile`'s blendshapes when the session measured
them): no frame is read then, and a session recorded without its frames can be re-scored too.
When the table lacks what the signal needs, the kept frames are read again with it; when
neither is there, the replay is refused, saying so. Naming the session's own signal re-scores
from its table: the rewards come out as recorded.

Exactness: with the model and detector the session was recorded with, the re-scored rewards
equal the recorded ones bit for bit. The frames are identical, the detector sees them in the
same order starting from the same state (reset at the start of each step), and the meter
classifies each step's crops in one batch of the same composition as during the session, so
every float operation is repeated in the same order.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from laetitia.errors import ConfigError, SessionError
from laetitia.files import write_json_atomic
from laetitia.reward import reward_from
from laetitia.sessions import (
    NewSession,
    Session,
    SessionMeta,
    SessionRecorder,
    load_session,
    new_meta,
)
from laetitia.signals import get_signal
from laetitia.types import Reaction

if TYPE_CHECKING:
    from laetitia.faces import FaceDetector

SUMMARY_FILE = "summary.json"
RECORDED_REWARD = "recorded_reward"
"""The extra `steps.csv` column holding the reward the session recorded."""


@dataclass(frozen=True)
class ReplaySummary:
    """How the re-scored rewards differ from the recorded ones."""

    steps: int
    """Steps re-scored."""
    scored_recorded: int
    """Steps that saw a face during the session."""
    scored_replayed: int
    """Steps that saw a face when re-scored."""
    identical: int
    """Steps whose re-scored reward equals the recorded one exactly."""
    mean_abs_diff: float
    """Mean |re-scored - recorded| over the steps scored both times (NaN if none)."""
    max_abs_diff: float
    """Largest |re-scored - recorded| over the steps scored both times (NaN if none)."""
    correlation: float
    """Pearson correlation of the two rewards over the steps scored both times (NaN when
    undefined: fewer than two such steps, or a constant reward)."""
    status_changed: list[int] = field(default_factory=list)
    """Steps scored one time and not the other (a face found or lost by the new detector)."""
    same_model: bool = True
    """Whether the model is the one the session was recorded with (same identity hash)."""
    same_detector: bool = True
    """Whether the detector and its settings are the ones the session was recorded with."""
    signal: str = ""
    """The signal the re-scored rewards average."""
    same_signal: bool = True
    """Whether that is the signal the session was scored by."""
    source: str = "frames"
    """What was re-scored: "frames" (the kept images, read again) or "table" (frames.csv)."""

    @property
    def exact(self) -> bool:
        """Whether every re-scored reward equals the recorded one exactly."""
        return self.identical == self.steps

    def to_json(self) -> dict[str, Any]:
        """The summary as plain data."""
        return {**asdict(self), "exact": self.exact}

    def text(self) -> str:
        """The summary as a few lines for the terminal."""

        def fmt(x: float) -> str:
            return "n/a" if math.isnan(x) else f"{x:.6g}"

        if self.source == "table":
            how = "from frames.csv"
        else:
            how = (
                f"from the frames; model "
                f"{'as recorded' if self.same_model else 'not the recorded one'}, detector "
                f"{'as recorded' if self.same_detector else 'not the recorded one'}"
            )
        lines = [
            f"steps re-scored: {self.steps} by the signal {self.signal} "
            f"({'as recorded' if self.same_signal else 'not the recorded one'}; {how})",
            f"rewards identical to the recorded ones: {self.identical}/{self.steps}",
            f"|re-scored - recorded| over steps scored both times: mean {fmt(self.mean_abs_diff)}"
            f", max {fmt(self.max_abs_diff)}; correlation {fmt(self.correlation)}",
            f"steps with a face: recorded {self.scored_recorded}, re-scored {self.scored_replayed}",
        ]
        if self.status_changed:
            shown = ", ".join(str(s) for s in self.status_changed[:20])
            more = " ..." if len(self.status_changed) > 20 else ""
            lines.append(
                f"steps scored one time and not the other ({len(self.status_changed)}): "
                f"{shown}{more}"
            )
        return "\n".join(lines)


def summarize(
    recorded: np.ndarray,
    replayed: np.ndarray,
    scored_recorded: np.ndarray,
    scored_replayed: np.ndarray,
    same_model: bool = True,
    same_detector: bool = True,
    signal: str = "",
    same_signal: bool = True,
    source: str = "frames",
) -> ReplaySummary:
    """Compare re-scored rewards with recorded ones, step by step.

    Args:
        recorded: float64 (n,) rewards the session recorded.
        replayed: float64 (n,) rewards re-scored.
        scored_recorded: bool (n,) steps that saw a face during the session.
        scored_replayed: bool (n,) steps that saw a face when re-scored.
        same_model: Whether the model is the recorded one.
        same_detector: Whether the detector is the recorded one.
        signal: The signal re-scored by.
        same_signal: Whether it is the recorded one.
        source: "frames" or "table" (`ReplaySummary.source`).
    """
    both = scored_recorded & scored_replayed
    diff = np.abs(replayed[both] - recorded[both])
    correlation = math.nan
    if both.sum() >= 2 and np.std(recorded[both]) > 0 and np.std(replayed[both]) > 0:
        correlation = float(np.corrcoef(recorded[both], replayed[both])[0, 1])
    return ReplaySummary(
        steps=int(recorded.size),
        scored_recorded=int(scored_recorded.sum()),
        scored_replayed=int(scored_replayed.sum()),
        identical=int(np.sum(replayed == recorded)),
        mean_abs_diff=float(diff.mean()) if diff.size else math.nan,
        max_abs_diff=float(diff.max()) if diff.size else math.nan,
        correlation=correlation,
        status_changed=[int(s) for s in np.flatnonzero(scored_recorded != scored_replayed)],
        same_model=same_model,
        same_detector=same_detector,
        signal=signal,
        same_signal=same_signal,
        source=source,
    )


@dataclass(frozen=True)
class ReplayResult:
    """What a replay leaves behind."""

    folder: Path
    """The output session folder."""
    session: Session
    """The re-scored session, read back."""
    summary: ReplaySummary


def replay_session(
    source: Path | str,
    out: Path | str,
    model_path: Path | str | None = None,
    detector: str | None = None,
    progress: bool = True,
    profile: Path | str | None = None,
    signal: str | None = None,
) -> ReplayResult:
    """Re-score a recorded session and write the result as a new session.

    Args:
        source: The recorded session folder.
        out: The folder to write (must not hold a session).
        model_path: FER model file; None uses the model the session was recorded with.
        detector: Face detector name (`laetitia.faces.DETECTOR_NAMES`); None uses the
            detector, with the settings, the session was recorded with.
        progress: Show a progress bar.
        profile: The calibration profile the session was scored through, to re-score
            through it (its file is never taken from the session).
        signal: The signal to score by (`laetitia.signals`); None re-reads the frames with
            the session's own. A signal named is computed from `frames.csv` when it holds what
            the signal needs (and no model or detector is named), else from the frames.

    Raises:
        SessionError: If the frames must be read and the session kept none (`--no-frames`),
            or was not recorded by a camera viewer, needs a model or profile file not given,
            or `out` already holds a session or is written by another process.
        ConfigError: For an unknown signal.
    """
    session = load_session(source)
    if session.n_steps == 0:
        raise SessionError(f"session {session.folder} has no completed step to re-score.")
    recorded = session.meta.signal_name
    wanted = recorded if signal is None else get_signal(signal).name
    from_table = signal is not None and model_path is None and detector is None
    if from_table and _kept_for(session, wanted):
        score = _from_table(session, wanted)
        viewer: dict[str, Any] = {"kind": "session table", "path": str(Path(source).resolve())}
        same_model = same_detector = True
        described = {**get_signal(wanted).describe(), "from": "frames.csv"}
        if wanted == recorded:
            described = {**session.meta.signal, "from": "frames.csv"}
    else:
        from_table = False
        _require_frames(session, signal)
        meter, same_model, same_detector = build_meter(
            session.meta, model_path=model_path, detector=detector, profile=profile, signal=wanted
        )
        viewer = meter.describe()
        described = dict(viewer["signal"])

        def score(step: int) -> Reaction:
            # One call per step, as during the session: the detector starts afresh on the
            # step's first frame, and the step's crops are classified in one batch.
            reaction: Reaction = meter.read(session.read_frames(step))
            return reaction

    meta = new_meta(
        space=session.meta.space(),
        class_names=session.class_names,
        keep_frames=False,
        replay={
            "source": str(Path(source).resolve()),
            "source_viewer": session.meta.viewer,
            "source_signal": session.meta.signal,
            "same_model": same_model,
            "same_detector": same_detector,
        },
        viewer=viewer,
        signal=described,
        seed=session.meta.seed,
    )
    steps = session.steps
    replayed = np.empty(session.n_steps)
    scored = np.zeros(session.n_steps, dtype=bool)
    bar = _progress(session.n_steps, progress)
    # Locked while it is written; a failure before the first step leaves `out` as it was.
    with NewSession(Path(out)) as claim:
        claim.recorder = SessionRecorder(Path(out), meta, extra_columns=(RECORDED_REWARD,))
        with claim.recorder as recorder:
            _rescore(session, score, recorder, replayed, scored, bar)
        bar.close()
        summary = summarize(
            steps["reward"],
            replayed,
            steps["faces"] > 0,
            scored,
            same_model,
            same_detector,
            signal=wanted,
            same_signal=wanted == recorded,
            source="table" if from_table else "frames",
        )
        write_json_atomic(Path(out) / SUMMARY_FILE, summary.to_json())
    return ReplayResult(Path(out), load_session(out), summary)


def _rescore(
    session: Session,
    score: Callable[[int], Reaction],
    recorder: SessionRecorder,
    replayed: np.ndarray,
    scored: np.ndarray,
    bar: Any,
) -> None:
    """Score each step again and record it; fills `replayed` and `scored`."""
    steps, params = session.steps, session.params()
    previous, last_episode = 0.0, None
    for step in range(session.n_steps):
        episode = int(steps["episode"][step])
        if episode != last_episode:  # the env resets the carried reward
            last_episode = episode
            previous = 0.0
        reaction = score(step)
        terms = reward_from(reaction, previous_reward=previous)
        previous = terms.reward
        replayed[step], scored[step] = terms.reward, terms.scored
        recorder.record(
            episode,
            terms.reward,
            params[step],
            reaction,
            t=float(session.time_s[step]),
            extra=(float(steps["reward"][step]),),
        )
        bar.update(1)


def _kept_for(session: Session, signal: str) -> bool:
    """Whether the session's `frames.csv` holds everything `signal` needs per frame."""
    index = session.frame_index
    if index is None:
        return False
    if signal == session.meta.signal_name:
        return True
    return all(name in index.measures for name in get_signal(signal).measures)


def _from_table(session: Session, signal: str) -> Any:
    """A scorer of each step from `frames.csv`: the kept values, or `signal` computed anew."""
    chosen = get_signal(signal)
    own = signal == session.meta.signal_name

    def score(step: int) -> Reaction:
        kept = session.reaction(step)
        if own:
            return kept
        values = chosen.values(kept.probs, kept.measures, kept.class_names)
        return dataclasses.replace(kept, signal=signal, values=values)

    return score


def build_meter(
    meta: SessionMeta,
    model_path: Path | str | None = None,
    detector: str | None = None,
    profile: Path | str | None = None,
    signal: str | None = None,
) -> tuple[Any, bool, bool]:
    """The meter that re-scores a session: the recorded one, or another model, detector or signal.

    The recorded model is the shipped one when the recorded sha256 is the shipped model's;
    another is named (`model_path`), never taken from the session (`laetitia.app.places`). A
    calibration profile the session was scored through is applied again when the model and
    the signal are the recorded ones, from the file named (`profile`, checked against the
    recorded one).

    Args:
        meta: The session's `meta.json`.
        model_path: Another FER model file; None for the one the session was recorded with.
        detector: Another detector by name, with its default settings and the recorded
            tracking; None for the recorded detector with its recorded settings.
        profile: The profile the session was scored through, to apply it again.
        signal: The signal to score by; None for the recorded one.

    Returns:
        The meter, whether its model is the recorded one, and whether its detector is.

    Raises:
        SessionError: If the viewer read no face, or the recorded model or profile is not
            named (`model_path`, `profile`).
        ConfigError: If the profile named is not the recorded one, or the recorded detector
            used a model file of its own.
    """
    from laetitia.app.places import recorded_meter, recorded_model, recorded_profile
    from laetitia.fer import load_model
    from laetitia.meter import HappinessMeter

    recorded = recorded_meter(meta.viewer)
    if recorded is None:
        raise SessionError(
            f"the session's viewer ({meta.viewer.get('kind', 'unknown')}) read no camera frames "
            "through a face detector and FER model, so there is nothing to re-score."
        )
    identity = recorded["model"].get("identity")
    if model_path is None:
        model_path = recorded_model(meta, None, field="model_path")
    model = load_model(model_path)
    same_model = model.identity == identity
    # As recorded: an older session's description names its tracking options since it was
    # read (`laetitia.sessions.migrations`), so it compares with the detector's own.
    recorded_detector = dict(recorded["detector"])
    face_detector = _detector(recorded_detector, detector)
    signal = signal or meta.signal_name
    meter: Any = HappinessMeter(face_detector, model, signal=signal)
    if "profile" in recorded and same_model and signal == meta.signal_name:
        from laetitia.profile import calibrated

        chosen = recorded_profile(meta, None if profile is None else Path(profile))
        meter = calibrated(meter, chosen)
    elif profile is not None:
        raise ConfigError(
            "profile: the session was not scored through a calibration profile with this model "
            "and signal; a re-scoring applies only the one it was scored through.",
            field="profile",
        )
    same_detector = face_detector.describe() == recorded_detector
    return meter, same_model, same_detector


def _detector(recorded: dict[str, Any], name: str | None) -> FaceDetector:
    """The recorded detector, or another by name with the recorded tracking settings.

    A recorded detector's own model file is never opened because the session names it: the
    shipped one stands in when the recorded sha256 is its (`shipped_detector_models`).
    """
    from laetitia.faces import TRACKING_OPTIONS, detector_from_description
    from laetitia.faces.descriptions import shipped_detector_models

    recorded = shipped_detector_models(recorded)
    if name is None or name == recorded["name"]:
        return detector_from_description(recorded)
    tracking = {k: v for k, v in recorded.items() if k in TRACKING_OPTIONS}
    return detector_from_description({"name": name, **tracking})


def _require_frames(session: Session, signal: str | None) -> None:
    if not session.frames_kept:
        lacks = (
            ""
            if signal is None
            else f" Its frames.csv does not keep what the signal {signal} needs either."
        )
        raise SessionError(
            f"session {session.folder} was recorded without frames: it keeps no image of the "
            f"person, so it cannot be re-scored.{lacks} Its per-frame probabilities are in "
            "frames.csv; to re-score future sessions, record them with their frames."
        )
    index = session.frame_index
    if index is None or not all(index.files):
        raise SessionError(
            f"session {session.folder} has no camera frames to re-score (it was recorded with "
            "a viewer that has no camera, such as sim or session)."
        )


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, show: bool) -> Any:
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="step", desc="re-scoring", dynamic_ncols=True, mininterval=0.5)
