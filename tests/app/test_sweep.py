"""The bench's grid on Ray: the same figures whatever the workers, nodes and faults."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from laetitia.app.bench_agents import BenchConfig, describe_run, run_bench, run_grid, run_once
from laetitia.app.sweep import LOCAL_NODE, SweepError, run_sweep
from laetitia.cli import main
from laetitia.errors import ConfigError

TASK_TITLE = "ray::_run_on_worker"
"""The process title of a Ray worker while it runs one of the sweep's jobs."""


def figures(path):
    """A bench JSON without what depends on the machine and the run's timing."""
    document = json.loads(path.read_text())
    for summary in document["agents"].values():
        summary.pop("seconds_per_step")
    document.pop("machine")
    document["config"].pop("workers")
    return _without_waits(document)


def _without_waits(data):
    """`data` without the agent's measured computing (`wait_s...`), which is the machine's."""
    if isinstance(data, dict):
        return {k: _without_waits(v) for k, v in data.items() if "wait_s" not in k}
    if isinstance(data, list):
        return [_without_waits(v) for v in data]
    return data


def bench_args(out, workers):
    grid = ["--agents", "hill-climb", "ppo", "cma-es", "--viewers", "2", "--seeds", "1"]
    return ["bench", "agents", *grid, "--steps", "70", "--workers", str(workers), "--json", out]


def test_the_serial_path_runs_here_without_ray_and_keeps_the_jobs_order() -> None:
    config = BenchConfig(
        agents=("hill-climb", "q-learning"), viewers=2, seeds=2, steps=5, workers=1
    )
    outcome = run_grid(config, progress=False)
    assert list(outcome.results) == [
        (agent, viewer, seed) for agent in config.agents for viewer in (0, 1) for seed in (0, 1)
    ]
    assert set(outcome.nodes.values()) == {LOCAL_NODE} and outcome.failures == {}


def test_a_run_that_fails_is_reported_by_name_and_the_others_are_kept() -> None:
    config = BenchConfig(agents=("cma-es",), viewers=1, seeds=1, steps=5, workers=1)
    jobs = {
        ("cma-es", 0, 0): ("cma-es", 0, 0, config),
        ("cma-es", 0, 1): ("cma-es", 0, 1, config, {"population": 1}),  # refused by the agent
    }
    outcome = run_sweep(run_once, jobs, workers=1, progress=False)
    assert list(outcome.results) == [("cma-es", 0, 0)]
    failure = outcome.failures[("cma-es", 0, 1)]
    assert failure.error.startswith("ConfigError: agent 'cma-es' setting population must be")
    assert not failure.worker_died and "Traceback" in failure.details
    error = SweepError(outcome, describe_run)
    assert "1 of 2 runs failed" in str(error) and "cma-es person 0 seed 1" in str(error)


def test_run_bench_raises_on_a_failed_run(monkeypatch) -> None:
    def broken(agent, viewer, seed, config, settings=None, prior=None):
        raise RuntimeError(f"no person {viewer}")

    monkeypatch.setattr("laetitia.app.bench_agents.run_once", broken)
    config = BenchConfig(agents=("hill-climb",), viewers=2, seeds=1, steps=5, workers=1)
    with pytest.raises(SweepError, match="hill-climb person 1 seed 0: RuntimeError") as raised:
        run_bench(config, progress=False)
    assert len(raised.value.result.failures) == 2


def test_the_sweep_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="workers must be at least 1"):
        BenchConfig(agents=("hill-climb",), workers=0)
    with pytest.raises(ConfigError, match="retries must be 0 or more"):
        BenchConfig(agents=("hill-climb",), retries=-1)
    with pytest.raises(ConfigError, match="address must be"):
        BenchConfig(agents=("hill-climb",), address=" ")


def test_an_address_where_no_cluster_answers_is_refused_at_once(tmp_path, capsys) -> None:
    import socket

    with socket.socket() as closed:  # a port on the loopback that nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    started = time.monotonic()
    grid = ["--agents", "hill-climb", "--viewers", "1", "--seeds", "1", "--steps", "3"]
    out = tmp_path / "x.json"
    code = main(["bench", "agents", *grid, "--address", f"127.0.0.1:{port}", "--json", str(out)])
    assert code == 2 and time.monotonic() - started < 30 and not out.exists()
    assert f"--address '127.0.0.1:{port}': no Ray cluster answers there" in capsys.readouterr().err


@pytest.mark.expensive
def test_two_workers_on_a_local_runtime_give_the_figures_of_one(tmp_path, no_ray_left) -> None:
    serial, pooled = tmp_path / "B.json", tmp_path / "A.json"
    assert main(bench_args(str(serial), workers=1)) == 0
    assert main(bench_args(str(pooled), workers=2)) == 0  # starts and stops its own runtime
    assert figures(pooled) == figures(serial)
    import ray

    assert not ray.is_initialized()


