"""Supervised tests run single-threaded: the models are tiny; thread hand-offs cost more than the maths."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
