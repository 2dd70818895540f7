"""The truck backer-upper's pieces wired together: emulator data and training, and the CLI task.

``rlsuite train truck-emulator --env rlsuite/TruckBackerUpper-v0 [--steps N]`` collects N random-steering
transitions of the env's kinematics (default 50,000), trains the emulator on them, and writes
``model.pt`` (the emulator), ``transitions.pt`` and its test MSE and open-loop error to ``eval.json``.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

import torch

from agents.base import make_config, make_env
from core.errors import UserError
from core.rundir import RunDir
from core.threads import torch_threads
from envs.truck.batch import episode_status, sample_starts
from envs.truck.env import TruckBackerUpperEnv
from envs.truck.kinematics import MAX_STEER, TruckKinematics
from rlsuite.options import split_settings
from rlsuite.tasks import TaskResult, TaskSpec
from worldmodels.emulator import (
    Emulator,
    EmulatorConfig,
    EmulatorReport,
    EmulatorTrainConfig,
    open_loop_error,
    save_emulator,
    train_emulator,
)
from worldmodels.transitions import Transitions, collect

DEFAULT_TRANSITIONS = 50_000
OPEN_LOOP_STEPS = (10, 50, 100)


def truck_transitions(kinematics: TruckKinematics, n: int, seed: int) -> Transitions:
    """``n`` transitions of random steering (held 5 steps) from the env's random starts, restarting
    every truck whose episode ends (the env's rules)."""
    limit = torch.tensor([MAX_STEER], dtype=torch.float64)
    return collect(
        kinematics.step,
        lambda m, generator: sample_starts(m, generator, kinematics=kinematics),
        lambda state: episode_status(kinematics, state).done,
        -limit,
        limit,
        n,
        torch.Generator().manual_seed(seed),
    )


def open_loop_report(emulator: Emulator, kinematics: TruckKinematics, seed: int) -> dict[str, float]:
    """Mean absolute state error of the emulator run open loop beside the kinematics, from 200 fresh
    starts under random steering, after 10, 50 and 100 steps."""
    generator = torch.Generator().manual_seed(seed)
    starts = sample_starts(200, generator, kinematics=kinematics)
    actions = (
        2 * torch.rand(max(OPEN_LOOP_STEPS), 200, 1, generator=generator, dtype=torch.float64) - 1
    ) * MAX_STEER
    error = open_loop_error(emulator, kinematics.step, starts, actions)
    return {f"open_loop_error_{t}": float(error[t - 1]) for t in OPEN_LOOP_STEPS}


def fit_truck_emulator(
    kinematics: TruckKinematics,
    n_transitions: int,
    seed: int,
    emulator_config: EmulatorConfig | None = None,
    train_config: EmulatorTrainConfig | None = None,
) -> tuple[Emulator, EmulatorReport, Transitions]:
    """Collect random-steering data with ``seed`` and train an emulator on it (its weights seeded too)."""
    data = truck_transitions(kinematics, n_transitions, seed)
    torch.manual_seed(seed)
    emulator = Emulator(emulator_config or EmulatorConfig())
    report = train_emulator(emulator, data, train_config or EmulatorTrainConfig(seed=seed))
    return emulator, report, data


def _split_hyperparams(hyperparams: dict[str, Any], seed: int) -> tuple[EmulatorConfig, EmulatorTrainConfig]:
    """``--set`` names go to the network config or the training config; unknown names are a UserError."""
    network_names = {f.name for f in fields(EmulatorConfig)} - {"state_dim", "action_dim"}
    train_names = {f.name for f in fields(EmulatorTrainConfig)} - {"seed"}
    network, training = split_settings(hyperparams, (network_names, train_names), "truck-emulator")
    return make_config(EmulatorConfig, network), make_config(EmulatorTrainConfig, {**training, "seed": seed})


def emulator_task(spec: TaskSpec, run: RunDir, resume: bool, progress_bar: bool) -> TaskResult:
    """The ``truck-emulator`` task: data, emulator, figures (see the module docstring)."""
    env = make_env(spec.env_id or "rlsuite/TruckBackerUpper-v0", **spec.env_kwargs).unwrapped
    if not isinstance(env, TruckBackerUpperEnv):
        raise UserError(f"truck-emulator learns rlsuite/TruckBackerUpper-v0, not {spec.env_id}")
    n_transitions = DEFAULT_TRANSITIONS if spec.steps is None else spec.steps
    if n_transitions < 100:
        raise UserError(f"--steps (transitions of data) must be at least 100; got {n_transitions}")
    network, training = _split_hyperparams(spec.hyperparams, spec.seed)
    with torch_threads(1):
        emulator, report, data = fit_truck_emulator(
            env.kinematics, n_transitions, spec.seed, network, training
        )
        figures = open_loop_report(emulator, env.kinematics, spec.seed + 1)
    save_emulator(emulator, run.model_path)
    data.save(run.media_path("transitions.pt"))
    summary = {
        "transitions": len(data),
        "test_mse": report.test_mse[-1],
        "train_mse": report.train_mse[-1],
        "train_seconds": report.seconds,
        **figures,
    }
    return TaskResult(
        summary,
        media={"transitions": run.media_path("transitions.pt")},
        hyperparams={**asdict(network), **{k: v for k, v in asdict(training).items() if k != "seed"}},
    )
