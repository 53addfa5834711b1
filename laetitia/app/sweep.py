"""A grid of independent runs on Ray: `laetitia bench agents --workers N [--address ...]`.

Each job is a function called with its own arguments, named by a key (the bench's
`(agent, person, seed)`). With one worker and no address the jobs run one after another in this
process, and Ray is never imported. Otherwise each job is a Ray task:

- **where**: with no address, a local Ray runtime is started inside the call with `workers` CPUs
  and stopped when it returns (nothing to set up first); with `address` ("auto", or
  "HOST:PORT") the jobs run on that existing cluster, `workers` of them at a time. A runtime
  the caller already started (`ray.init()` in a notebook) is used as it is, and left running.
- **determinism**: a job carries everything it depends on (its seed included), and results are
  gathered by key and returned in the jobs' order, so the figures made from them are the same
  bit for bit whatever the number of workers, the order in which they finish, or the node each
  ran on. Every job runs with one torch thread, in this process as in a worker: torch sums in
  another order with more threads, and PPO's figures then differ in the tenth decimal.
- **faults**: a worker process that dies mid-run (killed, out of memory, its node lost) is
  retried by Ray up to `retries` times on another worker; a job whose own code raises is not
  retried (it would raise again) and is reported in `SweepResult.failures` by its key, while
  the other jobs' results are kept.

    result = run_sweep(run_once, {("cma-es", 0, 0): ("cma-es", 0, 0, config)}, workers=2)
    result.results[("cma-es", 0, 0)]

On a cluster every node needs laetitia installed in the same environment as the driver's; the
functions and arguments travel to the workers by reference to their module.
"""

from __future__ import annotations

import os
import socket
import sys
import traceback
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from laetitia.errors import ConfigError, LaetitiaError

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")

OBJECT_STORE_BYTES = 128 * 1024**2
"""Object store of a local runtime: results are small (a run's metrics and curve), so the
smallest store Ray accepts comfortably, not its default of 30% of the machine's memory."""
LOCAL_NODE = "local"
"""`SweepResult.nodes` entry of a job run in this process."""
LOCAL_RAY_ENV = {
    # No report of usage statistics over the network.
    "RAY_USAGE_STATS_ENABLED": "0",
    # A single-machine runtime: every Ray process listens on the loopback only (Ray's own
    # switch for machines that run no cluster), not on an address other machines can reach.
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    # Workers inherit this: one OpenMP thread per run, the parallelism is across runs.
    "OMP_NUM_THREADS": "1",
}
"""Environment set (where unset) before Ray is first imported for a local runtime."""


@dataclass(frozen=True)
class RunFailure:
    """A job that gave no result."""

    error: str
    """The error, as `Type: message`."""
    worker_died: bool
    """True when the worker running it died every time it was tried (no error of its own)."""
    details: str = field(default="", repr=False)
    """The traceback, where there is one."""


@dataclass(frozen=True)
class SweepResult(Generic[K, R]):
    """What a sweep gave back, by job key, in the jobs' order."""

    results: dict[K, R]
    """Results of the jobs that finished."""
    failures: dict[K, RunFailure]
    """Jobs that failed, with why."""
    nodes: dict[K, str]
    """Id of the Ray node each finished job ran on (`LOCAL_NODE` in this process)."""


class SweepError(LaetitiaError, RuntimeError):
    """Some jobs of a sweep failed; `result` holds those that finished and why the others did not.

    Args:
        result: The sweep's outcome.
        describe: How to name a job key in the message.
    """

    def __init__(self, result: SweepResult[Any, Any], describe: Callable[[Any], str] = str) -> None:
        self.result = result
        lines = [f"{describe(key)}: {failure.error}" for key, failure in result.failures.items()]
        super().__init__(
            f"{len(result.failures)} of {len(result.failures) + len(result.results)} runs "
            "failed (the others finished): " + "; ".join(lines)
        )


MAX_WORKERS = 1024
"""The most parallel runs a sweep asks Ray for (each is a process)."""
MAX_RETRIES = 100
"""The most times a failed run is tried again."""


def check_sweep_settings(workers: int, address: str | None, retries: int) -> None:
    """Refuse settings a sweep cannot run with.

    Raises:
        ConfigError: If `workers` is not from 1 to `MAX_WORKERS`, `retries` not from 0 to
            `MAX_RETRIES`, or `address` is empty.
    """
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}.", field="workers")
    if workers > MAX_WORKERS:
        raise ConfigError(f"workers must be at most {MAX_WORKERS}, got {workers}.", field="workers")
    if retries < 0:
        raise ConfigError(f"retries must be 0 or more, got {retries}.", field="retries")
    if retries > MAX_RETRIES:
        raise ConfigError(f"retries must be at most {MAX_RETRIES}, got {retries}.", field="retries")
    if address is not None and not address.strip():
        raise ConfigError(
            "address must be 'auto' or HOST:PORT of a Ray cluster, or None for a local runtime.",
            field="address",
        )


