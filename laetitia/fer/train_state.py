"""A training run's full state on disk: tensors in `NAME.safetensors`, the rest in `NAME.json`.

The tensor file holds the model (`model.*`), the optimiser's per-parameter state
(`optim.<param>.<key>`) and the random generators (`rng.<name>`); the JSON file holds
everything else (config, epoch, history, card, statistics, the optimiser's hyper-parameters)
plus the sha256 of the tensor file, so a pair from two different epochs is refused. Both are
written atomically and durably (`laetitia.files`), the tensors first: the JSON is the commit
point. Nothing is pickled.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from laetitia.errors import CheckpointError
from laetitia.fer.checkpoint import model_identity
from laetitia.files import atomic_path, write_json_atomic

STATE_FORMAT = "laetitia-fer-train-state/1"
"""Value of the JSON's "format" key for files this module writes."""

MODEL_PREFIX, OPTIM_PREFIX, RNG_PREFIX = "model.", "optim.", "rng."


def state_paths(path: str | Path) -> tuple[Path, Path]:
    """The (tensors, JSON) pair of a state named by either file or by its stem."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".safetensors", ".json") else path
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


def save_state(
    path: str | Path, tensors: Mapping[str, torch.Tensor], meta: Mapping[str, Any]
) -> Path:
    """Write a state pair atomically: tensors first, then the JSON that names their sha256.

    Args:
        path: Either file of the pair, or its stem.
        tensors: Named tensors (copied to the CPU, made contiguous).
        meta: JSON-ready values; "format" and "tensors_sha256" are added.

    Returns:
        The JSON file's path.
    """
    tensor_path, json_path = state_paths(path)
    tensor_path.parent.mkdir(parents=True, exist_ok=True)
    plain = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
    with atomic_path(tensor_path) as tmp:
        save_file(plain, str(tmp))
    record = {"format": STATE_FORMAT, "tensors_sha256": model_identity(tensor_path), **meta}
    write_json_atomic(json_path, record, indent=1, sort_keys=False, allow_nan=False)
    return json_path


def copy_state(source: str | Path, target: str | Path) -> None:
    """Copy a state pair (tensors first, each atomically)."""
    for src, dst in zip(state_paths(source), state_paths(target), strict=True):
        copy_file(src, dst)


def copy_file(source: str | Path, target: str | Path) -> None:
    """Copy a file atomically and durably (its folder is created if needed)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def load_state(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a state pair written by `save_state`.

    Args:
        path: Either file of the pair, or its stem.

    Returns:
        (tensors on the CPU, the JSON record).

    Raises:
        FileNotFoundError: If either file is missing.
        CheckpointError: If the files are not a training state, corrupt, or from different saves.
    """
    tensor_path, json_path = state_paths(path)
    for file in (json_path, tensor_path):
        if not file.is_file():
            raise FileNotFoundError(
                f"training state file not found: {file}. Resume from the checkpoints/last or "
                "checkpoints/best pair a `laetitia fer train` run wrote."
            )
    try:
        record = json.loads(json_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{json_path} is not valid JSON (truncated?): {err}.") from err
    if not isinstance(record, dict) or record.get("format") != STATE_FORMAT:
        raise CheckpointError(
            f"{json_path} is not a FER training state (format {STATE_FORMAT!r} expected). "
            "A best_model.safetensors file is a model for `fer eval` and the meter; resume "
            "from checkpoints/last.json or checkpoints/best.json."
        )
    if record.get("tensors_sha256") != model_identity(tensor_path):
        raise CheckpointError(
            f"{tensor_path} does not belong to {json_path} (the run was interrupted while saving, "
            "or one file was replaced). Resume from the other checkpoint of the run."
        )
    try:
        tensors = load_file(str(tensor_path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"cannot read {tensor_path}: {err}.") from err
    return tensors, record


def split_prefix(tensors: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors whose names start with `prefix`, with the prefix removed."""
    return {name[len(prefix) :]: t for name, t in tensors.items() if name.startswith(prefix)}


def optimizer_state(
    optimizer: torch.optim.Optimizer,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimiser's state dict flattened into named tensors and JSON values.

    Returns:
        (tensors named `<param index>.<key>`, JSON with "param_groups" and the non-tensor
        per-parameter values under "scalars").
    """
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def load_optimizer_state(
    optimizer: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor], meta: Mapping[str, Any]
) -> None:
    """Inverse of `optimizer_state`: set the optimiser's state from the flattened form."""
    per_param: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        per_param.setdefault(int(index), {})[key] = value
    for index, values in meta["scalars"].items():
        per_param.setdefault(int(index), {}).update(values)
    groups = [
        {k: tuple(v) if k == "betas" else v for k, v in group.items()}
        for group in meta["param_groups"]
    ]
    optimizer.load_state_dict({"state": per_param, "param_groups": groups})


def rng_state(generators: Mapping[str, torch.Generator]) -> dict[str, torch.Tensor]:
    """The states of torch's global CPU generator ("torch") and of the named generators."""
    states = {"torch": torch.get_rng_state()}
    states.update({name: g.get_state() for name, g in generators.items()})
    return states


def load_rng_state(
    states: Mapping[str, torch.Tensor], generators: Mapping[str, torch.Generator]
) -> None:
    """Inverse of `rng_state`.

    Raises:
        CheckpointError: If a generator's state is missing.
    """
    missing = sorted({"torch", *generators} - set(states))
    if missing:
        raise CheckpointError(f"the training state lacks random generator states {missing}.")
    torch.set_rng_state(states["torch"])
    for name, g in generators.items():
        g.set_state(states[name])


def load_module_state(module: nn.Module, tensors: Mapping[str, torch.Tensor], source: str) -> None:
    """Set a module's parameters and buffers, refusing missing or extra names.

    Raises:
        CheckpointError: If the names or shapes do not fit the module.
    """
    try:
        module.load_state_dict(dict(tensors), strict=True)
    except RuntimeError as err:
        raise CheckpointError(
            f"the model in {source} does not fit its architecture: {err}"
        ) from err
