"""The learning-curves notebook: committed without outputs, and runs headless on fresh sessions."""

import json
import sys
from pathlib import Path

import pytest

from laetitia.app.training import TrainConfig, train

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "learning_curves.ipynb"
FIGURE_CELLS = 5


def test_notebook_is_committed_without_outputs() -> None:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    assert code, "the notebook has no code cells"
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None


def _kernel_manager(kernels: Path):
    """A kernel on this interpreter (the venv's), whatever kernelspecs the user has installed."""
    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    write_kernel_spec(kernels / "python3")
    specs = KernelSpecManager(kernel_dirs=[str(kernels)], ensure_native_kernel=False)
    manager = KernelManager(kernel_name="python3", kernel_spec_manager=specs)
    assert manager.kernel_spec.argv[0] == sys.executable
    return manager


def test_notebook_draws_its_figures_from_the_sessions_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = tmp_path / "sessions"
    for seed in range(2):
        config = TrainConfig(out=sessions / f"demo-{seed}", viewer="sim:3", steps=30, seed=seed)
        train(config, progress=False)
    monkeypatch.setenv("LAETITIA_SESSIONS", str(sessions))
    monkeypatch.setenv("MPLBACKEND", "Agg")  # as `make test` sets it; the notebook must not care
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        km=_kernel_manager(tmp_path / "kernels"),
        timeout=120,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    text = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert f"2 session(s) under {sessions}" in text and "demo-1: hill-climb" in text
    pngs = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(pngs) == FIGURE_CELLS
