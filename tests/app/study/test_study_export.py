"""Exports others can load (Parquet, Minari), and a withdrawal that deletes a participant's data."""

import json
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from laetitia.app.study.participants import read_participant
from laetitia.app.study.status import study_status
from laetitia.cli import main
from laetitia.sessions import load_session

IDS = [f"sim-{k:02d}" for k in range(1, 7)]


def _sessions(study: Path) -> dict[tuple[str, str], Path]:
    return {
        (p.name, s.name): s
        for p in sorted((study / "participants").iterdir())
        for s in sorted(p.iterdir())
        if (s / "meta.json").is_file()
    }


def test_the_parquet_tables_load_in_pandas_one_row_per_step_and_one_per_frame(dry_run, tmp_path):
    out = tmp_path / "tables"
    assert main(["study", "export", str(dry_run), "--format", "parquet", "--out", str(out)]) == 0
    steps, frames = pd.read_parquet(out / "steps.parquet"), pd.read_parquet(out / "frames.parquet")
    sessions = _sessions(dry_run)
    assert len(steps) == sum(load_session(s).n_steps for s in sessions.values()) == 120
    assert not steps.duplicated(["participant", "condition", "step"]).any()
    frames_csv = sum(len(pd.read_csv(s / "frames.csv")) for s in sessions.values())
    assert len(frames) == frames_csv == 120 * 2  # two frames per step
    assert not frames.duplicated(["participant", "condition", "frame"]).any()
    for (participant, condition), folder in sessions.items():
        session = load_session(folder)
        mine = steps[(steps.participant == participant) & (steps.condition == condition)]
        np.testing.assert_array_equal(mine.reward.to_numpy(), session.steps["reward"])
        np.testing.assert_array_equal(mine.param_t.to_numpy(), session.steps["t"])
        record = read_participant(dry_run, participant)
        assert set(mine.position) == {record.order.index(condition) + 1}
    for column in ("participant", "condition", "position", "face", "p_happy", "x"):
        assert column in frames.columns
    assert "file" not in frames.columns  # no image is exported, nor where one was


