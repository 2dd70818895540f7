"""PETS as a registered agent: ``rlsuite train pets --env InvertedPendulum-v5``, ``rlsuite eval DIR``.

The algorithm is :class:`worldmodels.pets.PETS`; this wires it, as :func:`rlsuite.demo_mpc.make_pets`
does for the benchmark, to MPPI and to the env's known cost (InvertedPendulum-v5, Reacher-v5), and gives
it the agents' API: one hyperparameter dataclass saved with the model, ``learn`` with a callback, a
progress bar, a metrics logger and Ctrl-C at step boundaries, and ``save``/``load`` that round-trip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from numbers import Real
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from agents.base import Agent, StepBoundaryInterrupts
from core.errors import UserError
from core.metrics import MetricsLogger
from core.progress import progress_bar as open_progress_bar
from core.threads import torch_threads
from core.validation import check_non_negative_int
from rlsuite.demo_mpc import make_pets, pets_settings


@dataclass
class PETSAgentConfig:
    """Hyperparameters of :class:`PETSAgent`. ``None`` takes the setting tuned for the env
    (:func:`rlsuite.demo_mpc.pets_settings`); a saved config holds the values used."""

    horizon: int | None = None  # MPPI's planning horizon, in env steps
    samples: int | None = None  # MPPI's perturbed action sequences per plan
    temperature: float | None = None  # MPPI's λ
    noise_std: float | None = None  # MPPI's perturbation scale, in action units
    random_steps: int | None = None  # uniformly random actions before the first fit
    refit_every: int | None = None  # env steps between refits, each on all the data so far
    epochs: int | None = None  # passes over the data per refit
    hidden: tuple[int, ...] | None = None  # the hidden widths of each ensemble member
    torch_threads: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.hidden is not None:
            if not isinstance(self.hidden, list | tuple):
                raise UserError(f"hidden must be a list of layer widths like [128, 128], got {self.hidden!r}")
            self.hidden = tuple(self.hidden)
        for name in ("temperature", "noise_std"):  # the planner's checks assume numbers
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, Real) or value <= 0):
                raise UserError(f"{name} must be a positive number, got {value!r}")
        check_non_negative_int(self.torch_threads, "torch_threads")


class PETSAgent(Agent):
    """PETS (MPPI on a probabilistic ensemble refitted as data arrive) on InvertedPendulum-v5 or Reacher-v5.

    ``predict`` plans: each call runs MPPI on the learned model from the observation (one planner per row
    of a batch, each warm-started from its last plan), so ``deterministic`` changes nothing.
    """

    kind = "pets"
    config_class: ClassVar[type] = PETSAgentConfig

    def __init__(self, env: gym.Env | str, **hyperparams: Any) -> None:
        super().__init__(env, **hyperparams)
        tuned = pets_settings(self.env.spec.id if self.env.spec is not None else None)
        self.config = replace(
            self.config, **{key: value for key, value in tuned.items() if getattr(self.config, key) is None}
        )
        settings = {f.name: getattr(self.config, f.name) for f in fields(self.config) if f.name in tuned}
        self.pets = make_pets(self.env, seed=self.seed, **settings)

    @property
    def episode_returns(self) -> list[float]:
        """The return of every training episode so far."""
        return [episode.ret for episode in self.pets.episodes]

    def learn(
        self,
        total_steps: int,
        callback: Callable[[PETSAgent], bool | None] | None = None,
        progress_bar: bool = True,
        logger: MetricsLogger | None = None,
    ) -> PETSAgent:
        """``total_steps`` more env steps (starting a fresh episode); ``callback(self)`` False stops early.
        ``logger`` gets each finished episode's return and length and each refit's final model loss."""
        pets = self.pets
        logged = {"episodes": len(pets.episodes), "fits": len(pets.fit_losses)}
        bar = open_progress_bar(total_steps, desc="pets", enabled=None if progress_bar else False)
        with bar, StepBoundaryInterrupts() as interrupts, torch_threads(self.config.torch_threads):

            def after_step(_: Any) -> bool:
                self.num_timesteps = pets.num_timesteps
                bar.update(1)
                if logger is not None:
                    for episode in pets.episodes[logged["episodes"] :]:
                        logger.log(
                            episode.steps_so_far, episode_return=episode.ret, episode_length=episode.length
                        )
                    for loss in pets.fit_losses[logged["fits"] :]:
                        logger.log(self.num_timesteps, model_loss=loss)
                logged.update(episodes=len(pets.episodes), fits=len(pets.fit_losses))
                stop = callback is not None and callback(self) is False
                interrupts.check()
                return not stop

            pets.learn(total_steps, callback=after_step)
        return self

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[np.ndarray, None]:
        with torch_threads(self.config.torch_threads):
            return self.pets.predict(obs)

    def reset_episodes(self, mask: np.ndarray) -> None:
        """The rows of ``mask`` begin new episodes: their planners drop the last plan (no warm start)."""
        self.pets.reset_planners(mask)

    def _state_dict(self) -> dict[str, Any]:
        return self.pets.state_dict()

    def _load_state_dict(self, state: dict[str, Any]) -> None:
        self.pets.load_state_dict(state)
        self.num_timesteps = self.pets.num_timesteps
