"""`laetitia study export`: a study's data as tidy tables (Parquet) or offline-RL datasets (Minari).

    export(Path("my-study"), "parquet", Path("exports/tables"))
    export(Path("my-study"), "minari", Path("exports/minari"))
    export(Path("my-study/participants/P03/bayes"), "parquet", Path("exports/p03"))  # one session

Parquet (pyarrow): `steps.parquet`, one row per step, and `frames.parquet`, one row per frame
the camera read, each with `participant`, `condition`, `position` (in that participant's order),
`simulated` and `session` columns before the session's own columns (`step`, `episode`, `time_s`,
`reward`, `faces`, the parameters as `param_NAME`, the class probabilities as `p_CLASS`, and any
further column of `steps.csv`). No image is exported: the frame table holds each frame's values.

Minari: one dataset per condition, `laetitia/STUDY/CONDITION-v0`, under `PATH` as a Minari
datasets root, so `MINARI_DATASETS_PATH=PATH` and `minari.load_dataset(ID)` load it (its layout:
`laetitia.sessions.minari`). The `session:` viewer reads such a dataset back.

Every step recorded is exported, those of sessions still in progress too. An export goes into a
new (or empty) folder with a manifest (`laetitia-export.json`) naming what it wrote and whose
data it holds, and the study keeps a log of its exports and reports (`exports.json`), so a
withdrawal deletes every one that holds the participant (`laetitia.app.study.withdraw`).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from laetitia.app.study.participants import folder_lock, now, read_record, study_sessions
from laetitia.app.study.protocol import STUDY_FILE, read_study
from laetitia.errors import StudyError
from laetitia.files import atomic_path, write_json_atomic
from laetitia.sessions import META_FILE, Session, load_session
from laetitia.sessions.minari import (
    INFO_FACES,
    INFO_PROBS,
    INFO_STEP,
    INFO_TIME,
    METADATA_KEY,
)
from laetitia.sessions.paths import is_file_inside

if TYPE_CHECKING:
    import gymnasium as gym
    import pandas as pd

FORMATS: Final = ("parquet", "minari")
REPORT: Final = "report"
"""The log's format of a report (`laetitia study report`), deleted at a withdrawal too."""
MANIFEST: Final = "laetitia-export.json"
"""What an export wrote and whose data it holds, in its folder."""
EXPORTS_FILE: Final = "exports.json"
"""The study's log of its exports."""
STEPS_TABLE, FRAMES_TABLE = "steps.parquet", "frames.parquet"
NAMESPACE: Final = "laetitia"
"""The Minari namespace of every dataset laetitia exports."""
EXPORT_FORMAT: Final = 1


@dataclass(frozen=True)
class ExportRecord:
    """One export: in its folder's manifest and in the study's log."""

    export_id: str
    format: str
    path: str
    """The export folder, absolute."""
    participants: tuple[str, ...]
    """Whose data it holds."""
    written: tuple[str, ...]
    """What it wrote in its folder: the entries a withdrawal deletes."""
    created: str
    study: str
    datasets: tuple[str, ...] = ()
    """The Minari dataset ids, for a Minari export."""
    sha256: dict[str, str] = field(default_factory=dict)
    """A report's files (it has no folder of its own, so no manifest): deleted only while
    they are still what it wrote."""
    format_version: int = EXPORT_FORMAT


@dataclass(frozen=True)
class ExportLog:
    """The study's exports (`exports.json`)."""

    exports: tuple[ExportRecord, ...] = ()


@dataclass(frozen=True)
class Labelled:
    """A session to export and its labels."""

    folder: Path
    participant: str
    condition: str
    position: int | None
    simulated: bool


def _labelled(source: Path) -> tuple[str, Path | None, list[Labelled]]:
    """The study name, study folder (None for a lone session) and sessions of `source`."""
    if (source / STUDY_FILE).is_file():
        study = read_study(source)
        return (
            study.name,
            source,
            [
                Labelled(
                    s.folder,
                    s.participant.participant,
                    s.run.condition,
                    s.run.position,
                    s.participant.simulated,
                )
                for s in study_sessions(source)
            ],
        )
    if not is_file_inside(source, META_FILE):
        raise StudyError(
            f"{source} is neither a study folder ({STUDY_FILE}) nor a session folder "
            f"({META_FILE}); export one of those."
        )
    study_dir = source.resolve().parents[2] if len(source.resolve().parents) > 2 else None
    if study_dir is not None and (study_dir / STUDY_FILE).is_file():
        for item in _labelled(study_dir)[2]:
            if item.folder.resolve() == source.resolve():
                return read_study(study_dir).name, study_dir, [item]
    session = load_session(source)
    return "session", None, [Labelled(source, "", session.meta.agent or "session", None, False)]