def test_a_minari_dataset_per_condition_loads_offline_with_the_sessions_rewards(
    dry_run, tmp_path, monkeypatch
):
    import minari

    root = tmp_path / "minari"
    assert main(["study", "export", str(dry_run), "--format", "minari", "--out", str(root)]) == 0

    def no_network(*args, **kwargs):
        raise AssertionError("Minari tried the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    for condition in ("climb", "bayes"):
        dataset = minari.load_dataset(f"laetitia/tiny/{condition}-v0")
        assert dataset.total_episodes == 6 and dataset.total_steps == 60
        metadata = list(dataset.storage.get_episode_metadata(range(6)))
        for episode, about in zip(dataset.iterate_episodes(), metadata, strict=True):
            assert about["condition"] == condition and about["participant"] in IDS
            folder = dry_run / "participants" / about["participant"] / condition
            session = load_session(folder)
            np.testing.assert_array_equal(episode.rewards, session.steps["reward"])
            assert episode.observations.shape == (11, 9) and episode.actions.shape == (10, 8)
            assert episode.truncations[-1] and not episode.terminations.any()
            shown = episode.observations[1:, :8]
            space = session.meta.space()
            units = np.stack([space.normalize(p) for p in session.params()])
            np.testing.assert_allclose(shown, units, atol=1e-6)


def test_agents_train_offline_on_an_exported_participant_and_a_lone_session_exports(
    dry_run, tmp_path
):
    root = tmp_path / "minari"
    session = dry_run / "participants" / "sim-03" / "climb"
    assert main(["study", "export", str(session), "--format", "minari", "--out", str(root)]) == 0
    dataset = root / "laetitia" / "tiny" / "climb-v0"
    assert json.loads((root / "laetitia-export.json").read_text())["participants"] == ["sim-03"]
    both = tmp_path / "both"
    assert main(["study", "export", str(dry_run), "--format", "minari", "--out", str(both)]) == 0
    for viewer in (f"session:{dataset}", f"session:{both}/laetitia/tiny/climb-v0#sim-03"):
        out = tmp_path / viewer.rpartition("/")[2].replace("#", "-")
        args = ["train", "--agent", "hill-climb", "--viewer", viewer, "--steps", "5"]
        assert main([*args, "--frames", "2", "--out", str(out)]) == 0
        replayed = load_session(out)
        assert replayed.n_steps == 5 and replayed.meta.viewer["participant"] == "sim-03"
    with pytest.raises(SystemExit):
        main(["study", "export", str(dry_run), "--format", "csv", "--out", str(tmp_path / "c")])


def test_a_withdrawal_deletes_the_participant_everywhere_and_later_exports_leave_them_out(
    dry_run_copy, tmp_path, capsys
):
    study = dry_run_copy
    tables, datasets = tmp_path / "tables", tmp_path / "minari"
    report = study / "report.html"
    assert main(["study", "export", str(study), "--format", "parquet", "--out", str(tables)]) == 0
    assert main(["study", "export", str(study), "--format", "minari", "--out", str(datasets)]) == 0
    assert main(["study", "report", str(study), "--out", str(report)]) == 0
    assert main(["study", "withdraw", str(study), "sim-02"]) == 0
    printed = capsys.readouterr().out
    assert str(tables) in printed and str(datasets) in printed
    assert not tables.exists() and not datasets.exists() and not report.exists()
    assert not (study / "participants" / "sim-02").exists()
    for path in study.rglob("*"):
        if path.is_file():
            assert b"sim-02" not in path.read_bytes(), path  # nothing names them any more
    withdrawals = json.loads((study / "withdrawals.json").read_text())
    assert list(withdrawals) == ["times"] and len(withdrawals["times"]) == 1
    later = tmp_path / "later"
    assert main(["study", "export", str(study), "--format", "parquet", "--out", str(later)]) == 0
    assert set(pd.read_parquet(later / "steps.parquet").participant) == set(IDS) - {"sim-02"}
    status = study_status(study)
    assert status.withdrawals == 1 and status.next_index == 1  # their place goes to the next
    assert main(["study", "withdraw", str(study), "sim-02"]) == 2  # once only


def test_a_minari_dataset_received_with_a_link_or_a_fifo_in_it_is_refused_in_one_line(
    dry_run, tmp_path, capsys
):
    # A dataset is read by Minari through its own paths: each entry is checked before, as a
    # session's files are (issue 25), so nothing outside is read and no FIFO blocks the reader.
    import signal

    root = tmp_path / "minari"
    session = dry_run / "participants" / "sim-03" / "climb"
    assert main(["study", "export", str(session), "--format", "minari", "--out", str(root)]) == 0
    dataset = root / "laetitia" / "tiny" / "climb-v0"
    data = sorted(p for p in (dataset / "data").rglob("*") if p.is_file())
    outside = tmp_path / "outside"
    outside.mkdir()
    args = ["train", "--agent", "hill-climb", "--viewer", f"session:{dataset}", "--steps", "2"]

    def blocked(signum, frame):
        raise TimeoutError("a FIFO in the dataset was opened and blocked the reader")

    previous = signal.signal(signal.SIGALRM, blocked)  # fails the test instead of hanging it
    signal.alarm(120)
    try:
        _swap_each(data, outside, args, tmp_path, capsys)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _swap_each(data, outside, args, tmp_path, capsys):
    import os
    import shutil

    for k, entry in enumerate((data[0], data[-1])):
        shutil.copy(entry, outside / entry.name)
        kept = entry.read_bytes()
        for make, said in ((os.symlink, "symbolic link"), (None, "FIFO")):
            entry.unlink()
            if make is None:
                os.mkfifo(entry)
            else:
                make(outside / entry.name, entry)
            out = tmp_path / f"run-{k}-{said[0]}"
            assert main([*args, "--frames", "2", "--out", str(out)]) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and said in err and entry.name in err, err
            assert not out.exists()
            entry.unlink()
            entry.write_bytes(kept)
