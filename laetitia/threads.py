"""How many threads torch and OpenCV compute with: one choice per process, made for the machine.

laetitia's networks are small (a 64 x 64 FER CNN, MTCNN at 180 px, 64 x 64 MLP policies). On
a machine with few cores shared with a camera, a window and other processes, torch's default
of one thread per core makes its threads spin against everything else: on two busy cores PPO's
update took 4.5-7.5 s with two threads against 0.2-0.36 s with one, the FER model 187 ms a face
against 1.3 ms, and `fer train` ran 3-5 times faster with one
(benchmarks/results/history.md, "Torch threads").
OpenCV's parallel loops (YuNet's network, resizing) and FFmpeg's decoding threads spend CPU
the same way. So the default is one thread up to four cores, then half the cores (at most 8);
an explicit choice (`laetitia COMMAND --threads N`, or `OMP_NUM_THREADS`) wins.

    use_threads(None)     # the machine's default (what every laetitia command does first)
    use_threads(4)        # an explicit choice
    ensure_threads()      # the default, unless a choice was made already (library code)
"""

from __future__ import annotations

import os
import sys

from laetitia.errors import ConfigError

_chosen: int | None = None


def default_threads(cores: int | None = None) -> int:
    """The thread count laetitia uses on a machine with `cores` cores (default: this one's).

    `OMP_NUM_THREADS`, when set, is the user's choice and wins.
    """
    given = os.environ.get("OMP_NUM_THREADS", "")
    if given.isdigit() and int(given) >= 1:
        return int(given)
    cores = cores if cores is not None else (os.cpu_count() or 1)
    return 1 if cores <= 4 else min(8, cores // 2)


def use_threads(threads: int | None = None) -> int:
    """Make torch and OpenCV compute with `threads` threads in this process (None: the default).

    Set before torch and OpenCV start (the OpenMP variables, `OPENCV_FOR_THREADS_NUM`), and on
    each with its own call if it has started; `laetitia.cameras.VideoFile` decodes with it too.

    Returns:
        The thread count in use.

    Raises:
        ConfigError: If `threads` is below 1.
    """
    global _chosen
    if threads is not None and threads < 1:
        raise ConfigError(f"threads must be at least 1, got {threads}.", field="threads")
    _chosen = default_threads() if threads is None else int(threads)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENCV_FOR_THREADS_NUM"):
        os.environ[name] = str(_chosen)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != _chosen:
        torch.set_num_threads(_chosen)
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and cv2.getNumThreads() != _chosen:
        cv2.setNumThreads(_chosen)
    return _chosen


def ensure_threads() -> int:
    """The thread count in use: the machine's default, unless a choice was made already."""
    return use_threads(None) if _chosen is None else use_threads(_chosen)