def run_sweep(
    fn: Callable[..., R],
    jobs: Mapping[K, Sequence[Any]],
    workers: int = 2,
    address: str | None = None,
    retries: int = 3,
    progress: bool = True,
    unit: str = "run",
) -> SweepResult[K, R]:
    """Call `fn(*args)` for every job, in this process or as Ray tasks, and gather by key.

    Args:
        fn: A module-level function (Ray workers import it by name).
        jobs: Each job's key and the arguments it is called with.
        workers: Jobs running at once; 1 with no `address`: one after another in this process.
        address: A Ray cluster to run on ("auto" or "HOST:PORT"); None: a local runtime.
        retries: How often a job whose worker died is tried again.
        progress: Show a bar counting finished jobs.
        unit: What the bar counts.

    Returns:
        Results and failures by key, in the order of `jobs`.

    Raises:
        ConfigError: For settings it cannot run with (`check_sweep_settings`).
    """
    check_sweep_settings(workers, address, retries)
    bar = _progress_bar(len(jobs), unit) if progress else None
    results: dict[K, R] = {}
    failures: dict[K, RunFailure] = {}
    nodes: dict[K, str] = {}

    def finished(key: K, outcome: tuple[str, R] | RunFailure) -> None:
        if isinstance(outcome, RunFailure):
            failures[key] = outcome
        else:
            nodes[key], results[key] = outcome
        if bar is not None:
            bar.update()
            if failures:
                bar.set_postfix(failed=len(failures), refresh=False)

    try:
        if workers == 1 and address is None:
            with torch_threads(1):
                for key, args in jobs.items():
                    finished(key, _call_here(fn, args))
        else:
            with ray_runtime(workers, address):
                _run_on_ray(fn, jobs, workers, retries, finished)
    finally:
        if bar is not None:
            bar.close()
    return SweepResult(
        results={k: results[k] for k in jobs if k in results},
        failures={k: failures[k] for k in jobs if k in failures},
        nodes={k: nodes[k] for k in jobs if k in nodes},
    )


def _progress_bar(total: int, unit: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, dynamic_ncols=True, mininterval=0.5)


def _call_here(fn: Callable[..., R], args: Sequence[Any]) -> tuple[str, R] | RunFailure:
    try:
        return LOCAL_NODE, fn(*args)
    except Exception as error:  # a job's own failure is reported by its key, the others go on
        return RunFailure(_error_line(error), False, traceback.format_exc())


def _error_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


@contextmanager
def ray_runtime(workers: int, address: str | None) -> Iterator[None]:
    """Ray, connected for the duration of the block.

    A runtime already connected in this process is used and left running. Otherwise, with no
    `address`, a local runtime with `workers` CPUs is started (no dashboard, a small object
    store, workers' output kept in Ray's log files) and shut down on leaving; with an address,
    this process connects to that cluster and disconnects on leaving.

    Raises:
        ConfigError: If no cluster answers at `address`.
    """
    if address is None and "ray" not in sys.modules:
        for name, value in LOCAL_RAY_ENV.items():
            os.environ.setdefault(name, value)
    import ray

    if ray.is_initialized():
        yield
        return
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": "WARNING"}
    if address is None:
        ray.init(
            address="local",  # a new runtime, even beside a cluster `ray start` left running
            num_cpus=workers,
            include_dashboard=False,
            object_store_memory=OBJECT_STORE_BYTES,
            **quiet,
        )
    else:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            check_reachable(address)
            ray.init(address=address, **quiet)
        except ConnectionError as error:
            raise ConfigError(
                f"address {address!r}: no Ray cluster answers there ({error}); start a Ray "
                "head node there, or leave the address out for a local runtime.",
                field="address",
            ) from error
    try:
        yield
    finally:
        ray.shutdown()


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on a `HOST:PORT` nothing listens on (Ray itself retries for minutes).

    "auto" and addresses with a scheme (`ray://...`) are left to Ray.

    Raises:
        ConnectionError: If no connection to `HOST:PORT` opens within `timeout_s`.
    """
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise ConnectionError(f"nothing answers at {address}: {error}") from error


def _run_on_ray(
    fn: Callable[..., R],
    jobs: Mapping[K, Sequence[Any]],
    workers: int,
    retries: int,
    finished: Callable[[K, tuple[str, R] | RunFailure], None],
) -> None:
    """Keep `workers` jobs in flight as Ray tasks; report each as it ends."""
    import ray
    from ray.exceptions import RayError, RayTaskError

    task: Any = ray.remote(_run_on_worker).options(
        num_cpus=1,
        max_retries=retries,
        retry_exceptions=False,  # a job's own error would happen again
        scheduling_strategy="SPREAD",
    )
    waiting = iter(jobs.items())
    in_flight: dict[Any, K] = {}
    while True:
        while len(in_flight) < workers:
            job = next(waiting, None)
            if job is None:
                break
            key, args = job
            in_flight[task.remote(fn, tuple(args))] = key
        if not in_flight:
            return
        done, _ = ray.wait(list(in_flight), num_returns=1)
        for ref in done:
            key = in_flight.pop(ref)
            try:
                finished(key, ray.get(ref))
            except RayTaskError as error:
                cause = error.cause if error.cause is not None else error
                finished(key, RunFailure(_error_line(cause), False, str(error)))
            except RayError as error:  # the worker or its node died, past every retry
                finished(key, RunFailure(_error_line(error), True, str(error)))


def _run_on_worker(fn: Callable[..., R], args: tuple[Any, ...]) -> tuple[str, R]:
    """A job inside a Ray worker: one torch thread, and the node it ran on."""
    import ray

    with torch_threads(1):
        return ray.get_runtime_context().get_node_id(), fn(*args)


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Torch computes with `count` threads inside the block, as many as before after it."""
    import torch

    before = torch.get_num_threads()
    if before != count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
