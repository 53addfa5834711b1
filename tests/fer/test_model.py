"""The mini-Xception network: TensorFlow "same" max pooling, shapes, BatchNorm folding."""

import pytest
import torch
import torch.nn.functional as F

from laetitia.fer import MiniXception
from laetitia.fer.model import max_pool_tf_same


def tf_same_max_pool(x: torch.Tensor) -> torch.Tensor:
    """TensorFlow's 3x3/2 "same" max pool, spelled out: pad the odd cell after, with -inf."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((-(-size // 2) - 1) * 2 + 3 - size, 0)
        pads += [total // 2, total - total // 2]
    return F.max_pool2d(F.pad(x, pads, value=float("-inf")), 3, 2)


@pytest.mark.parametrize("height,width", [(60, 60), (30, 30), (15, 15), (8, 8), (7, 10), (5, 6)])
def test_max_pool_matches_tensorflow_same_padding(height, width):
    x = torch.randn(2, 3, height, width) - 5  # all negative: a zero pad would win and show
    expected = tf_same_max_pool(x)
    assert torch.equal(max_pool_tf_same(x), expected)
    assert torch.equal(max_pool_tf_same(x.contiguous(memory_format=torch.channels_last)), expected)
    # PyTorch's symmetric padding=1 is not TensorFlow's rule on even sizes.
    if height % 2 == 0:
        assert not torch.equal(F.max_pool2d(x, 3, 2, padding=1), expected)


def test_forward_returns_logits_per_class():
    model = MiniXception(num_classes=5).eval()
    with torch.inference_mode():
        out = model(torch.randn(3, 1, 64, 64))
    assert out.shape == (3, 5)
    assert not torch.allclose(out.sum(dim=1), torch.ones(3))  # not softmaxed


def test_architecture_size_matches_the_keras_model():
    # The Keras model has 58,423 parameters (56,951 trainable + 1,472 BN statistics).
    model = MiniXception()
    trainable = sum(p.numel() for p in model.parameters())
    stats = sum(b.numel() for n, b in model.named_buffers() if "running" in n)
    assert (trainable, stats) == (56_951, 1_472)


def test_fused_batchnorm_gives_the_same_logits():
    torch.manual_seed(0)
    model = MiniXception().eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2)
            module.weight.data.normal_()
    x = torch.randn(4, 1, 64, 64)
    with torch.inference_mode():
        expected = model(x)
        fused = MiniXception().eval()
        fused.load_state_dict(model.state_dict())
        fused.fuse_batchnorm()
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
        torch.testing.assert_close(fused(x), expected, atol=1e-4, rtol=1e-4)
    with pytest.raises(RuntimeError, match="eval"):
        MiniXception().fuse_batchnorm()