def export(source: Path | str, format: str, out: Path | str) -> ExportRecord:
    """Export a study's sessions, or one session, into a new folder `out`.

    Raises:
        StudyError: For an unknown format, an `out` that is not a new or empty folder, or a
            source that is neither a study nor a session folder, or holds no session.
    """
    if format not in FORMATS:
        raise StudyError(f"format {format!r} is not one of {list(FORMATS)}.", field="format")
    source, out = Path(source), Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise StudyError(
            f"out {out} exists and is not an empty folder; an export goes into a new folder.",
            field="out",
        )
    study, study_dir, sessions = _labelled(source.resolve())
    sessions = [s for s in sessions if load_session(s.folder).n_steps]
    if not sessions:
        raise StudyError(f"{source} has no recorded step to export yet.")
    out.mkdir(parents=True, exist_ok=True)
    datasets: tuple[str, ...] = ()
    if format == "parquet":
        written = write_parquet(sessions, out, study)
    else:
        datasets = write_minari(sessions, out, study)
        written = (NAMESPACE,)
    record = ExportRecord(
        export_id=secrets.token_hex(8),
        format=format,
        path=str(out.resolve()),
        participants=tuple(sorted({s.participant for s in sessions if s.participant})),
        written=written,
        created=now(),
        study=study,
        datasets=datasets,
    )
    write_json_atomic(out / MANIFEST, asdict(record), indent=2)
    if study_dir is not None:
        log_export(study_dir, record)
    return record


def log_export(study_dir: Path, record: ExportRecord) -> None:
    """Add an export (or a report) to the study's log, so a withdrawal can delete it."""
    with folder_lock(study_dir, f"the study {study_dir}"):
        log = read_export_log(study_dir)
        write_export_log(study_dir, ExportLog((*log.exports, record)))


# ---------------------------------------------------------------------------------------------
# Parquet


def steps_table(sessions: list[Labelled]) -> pd.DataFrame:
    """One row per recorded step of every session, labelled (see the module)."""
    import pandas as pd

    frames = []
    for item in sessions:
        session = load_session(item.folder)
        columns: dict[str, Any] = {
            **_labels(item, session.n_steps),
            "step": session.steps["step"].astype(np.int64),
            "episode": session.steps["episode"].astype(np.int64),
            "time_s": session.time_s,
            "reward": session.steps["reward"],
            "faces": session.steps["faces"].astype(np.int64),
        }
        columns |= {f"param_{n}": session.steps[n] for n in session.param_names}
        columns |= {f"p_{c}": session.steps[c] for c in session.class_names}
        known = {"step", "episode", "t", "reward", "faces", *session.param_names}
        known |= set(session.class_names)
        columns |= {c: session.steps[c] for c in session.columns if c not in known | set(columns)}
        frames.append(pd.DataFrame(columns))
    return pd.concat(frames, ignore_index=True)


def frames_table(sessions: list[Labelled]) -> pd.DataFrame:
    """One row per frame the camera read, labelled; the face box and class probabilities."""
    import pandas as pd

    frames = []
    for item in sessions:
        session = load_session(item.folder)
        index = session.frame_index
        if index is None:
            continue
        columns: dict[str, Any] = {
            **_labels(item, index.n_frames),
            "step": index.step,
            "frame": index.frame,
            "time_s": index.t,
            "face": index.has_face,
        }
        columns |= {name: index.boxes[:, i] for i, name in enumerate(("x", "y", "w", "h"))}
        columns |= {f"p_{c}": index.probs[:, i] for i, c in enumerate(session.class_names)}
        frames.append(pd.DataFrame(columns))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _labels(item: Labelled, rows: int) -> dict[str, Any]:
    import pandas as pd

    return {
        "participant": pd.Series([item.participant] * rows, dtype="string"),
        "condition": pd.Series([item.condition] * rows, dtype="string"),
        "position": pd.Series([item.position] * rows, dtype="Int64"),
        "simulated": np.full(rows, item.simulated),
        "session": pd.Series([_session_name(item)] * rows, dtype="string"),
    }


