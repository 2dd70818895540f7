"""The truck emulator: seeded random-steering data, a falling loss, and the Dynamics contract."""

import torch

from envs.truck.batch import episode_status, sample_starts
from envs.truck.kinematics import MAX_STEER, TruckKinematics
from planners.rollout import Dynamics
from worldmodels.emulator import (
    Emulator,
    EmulatorConfig,
    EmulatorTrainConfig,
    open_loop_error,
    train_emulator,
)
from worldmodels.transitions import Transitions, collect

KIN = TruckKinematics()
LIMIT = torch.tensor([MAX_STEER], dtype=torch.float64)


def _data(n: int, seed: int) -> Transitions:
    return collect(
        KIN.step,
        lambda m, g: sample_starts(m, g),
        lambda s: episode_status(KIN, s).done,
        -LIMIT,
        LIMIT,
        n,
        torch.Generator().manual_seed(seed),
        n_parallel=64,
    )


def test_transitions_are_true_steps_seeded_and_round_trip(tmp_path):
    data = _data(2000, seed=0)
    assert len(data) == 2000
    torch.testing.assert_close(KIN.step(data.states, data.actions), data.next_states, rtol=0, atol=0)
    assert (data.actions.abs() <= MAX_STEER).all() and data.actions.std() > 0.3
    again = _data(2000, seed=0)
    torch.testing.assert_close(again.states, data.states, rtol=0, atol=0)
    data.save(tmp_path / "t.pt")
    loaded = Transitions.load(tmp_path / "t.pt")
    torch.testing.assert_close(loaded.actions, data.actions, rtol=0, atol=0)
    train, test = data.split(0.25, torch.Generator().manual_seed(0))
    assert len(train) == 1500 and len(test) == 500


def test_emulator_loss_falls_and_it_tracks_the_kinematics():
    torch.manual_seed(0)
    emulator = Emulator(EmulatorConfig(hidden=(64, 64)))
    assert isinstance(emulator, Dynamics)
    report = train_emulator(emulator, _data(6000, seed=1), EmulatorTrainConfig(epochs=8, batch_size=128))
    assert report.test_mse[-1] < 0.05 * report.test_mse[0]
    assert report.train_mse[-1] < 0.05 * report.train_mse[0]
    starts = sample_starts(32, torch.Generator().manual_seed(2))
    actions = (
        torch.rand(20, 32, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float64) - 0.5
    ) * 1.5
    error = open_loop_error(emulator, KIN.step, starts, actions)
    assert error.shape == (20,) and error[-1] < 0.1  # a hundredth of a truck length per step, at most
    # Differentiable, like the kinematics: a planner can take gradients through it.
    action = torch.zeros(4, 1, requires_grad=True)
    emulator.step(starts[:4].float(), action).sum().backward()
    assert action.grad.abs().sum() > 0
