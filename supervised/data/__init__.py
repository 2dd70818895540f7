"""Datasets for supervised tasks: in-memory arrays from scikit-learn, IDX, CIFAR files and env frames."""

from supervised.data.array import ArrayDataset
from supervised.data.cifar import cifar_dataset, read_cifar_batch
from supervised.data.digits import load_digits_dataset
from supervised.data.frames import agent_cell, frames_dataset
from supervised.data.idx import idx_dataset, read_idx

__all__ = [
    "ArrayDataset",
    "load_digits_dataset",
    "read_idx",
    "idx_dataset",
    "read_cifar_batch",
    "cifar_dataset",
    "frames_dataset",
    "agent_cell",
]
