"""Tests run torch single-threaded: their models are tiny, and on a shared machine the thread pool's
hand-offs cost more than the maths (a 576x64 QR takes 70 ms with 2 busy threads, 0.5 ms with one)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