def _session_name(item: Labelled) -> str:
    """A session's name in the tables: PARTICIPANT/CONDITION, or a lone session's folder name."""
    return f"{item.participant}/{item.condition}" if item.participant else item.folder.name


def write_parquet(sessions: list[Labelled], out: Path, study: str) -> tuple[str, ...]:
    """Write `steps.parquet` and `frames.parquet` into `out`; returns their names."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from laetitia import __version__

    about = json.dumps({"study": study, "laetitia": __version__}).encode()
    for name, table in (
        (STEPS_TABLE, steps_table(sessions)),
        (FRAMES_TABLE, frames_table(sessions)),
    ):
        arrow = pa.Table.from_pandas(table, preserve_index=False)
        arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), b"laetitia": about})
        with atomic_path(out / name) as tmp:
            pq.write_table(arrow, tmp)
    return (STEPS_TABLE, FRAMES_TABLE)


# ---------------------------------------------------------------------------------------------
# Minari


@contextmanager
def datasets_root(root: Path) -> Iterator[None]:
    """Minari's datasets root (`MINARI_DATASETS_PATH`, which it reads at each call) for a while."""
    before = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(root.resolve())
    try:
        yield
    finally:
        if before is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = before


def dataset_id(study: str, condition: str) -> str:
    """The Minari id of a condition's dataset."""
    return f"{NAMESPACE}/{study}/{condition}-v0"


def write_minari(sessions: list[Labelled], root: Path, study: str) -> tuple[str, ...]:
    """Write one Minari dataset per condition under the datasets root `root`; returns the ids."""
    import minari

    from laetitia import __version__

    ids = []
    for condition in sorted({s.condition for s in sessions}):
        mine = [s for s in sessions if s.condition == condition]
        loaded = [load_session(s.folder) for s in mine]
        env = _env(loaded[0])
        buffers, metadata = [], []
        for item, session in zip(mine, loaded, strict=True):
            for number, (buffer, episode) in enumerate(session_episodes(session, env)):
                buffers.append(buffer)
                metadata.append(
                    {
                        "participant": item.participant,
                        "condition": item.condition,
                        "position": item.position,
                        "simulated": item.simulated,
                        "session_episode": episode,
                        "session_part": number,
                    }
                )
        name = dataset_id(study, condition)
        with datasets_root(root), warnings.catch_warnings():
            # Minari warns of every optional field left out (a code permalink, an email).
            warnings.simplefilter("ignore", UserWarning)
            dataset = minari.create_dataset_from_buffers(
                name,
                buffers,
                env=env.spec,
                algorithm_name=loaded[0].meta.agent or "unknown",
                author="laetitia study export",
                code_permalink="laetitia",
                description=(
                    f"Study {study}, condition {condition}: one episode per episode of each "
                    "participant's session; rewards are the sessions' steps.csv rewards."
                ),
                data_format="arrow",
                requirements=[f"laetitia=={__version__}"],
            )
            dataset.storage.update_metadata(
                {
                    METADATA_KEY: {
                        "format": EXPORT_FORMAT,
                        "study": study,
                        "condition": condition,
                        "parameter_space": list(loaded[0].meta.parameter_space),
                        "class_names": list(loaded[0].class_names),
                        "signal": loaded[0].meta.signal_name,
                    }
                }
            )
            dataset.storage.update_episode_metadata(metadata)
        env.close()
        ids.append(name)
    return tuple(ids)


def _env(session: Session) -> gym.Env:
    """The session's env (its id, step size and episode length) with a simulated viewer."""
    from laetitia.envs.make import make_env
    from laetitia.run_settings import RUN_DEFAULTS, RunSettings

    config = session.meta.config or {}
    settings = RunSettings(
        frames=1,
        step_size=config.get("step_size"),
        max_episode_steps=config.get("max_episode_steps", RUN_DEFAULTS.max_episode_steps),
    )
    return make_env(session.meta.env_id or "laetitia/Smile-v0", "sim", settings)


