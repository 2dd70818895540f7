"""The algorithms the CLI knows: name -> what implements it, its kind and a one-line description.

Targets are import paths, resolved on first use, so ``rlsuite list`` stays fast and one broken
algorithm cannot take the others down. Adding an algorithm is one line in ``ALGORITHMS``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal

from core.errors import UserError

Kind = Literal["planner", "agent", "task"]


@dataclass(frozen=True)
class Algorithm:
    """One registered algorithm.

    ``target`` is ``"module:attribute"``: a planner function ``(mdp, gamma, tol=...) -> PlanningResult``
    for planners, an SB3-shaped class ``Algo(env, **hyperparams)`` for agents, a task function
    ``(TaskSpec, RunDir, resume, progress_bar) -> TaskResult`` for tasks (see ``rlsuite.tasks``).
    """

    name: str
    kind: Kind
    target: str
    description: str
    default_steps: int | None = None
    """The budget when ``--steps`` is not given, in the algorithm's own unit (``None``: the CLI's)."""

    def load(self) -> Any:
        """Import and return the function or class that implements the algorithm."""
        module_name, attribute = self.target.split(":")
        return getattr(importlib.import_module(module_name), attribute)


ALGORITHMS: dict[str, Algorithm] = {
    algorithm.name: algorithm
    for algorithm in (
        Algorithm("vi", "planner", "agents.tabular:value_iteration", "value iteration on a tabular MDP"),
        Algorithm("pi", "planner", "agents.tabular:policy_iteration", "policy iteration on a tabular MDP"),
        Algorithm("qi", "planner", "agents.tabular:q_iteration", "Q-value iteration on a tabular MDP"),
        Algorithm("q-learning", "agent", "agents.tabular:QLearning", "tabular Q-learning (discrete envs)"),
        Algorithm("dqn", "agent", "agents.dqn:DQN", "deep Q-network, Double DQN option (discrete actions)"),
        Algorithm("reinforce", "agent", "agents.pg:REINFORCE", "Monte-Carlo policy gradient with a baseline"),
        Algorithm("a2c", "agent", "agents.pg:A2C", "synchronous advantage actor-critic with GAE(λ)"),
        Algorithm("ppo", "agent", "agents.pg:PPO", "proximal policy optimisation (clipped surrogate)"),
        Algorithm("classify", "task", "rlsuite.supervised_tasks:classify", "CNN or transformer classifier"),
        Algorithm("vae", "task", "rlsuite.supervised_tasks:vae", "variational autoencoder, PNG grids"),
        Algorithm("simclr", "task", "rlsuite.supervised_tasks:simclr", "SimCLR (InfoNCE) pretraining"),
        Algorithm("vicreg", "task", "rlsuite.supervised_tasks:vicreg", "VICReg pretraining"),
        Algorithm("barlow", "task", "rlsuite.supervised_tasks:barlow", "Barlow Twins pretraining"),
        Algorithm(
            "order", "task", "rlsuite.supervised_tasks:order", "transformer: are these frames in order?"
        ),
        Algorithm("truck-emulator", "task", "rlsuite.truck_tasks:emulator_task", "truck dynamics emulator"),
        Algorithm(
            "dynamics",
            "task",
            "rlsuite.worldmodel_tasks:dynamics_task",
            "deterministic MLP dynamics model of an env (steps = transitions)",
        ),
        Algorithm(
            "ensemble",
            "task",
            "rlsuite.worldmodel_tasks:ensemble_task",
            "probabilistic ensemble dynamics model (steps = transitions)",
        ),
        Algorithm(
            "cvae",
            "task",
            "rlsuite.worldmodel_tasks:cvae_task",
            "conditional-VAE stochastic dynamics model (steps = transitions)",
        ),
        Algorithm(
            "pixel-wm",
            "task",
            "rlsuite.worldmodel_tasks:pixel_wm_task",
            "pixel world model, VAE + GRU, dream GIF (steps = transitions)",
        ),
        Algorithm(
            "jepa",
            "task",
            "rlsuite.worldmodel_tasks:jepa_task",
            "action-conditioned JEPA on frames (steps = transitions)",
        ),
        Algorithm(
            "truck-controller",
            "agent",
            "agents.truck_controller:TruckController",
            "truck controller by backprop through time (steps = BPTT iterations)",
            default_steps=320,
        ),
        Algorithm(
            "pets",
            "agent",
            "rlsuite.pets_agent:PETSAgent",
            "PETS: MPPI on a learned probabilistic ensemble (InvertedPendulum-v5, Reacher-v5)",
            default_steps=10_000,
        ),
    )
}


def get_algorithm(name: str, kind: Kind | None = None) -> Algorithm:
    """Look ``name`` up, optionally requiring a kind; raise UserError naming the choices otherwise."""
    choices = sorted(n for n, a in ALGORITHMS.items() if kind is None or a.kind == kind)
    algorithm = ALGORITHMS.get(name)
    if algorithm is None or (kind is not None and algorithm.kind != kind):
        what = f"{kind} " if kind else ""
        raise UserError(f"unknown {what}algorithm {name!r}; choose one of: {', '.join(choices)}")
    return algorithm