class WorkerKiller(threading.Thread):
    """Kills, by its pid, the first Ray worker seen running a job (SIGKILL: no clean-up)."""

    def __init__(self, timeout_s: float = 120.0) -> None:
        super().__init__(daemon=True)
        self.killed: int | None = None
        self.timeout_s = timeout_s
        self.done = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while self.killed is None and not self.done.is_set() and time.monotonic() < deadline:
            listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True)
            for line in listing.stdout.splitlines():
                pid, _, command = line.strip().partition(" ")
                if command.strip() == TASK_TITLE and self._ours(int(pid)):
                    os.kill(int(pid), signal.SIGKILL)
                    self.killed = int(pid)
                    break
            time.sleep(0.05)

    @staticmethod
    def _ours(pid: int) -> bool:
        mark = f"LAETITIA_TEST_RAY={os.environ['LAETITIA_TEST_RAY']}".encode()
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                return mark in handle.read().split(b"\0")
        except OSError:
            return False


@pytest.mark.expensive
def test_a_worker_killed_mid_run_is_retried_and_the_figures_do_not_change(no_ray_left) -> None:
    config = BenchConfig(agents=("cma-es",), viewers=2, seeds=2, steps=300, workers=1)
    serial = run_grid(config, progress=False)
    jobs = {key: (*key, config) for key in serial.results}
    jobs[("cma-es", 0, 9)] = ("cma-es", 0, 9, config, {"population": 1})  # fails on its own
    killer = WorkerKiller()
    killer.start()
    try:
        outcome = run_sweep(run_once, jobs, workers=2, retries=2, progress=False)
    finally:
        killer.done.set()
        killer.join()
    assert killer.killed is not None, "no worker was seen running a job"
    with pytest.raises(ProcessLookupError):
        os.kill(killer.killed, 0)
    assert list(outcome.failures) == [("cma-es", 0, 9)], {
        key: failure.error for key, failure in outcome.failures.items()
    }
    assert [r.metrics for r in outcome.results.values()] == [
        r.metrics for r in serial.results.values()
    ]
    assert [r.shown.tobytes() for r in outcome.results.values()] == [
        r.shown.tobytes() for r in serial.results.values()
    ]
    assert "population must be at least 2" in outcome.failures[("cma-es", 0, 9)].error


@pytest.mark.expensive
def test_a_two_node_cluster_runs_the_sweep_to_the_same_figures(no_ray_left) -> None:
    import ray
    from ray.cluster_utils import Cluster

    config = BenchConfig(agents=("hill-climb", "cma-es"), viewers=2, seeds=1, steps=60, workers=1)
    serial = run_grid(config, progress=False)
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False},
    )
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        on_cluster = BenchConfig(**{**vars(config), "workers": 2, "address": cluster.address})
        outcome = run_grid(on_cluster, progress=False)
        assert not ray.is_initialized()  # connected for the sweep only
    finally:
        cluster.shutdown()
    assert len(set(outcome.nodes.values())) == 2, "the runs did not spread over both nodes"
    assert [r.metrics for r in outcome.results.values()] == [
        r.metrics for r in serial.results.values()
    ]
    assert outcome.failures == {}


@pytest.mark.expensive
def test_a_local_runtime_starts_beside_a_cluster_left_running_on_the_machine(no_ray_left) -> None:
    """`ray start --head` leaves a cluster that a plain `ray.init` would try to join (and refuse
    the CPU count for); the sweep without an address starts its own runtime all the same."""
    import socket

    import ray

    from laetitia.app.sweep import check_reachable, ray_runtime

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ray_cli = os.path.join(os.path.dirname(sys.executable), "ray")
    # --block in a session of its own: the head's processes are its group and end with it, so
    # stopping it touches no other test's runtime (`ray stop` ends every Ray process there is).
    head = subprocess.Popen(
        [ray_cli, "start", "--head", "--block", "--port", str(port), "--num-cpus", "3"]
        + ["--include-dashboard=false"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                check_reachable(f"127.0.0.1:{port}", timeout_s=1.0)  # its GCS: ray.init sees it
                break
            except ConnectionError:
                assert time.monotonic() < deadline, "the head never answered"
                time.sleep(0.5)
        with ray_runtime(1, None):
            assert ray.cluster_resources()["CPU"] == 1  # its own, not the cluster's 3
        assert not ray.is_initialized()
    finally:
        os.killpg(head.pid, signal.SIGKILL)  # SIGTERM makes it wait 30 s for its processes
        head.wait(timeout=60)