def session_episodes(session: Session, env: gym.Env) -> Iterator[tuple[Any, int]]:
    """A session's episodes as Minari episode buffers, with each one's episode number."""
    from minari.data_collector import EpisodeBuffer

    from laetitia.envs.history import shown_observations

    emoticon = env.unwrapped
    space = session.meta.space()
    shown = shown_observations(space, session.params(), session.steps["reward"])
    episodes = session.steps["episode"].astype(np.int64)
    n_classes = len(session.class_names)
    for episode in np.unique(episodes):
        rows = np.flatnonzero(episodes == episode)
        start = emoticon.starting_unit(None)  # type: ignore[attr-defined]
        first = np.append(start, 0.0).astype(np.float32)
        observations = np.vstack([first, shown[rows]])
        units = observations[:, : len(space)].astype(np.float64)
        actions = np.stack([_action(emoticon, units[i], units[i + 1]) for i in range(rows.size)])
        probs = np.vstack([np.full((1, n_classes), np.nan), session.probs()[rows]])
        yield (
            EpisodeBuffer(
                observations=observations,
                actions=actions,
                rewards=[float(r) for r in session.steps["reward"][rows]],
                terminations=[False] * rows.size,
                truncations=[False] * (rows.size - 1) + [True],
                infos={
                    INFO_STEP: [-1, *(int(s) for s in session.steps["step"][rows])],
                    INFO_TIME: [float("nan"), *(float(t) for t in session.time_s[rows])],
                    INFO_FACES: [0, *(int(f) for f in session.steps["faces"][rows])],
                    INFO_PROBS: probs.astype(np.float32),
                },
            ),
            int(episode),
        )


def _action(env: Any, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """The env's action from `before` to `after`, or the one that comes closest."""
    import gymnasium as gym

    if isinstance(env.action_space, gym.spaces.Discrete):
        moves = [env.moved(before, a) for a in range(int(env.action_space.n))]
        return np.array(int(np.argmin([np.abs(m - after).sum() for m in moves])))
    return np.asarray(env.action_towards(before, after), dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# The log, and deleting an export


def read_export_log(study_dir: Path) -> ExportLog:
    """The study's log of exports (empty when there is none)."""
    return read_record(Path(study_dir) / EXPORTS_FILE, ExportLog) or ExportLog()


def write_export_log(study_dir: Path, log: ExportLog) -> None:
    """Write the study's log of exports, atomically."""
    write_json_atomic(Path(study_dir) / EXPORTS_FILE, asdict(log), indent=2)


def delete_export(record: ExportRecord) -> bool:
    """Delete what an export (or a report) wrote, where it is still there.

    An export: only the entries its folder's manifest names (never following a link), then
    the manifest, then the folder when it is left empty. A report: its files, each only while
    it is still the file the report wrote (its sha256).

    Returns:
        False when it is no longer there (moved, replaced or deleted).
    """
    if record.format == REPORT:
        return _delete_report(record)
    folder = Path(record.path)
    try:
        written = read_record(folder / MANIFEST, ExportRecord)
    except StudyError:
        return False  # not a manifest laetitia wrote: nothing is deleted
    if written is None or written.export_id != record.export_id or folder.is_symlink():
        return False
    for name in written.written:
        if Path(name).is_absolute() or ".." in Path(name).parts:
            continue  # a manifest edited by hand: nothing outside the export is touched
        entry = folder / name
        if entry.is_symlink() or entry.is_file():
            entry.unlink()
        elif entry.is_dir():
            shutil.rmtree(entry)
    (folder / MANIFEST).unlink()
    if not any(folder.iterdir()):
        folder.rmdir()
    return True


def _delete_report(record: ExportRecord) -> bool:
    """Delete a report's files that are still the ones it wrote; whether any was."""
    from laetitia.files import file_sha256

    found = False
    for name, digest in record.sha256.items():
        path = Path(record.path) / Path(name).name
        if path.is_file() and not path.is_symlink() and file_sha256(path) == digest:
            path.unlink()
            found = True
    return found
