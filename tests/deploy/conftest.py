"""The deploy tests run eagerly on one thread (their networks come from `codesign.testing`)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def eager_single_thread():
    """Small tensors: compiling the fused kernels would cost more than it saves, and small ops
    on 2 threads slow down tenfold when other processes share the cores. Module scope, so
    the module-scoped networks are built under it too."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CODESIGN_COMPILE", "0")
        yield
    torch.set_num_threads(threads)
