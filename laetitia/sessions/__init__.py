"""Session folders: every step of a run on disk, written so that a crash loses no completed step.

A session folder holds
- `meta.json`: the typed, versioned record of the run (`SessionMeta`: its config, versions,
  viewer with its model identity and face detector, parameter space, class names, seed, how
  frames are recorded), written atomically;
- `steps.csv`: one row per step, `step, episode, t, reward, faces, <parameters>, <classes>`
  (the classes' mean probabilities over the frames with a face), and for a training the
  agent's recommendation after the step and its verdict, `recommended_<parameter>...,
  responds` (`layout.recommended_columns`: its `best_params`, empty before it has one; 1 where
  it says the person reacts, 0 for "no reliable reaction", empty for no verdict);
- `frames.csv`: one row per frame the viewer read, `step, frame, t, file, face, x, y, w, h,
  <classes>`: the step it belongs to, its number in the session, its time on the session clock,
  its image file (empty when no image was kept), whether a face was found, the face box in frame
  pixels and the class probabilities (empty where there was no face);
- `frames/NNNNNNNN.png`: the camera frames, lossless (BGR as the camera gave them, so re-scoring
  them reproduces the rewards exactly), unless the session was recorded with `--no-frames`.

| module | what it holds |
|---|---|
| `layout` | file names and table columns |
| `meta` | `SessionMeta`, the record in `meta.json`, and its strict loader |
| `migrations` | older `meta.json` records brought up to this version, one step per version |
| `recorder` | `SessionRecorder`: appending steps durably; resuming; `repair_session` |
| `reader` | `Session` and `load_session`: reading a folder back, checking its steps |
| `folders` | where runs go, and finding every session under a folder |
| `paths` | paths a session names, resolved inside it through no link; what a run made |
| `lock` | one writer per session: `lock_session`, a lock the kernel drops with its process |
| `best` | a session's best emoticon, said honestly (`session_best`), and `best.json` |
| `minari` | sessions as a Minari dataset (a study's export): its layout, read back |
"""

from laetitia.sessions.folders import (
    DEFAULT_RUNS,
    SESSIONS_ENV,
    find_session_dirs,
    load_sessions,
    sessions_dir,
)
from laetitia.sessions.layout import (
    FIXED_COLUMNS,
    FRAME_FIXED_COLUMNS,
    FRAMES_DIR,
    FRAMES_FILE,
    LOCK_FILE,
    META_FILE,
    STEPS_FILE,
    frame_columns,
    recommended_columns,
    step_columns,
)
from laetitia.sessions.lock import SessionLock, lock_session
from laetitia.sessions.meta import (
    Recording,
    Resumption,
    SessionMeta,
    package_versions,
    read_meta,
    write_meta,
)
from laetitia.sessions.migrations import FORMAT_VERSION, migrate
from laetitia.sessions.reader import FrameIndex, Session, decode_frame, load_session
from laetitia.sessions.recorder import (
    NewSession,
    Repair,
    SessionRecorder,
    claim_folder,
    encode_frame,
    new_meta,
    prepare_folder,
    repair_session,
)

__all__ = [
    "DEFAULT_RUNS",
    "FIXED_COLUMNS",
    "FORMAT_VERSION",
    "FRAMES_DIR",
    "FRAMES_FILE",
    "FRAME_FIXED_COLUMNS",
    "META_FILE",
    "SESSIONS_ENV",
    "STEPS_FILE",
    "LOCK_FILE",
    "FrameIndex",
    "NewSession",
    "Recording",
    "Repair",
    "Resumption",
    "Session",
    "SessionLock",
    "SessionMeta",
    "SessionRecorder",
    "claim_folder",
    "decode_frame",
    "encode_frame",
    "find_session_dirs",
    "frame_columns",
    "load_session",
    "load_sessions",
    "lock_session",
    "migrate",
    "new_meta",
    "package_versions",
    "prepare_folder",
    "read_meta",
    "recommended_columns",
    "repair_session",
    "sessions_dir",
    "step_columns",
    "write_meta",
]
