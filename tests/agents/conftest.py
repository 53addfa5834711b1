"""Settings for the agent tests."""

import pytest


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The SB3 agents' networks are tiny: a second torch thread on a busy 2-core machine only
    spins (measured: DQN's 500 steps took 9 s of CPU on two threads, 0.7 s on one)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
