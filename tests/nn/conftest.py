import pytest
import torch


@pytest.fixture(autouse=True)
def eager_quantizers(monkeypatch):
    """Tiny tensors: compiling the fused kernels would cost more than it saves."""
    monkeypatch.setenv("CODESIGN_COMPILE", "0")


@pytest.fixture(autouse=True)
def one_thread():
    """Small ops on 2 threads slow down tenfold when other processes share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
