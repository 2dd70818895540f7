"""World models as CLI tasks: ``rlsuite train dynamics|ensemble|cvae|pixel-wm|jepa --env ID``; dreams.

Vector models learn (observation, action) -> next observation of any env with a flat ``Box`` observation
(discrete actions enter one-hot) from episodes of uniformly random actions; ``--steps`` is the number of
transitions (default 5,000). Held-out episodes (seed + 1) give the one-step test MSE, also as a ratio to
predicting "no change", and the open-loop error of the model unrolled on the true actions against the
env's own trajectory after 1, 5, 10 and 20 steps (``horizon_error.png`` plots it for every step):

- ``dynamics``: the emulator (an MLP on standardised state deltas, worldmodels/emulator.py);
- ``ensemble``: a probabilistic ensemble (PETS); also the Spearman correlation, over held-out
  transitions, between the members' disagreement and the error of their mean;
- ``cvae``: the conditional-VAE stochastic model; its figures use z = 0 (its deterministic guess), and
  ``test_mse_sampled`` one prior draw per transition.

Frame models learn from frames: the env's image observations (GridWorld ids get ``obs=pixels``) or its
``rgb_array`` render, pooled until their longer side is at most ``max_side`` pixels; they need discrete
actions. ``--steps`` counts transitions too, cut into random-action sequences of ``length`` steps:

- ``pixel-wm``: VAE + GRU (worldmodels/pixel_world_model.py); the pixel MSE of its open-loop dream over
  that of copying the first frame, per horizon, and ``dream.gif`` (the real rollout beside its dream);
- ``jepa``: the action-conditioned JEPA; the smallest per-dimension std of its embeddings of held-out
  frames (collapse check), a ridge probe's R² for the agent's cell where the env reports one (GridWorld),
  and the error of its predicted target embeddings over that of holding the first frame's embedding (a
  predictor that ignores the actions), per horizon.

``--set`` takes each model's config fields and its training settings (an unknown name lists the valid
ones); ``--resume`` trains again with the new budget, as ``truck-emulator`` does (training takes seconds).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from matplotlib.figure import Figure

from agents.base import make_config, make_env
from core.errors import UserError
from core.rundir import RunDir
from core.threads import torch_threads
from core.validation import check_known_names
from rlsuite.tasks import TaskResult, TaskSpec
from supervised.trainer import Trainer, TrainerConfig
from worldmodels.batches import ArrayBatches
from worldmodels.transitions import Transitions

DEFAULT_TRANSITIONS = {"dynamics": 5_000, "ensemble": 5_000, "cvae": 5_000, "pixel-wm": 1_500, "jepa": 900}
HORIZONS = (1, 5, 10, 20)
TEST_WINDOWS = 100  # held-out open-loop windows (vector models) or sequences (frame models)


# --- hyperparameters ------------------------------------------------------------------------------------


def _defaults(config_class: type, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields of a config dataclass that have defaults, with those defaults (minus ``skip``)."""
    out = {}
    for f in fields(config_class):
        if f.name in skip:
            continue
        if f.default is not MISSING:
            out[f.name] = f.default
        elif f.default_factory is not MISSING:
            out[f.name] = f.default_factory()
    return out


def _resolve(task: str, given: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """``defaults`` updated with the ``--set`` values; an unknown name is a UserError listing valid ones."""
    check_known_names(given, sorted(defaults), task)
    return {**defaults, **given}


def _pick(values: dict[str, Any], names: dict[str, Any] | set[str]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in names}


def _trainer(
    values: dict[str, Any], seed: int, progress_bar: bool, epochs_key: str = "epochs"
) -> TrainerConfig:
    return TrainerConfig(
        epochs=values[epochs_key],
        batch_size=values["batch_size"],
        learning_rate=values["learning_rate"],
        schedule="cosine",
        seed=seed,
        progress_bar=progress_bar,
    )


def _budget(spec: TaskSpec, minimum: int) -> int:
    n = DEFAULT_TRANSITIONS[spec.task] if spec.steps is None else spec.steps
    if n < minimum:
        raise UserError(f"--steps (transitions of data) must be at least {minimum} for {spec.task}; got {n}")
    return n


# --- vector models --------------------------------------------------------------------------------------


def vector_env(spec: TaskSpec) -> gym.Env:
    """The env of ``--env``; one whose observations are not a flat vector is a UserError."""
    if spec.env_id is None:
        raise UserError(f"{spec.task} learns an env's dynamics: give --env ENV_ID (e.g. Pendulum-v1)")
    if spec.data is not None:
        raise UserError(f"--data is for the supervised tasks; {spec.task} learns from --env")
    env = make_env(spec.env_id, **spec.env_kwargs)
    space = env.observation_space
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
        hint = " (pixel-wm and jepa learn from frames)" if space.shape and len(space.shape) == 3 else ""
        raise UserError(
            f"{spec.task} models a flat vector state; {spec.env_id} observes {space}{hint}"
            + ("; try --env-kwarg obs=coords" if "GridWorld" in spec.env_id else "")
        )
    if not isinstance(env.action_space, gym.spaces.Box | gym.spaces.Discrete):
        raise UserError(f"{spec.task} needs Box or Discrete actions; {spec.env_id} has {env.action_space}")
    return env


def action_dim(env: gym.Env) -> int:
    """Width of the action vector the model sees: a Box's size, or the number of discrete actions."""
    space = env.action_space
    return int(space.n) if isinstance(space, gym.spaces.Discrete) else int(np.prod(space.shape))


def random_episodes(env: gym.Env, n_transitions: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Episodes of uniformly random actions, ``(observations [T+1, S], actions [T, A])`` each (discrete
    actions one-hot), until ``n_transitions`` steps in all (the last episode cut short); episode e resets
    with seed ``seed + e`` and the action space is seeded with ``seed``."""
    env.action_space.seed(seed)
    discrete = isinstance(env.action_space, gym.spaces.Discrete)
    width = action_dim(env)
    episodes, total = [], 0
    while total < n_transitions:
        obs, _ = env.reset(seed=seed + len(episodes))
        observations, actions = [obs], []
        done = False
        while not done and total < n_transitions:
            action = env.action_space.sample()
            obs, _, terminated, truncated, _ = env.step(action)
            observations.append(obs)
            actions.append(np.eye(width, dtype=np.float32)[action] if discrete else action)
            done, total = terminated or truncated, total + 1
        episodes.append((np.asarray(observations, np.float32), np.asarray(actions, np.float32)))
    return episodes


def episode_transitions(episodes: list[tuple[np.ndarray, np.ndarray]]) -> Transitions:
    """Every (s, a, s') of the episodes as one transition set."""
    states = np.concatenate([obs[:-1] for obs, _ in episodes])
    nexts = np.concatenate([obs[1:] for obs, _ in episodes])
    actions = np.concatenate([acts for _, acts in episodes])
    return Transitions(*(torch.from_numpy(a) for a in (states, actions, nexts)))


def open_loop_windows(
    episodes: list[tuple[np.ndarray, np.ndarray]], horizon: int, limit: int = TEST_WINDOWS
) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``limit`` non-overlapping ``horizon``-step stretches of the episodes: states ``[N, H+1, S]``
    and actions ``[N, H, A]``; a UserError when no episode lasts ``horizon`` steps."""
    states, actions = [], []
    for obs, acts in episodes:
        for start in range(0, len(acts) - horizon + 1, horizon):
            states.append(obs[start : start + horizon + 1])
            actions.append(acts[start : start + horizon])
    if not states:
        raise UserError(f"no held-out episode lasts {horizon} steps: lower it with --set horizon=N")
    return np.stack(states[:limit]), np.stack(actions[:limit])


def one_step_errors(model: Any, test: Transitions) -> dict[str, float]:
    """The MSE of ``model.step``'s next states on ``test``, and its ratio to that of predicting no change."""
    with torch.no_grad():
        predicted = model.step(test.states, test.actions)
    mse = float((predicted - test.next_states).pow(2).mean())
    still = float((test.states - test.next_states).pow(2).mean())
    return {"test_mse": mse, "test_mse_vs_no_change": mse / still if still > 0 else math.nan}


def _open_loop(model: Any, windows: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    from worldmodels.evaluation import open_loop_errors

    return open_loop_errors(model, *windows)


def _vector_task(
    spec: TaskSpec,
    run: RunDir,
    defaults: dict[str, Any],
    fit: Callable[[Transitions, Transitions, dict[str, Any], int, int], tuple[Any, dict[str, Any]]],
    save: Callable[[Any, Path], None],
) -> TaskResult:
    """Data, ``fit(train, test, hyperparams, state_dim, action_dim) -> (model, extra figures)`` (``test``
    for figures only), held-out figures, the plot and the model (see the module docstring)."""
    env = vector_env(spec)
    values = _resolve(spec.task, spec.hyperparams, {"horizon": max(HORIZONS), **defaults})
    horizon = values["horizon"]
    if not isinstance(horizon, int) or horizon < 1:
        raise UserError(f"horizon must be a positive integer; got {horizon!r}")
    n = _budget(spec, 100)
    with torch_threads(1):
        train = episode_transitions(random_episodes(env, n, spec.seed))
        held_out = random_episodes(env, max(2_000, n // 5), spec.seed + 1_000_003)
        test = episode_transitions(held_out)
        windows = open_loop_windows(held_out, horizon)
        torch.manual_seed(spec.seed)
        model, extra = fit(train, test, values, train.states.shape[1], action_dim(env))
        figures = one_step_errors(model, test)
        curve = _open_loop(model, windows)
    env.close()
    save(model, run.model_path)
    summary = {
        "transitions": len(train),
        **figures,
        **{f"open_loop_error_{t}": float(curve[t - 1]) for t in HORIZONS if t <= horizon},
        "open_loop_windows": len(windows[0]),
        **extra,
    }
    plot = plot_horizon_errors(
        {spec.task: curve},
        run.media_path("horizon_error.png"),
        f"{spec.task} on {spec.env_id}",
        "state error",
    )
    return TaskResult(summary, {"model": run.model_path, "horizon plot": plot}, values)


def dynamics_task(spec: TaskSpec, run: RunDir, resume: bool, progress_bar: bool) -> TaskResult:
    """The deterministic emulator (see the module docstring)."""
    from worldmodels.emulator import (
        Emulator,
        EmulatorConfig,
        EmulatorTrainConfig,
        save_emulator,
        train_emulator,
    )

    network = _defaults(EmulatorConfig, ("state_dim", "action_dim"))
    training = _defaults(EmulatorTrainConfig, ("seed",))
    defaults = {**network, "angle_dims": (), **training}

    def fit(
        train: Transitions, test: Transitions, values: dict[str, Any], s: int, a: int
    ) -> tuple[Any, dict[str, Any]]:
        cfg = make_config(EmulatorConfig, {**_pick(values, network), "state_dim": s, "action_dim": a})
        emulator = Emulator(cfg)
        report = train_emulator(
            emulator,
            train,
            make_config(EmulatorTrainConfig, {**_pick(values, training), "seed": spec.seed}),
        )
        return emulator, {"validation_mse_normalised": report.test_mse[-1], "train_seconds": report.seconds}

    return _vector_task(spec, run, defaults, fit, save_emulator)


def ensemble_task(spec: TaskSpec, run: RunDir, resume: bool, progress_bar: bool) -> TaskResult:
    """The probabilistic ensemble (see the module docstring)."""
    from scipy.stats import spearmanr

    from worldmodels.ensemble import EnsembleConfig, ProbabilisticEnsemble, save_ensemble

    network = _defaults(EnsembleConfig, ("state_dim", "action_dim"))
    defaults = {**network, "hidden": (128, 128), "epochs": 20}

    def fit(
        train: Transitions, test: Transitions, values: dict[str, Any], s: int, a: int
    ) -> tuple[Any, dict[str, Any]]:
        cfg = make_config(EnsembleConfig, {**_pick(values, network), "state_dim": s, "action_dim": a})
        model = ProbabilisticEnsemble(cfg, seed=spec.seed)
        losses = model.fit(
            train.states, train.actions, train.next_states, epochs=values["epochs"], seed=spec.seed
        )
        rho = spearmanr(*_disagreement(model, test)).statistic
        return model, {"final_nll": losses[-1], "uncertainty_spearman": float(rho)}

    return _vector_task(spec, run, defaults, fit, save_ensemble)


def _disagreement(model: Any, data: Transitions) -> tuple[np.ndarray, np.ndarray]:
    """Per transition: the members' disagreement and the Euclidean error of their mean prediction."""
    with torch.no_grad():
        predicted, variance = model.step_with_uncertainty(data.states, data.actions)
    return variance.numpy(), (predicted - data.next_states).norm(dim=-1).numpy()


def cvae_task(spec: TaskSpec, run: RunDir, resume: bool, progress_bar: bool) -> TaskResult:
    """The conditional-VAE stochastic model (see the module docstring)."""
    from worldmodels.cvae import CVAEConfig, CVAEDynamics, save_cvae
    from worldmodels.transition_model import transition_loss

    network = _defaults(CVAEConfig, ("state_dim", "action_dim"))
    defaults = {**network, "beta": 0.1, "epochs": 25, "batch_size": 128, "learning_rate": 2e-3}

    def fit(
        train: Transitions, test: Transitions, values: dict[str, Any], s: int, a: int
    ) -> tuple[Any, dict[str, Any]]:
        cfg = make_config(CVAEConfig, {**_pick(values, network), "state_dim": s, "action_dim": a})
        model = CVAEDynamics(cfg, z_mode="sample", seed=spec.seed)
        arrays = [t.numpy() for t in (train.states, train.actions, train.next_states)]
        model.fit_normalisation(*arrays)
        history = Trainer(model, transition_loss, _trainer(values, spec.seed, progress_bar)).fit(
            ArrayBatches(*arrays)
        )
        model.eval()
        sampled = one_step_errors(model, test)["test_mse"]
        model.z_mode = "zero"  # the figures that follow: its deterministic guess
        extra = {"test_mse_sampled": sampled, "final_recon": history[-1]["train_recon"]}
        return model, {**extra, "final_kl": history[-1]["train_kl"]}

    return _vector_task(spec, run, defaults, fit, save_cvae)


# --- frame models ---------------------------------------------------------------------------------------


def frame_env(env_id: str | None, env_kwargs: dict[str, Any], max_side: int, task: str) -> gym.Env:
    """An env whose observations are uint8 frames at most ``max_side`` pixels a side: its own image
    observations, or its ``rgb_array`` render; a UserError for an env with neither, or without discrete
    actions."""
    if env_id is None:
        raise UserError(f"{task} learns from frames: give --env ENV_ID (e.g. rlsuite/GridWorld-v0)")
    from worldmodels.pixel_world_model import shrink_frames

    kwargs = dict(env_kwargs)
    if "GridWorld" in env_id:
        kwargs.setdefault("obs", "pixels")
    env = make_env(env_id, **kwargs)
    if not isinstance(env.action_space, gym.spaces.Discrete):
        env.close()
        raise UserError(f"{task} one-hot encodes discrete actions; {env_id} has {env.action_space}")
    space = env.observation_space
    if not (isinstance(space, gym.spaces.Box) and len(space.shape) == 3 and space.dtype == np.uint8):
        env.close()
        if "rgb_array" not in env.metadata.get("render_modes", []):
            raise UserError(
                f"{task} learns from frames; {env_id} has no image observations nor rgb_array render"
            )
        env = gym.wrappers.AddRenderObservation(make_env(env_id, render_mode="rgb_array", **kwargs))
    frame = shrink_frames(np.zeros(env.observation_space.shape, np.uint8), max_side)
    shape = gym.spaces.Box(0, 255, frame.shape, np.uint8)
    return gym.wrappers.TransformObservation(env, lambda obs: shrink_frames(np.asarray(obs), max_side), shape)


def frame_sequences(env: gym.Env, n_transitions: int, length: int, seed: int) -> dict[str, np.ndarray]:
    """Random-action sequences of ``length`` steps, ``n_transitions // length`` of them (at least one)."""
    from worldmodels.pixel_world_model import collect_pixel_sequences

    return collect_pixel_sequences(env, max(1, n_transitions // length), length, seed=seed)


def _frame_values(spec: TaskSpec, defaults: dict[str, Any]) -> dict[str, Any]:
    values = _resolve(spec.task, spec.hyperparams, {"max_side": 32, **defaults})
    for name in ("max_side", "length"):
        if not isinstance(values[name], int) or values[name] < 1:
            raise UserError(f"{name} must be a positive integer; got {values[name]!r}")
    if spec.data is not None:
        raise UserError(f"--data is for the supervised tasks; {spec.task} learns from --env")
    return values


def pixel_wm_task(spec: TaskSpec, run: RunDir, resume: bool, progress_bar: bool) -> TaskResult:
    """The pixel world model and its dream GIF (see the module docstring)."""
    from worldmodels.pixel_world_model import (
        PixelWorldModel,
        PixelWorldModelConfig,
        fit_pixel_world_model,
        frame_errors,
        save_pixel_world_model,
        write_dream,
    )

    network = _defaults(PixelWorldModelConfig, ("frame_shape", "n_actions"))
    defaults = {
        **network,
        "latent_dim": 8,
        "length": 10,
        "vae_epochs": 5,
        "dynamics_epochs": 60,
        "batch_size": 32,
        "learning_rate": 3e-3,
    }
    values = _frame_values(spec, defaults)
    env = frame_env(spec.env_id, spec.env_kwargs, values["max_side"], spec.task)
    length = values["length"]
    with torch_threads(1):
        train = frame_sequences(env, _budget(spec, length), length, spec.seed)
        test = frame_sequences(env, TEST_WINDOWS * length // 2, length, spec.seed + 1_000_003)
        env.close()
        cfg = make_config(
            PixelWorldModelConfig,
            {
                **_pick(values, network),
                "frame_shape": train["frames"].shape[2:],
                "n_actions": env.action_space.n,
            },
        )
        torch.manual_seed(spec.seed)
        model = PixelWorldModel(cfg)
        vae_trainer = _trainer(
            {**values, "batch_size": 64, "learning_rate": 2e-3}, spec.seed, progress_bar, "vae_epochs"
        )
        history = fit_pixel_world_model(
            model,
            train["frames"],
            train["actions"],
            vae_trainer,
            _trainer(values, spec.seed, progress_bar, "dynamics_epochs"),
        )
        model.eval()
        errors = frame_errors(model, test["frames"], test["actions"], tuple(range(1, length + 1)))
    save_pixel_world_model(model, run.model_path)
    gif = write_dream(model, test["frames"][0], test["actions"][0], run.media_path("dream.gif"))
    ratios = {k: e["model_mse"] / e["copy_mse"] if e["copy_mse"] > 0 else math.nan for k, e in errors.items()}
    summary = {
        "sequences": len(train["frames"]),
        "frame_shape": list(cfg.frame_shape),
        "vae_final_kl": history["vae"][-1]["train_kl"],
        "dynamics_final_loss": history["dynamics"][-1]["train_loss"],
        **{f"mse_ratio_vs_copy_{k}": ratios[k] for k in (1, 5, 10) if k in ratios},
        f"model_mse_{length}": errors[length]["model_mse"],
        f"copy_mse_{length}": errors[length]["copy_mse"],
    }
    plot = plot_horizon_errors(
        {
            "pixel-wm dream": [e["model_mse"] for e in errors.values()],
            "copy first frame": [e["copy_mse"] for e in errors.values()],
        },
        run.media_path("horizon_error.png"),
        f"pixel-wm on {spec.env_id}",
        "pixel MSE",
    )
    return TaskResult(summary, {"model": run.model_path, "dream": gif, "horizon plot": plot}, values)


def jepa_task(spec: TaskSpec, run: RunDir, resume: bool, progress_bar: bool) -> TaskResult:
    """The action-conditioned JEPA (see the module docstring)."""
    from supervised.probe import regression_probe
    from worldmodels.jepa import JEPA, JEPAConfig, jepa_loss, save_jepa

    # history > 1 (the car benchmark's option) would need the evaluation below to feed h embeddings.
    network = _defaults(JEPAConfig, ("frame_shape", "n_actions", "continuous", "history"))
    defaults = {
        **network,
        "embed_dim": 16,
        "length": 3,
        "epochs": 20,
        "batch_size": 32,
        "learning_rate": 2e-3,
    }
    values = _frame_values(spec, defaults)
    env = frame_env(spec.env_id, spec.env_kwargs, values["max_side"], spec.task)
    with torch_threads(1):
        train = frame_sequences(env, _budget(spec, values["length"]), values["length"], spec.seed)
        test = frame_sequences(env, TEST_WINDOWS * 10 // 2, 10, spec.seed + 1_000_003)
        env.close()
        shape = train["frames"].shape[2:]
        cfg = make_config(
            JEPAConfig,
            {**_pick(values, network), "frame_shape": shape, "n_actions": env.action_space.n},
        )
        torch.manual_seed(spec.seed)
        model = JEPA(cfg)
        history = Trainer(model, jepa_loss, _trainer(values, spec.seed, progress_bar)).fit(
            ArrayBatches(train["frames"], train["actions"])
        )
        model.eval()
        with torch.no_grad():
            test_embeddings = model.embed(test["frames"])  # [N, T+1, D]
            predicted = model.predict(test_embeddings[:, 0], torch.as_tensor(test["actions"]))
            targets = model.embed_target(test["frames"])
        model_error = (predicted - targets[:, 1:]).pow(2).sum(-1).mean(0).numpy()
        # The baseline is a predictor that ignores the action: the start embedding, held.
        copy_error = (test_embeddings[:, :1] - targets[:, 1:]).pow(2).sum(-1).mean(0).numpy()
        stds = test_embeddings.reshape(-1, cfg.embed_dim).std(0)
    save_jepa(model, run.model_path)
    summary: dict[str, Any] = {
        "sequences": len(train["frames"]),
        "frame_shape": list(shape),
        "final_loss": history[-1]["train_loss"],
        "min_std": float(stds.min()),
        "mean_std": float(stds.mean()),
        **{
            f"prediction_error_ratio_vs_copy_{k}": float(model_error[k - 1] / copy_error[k - 1])
            for k in (1, 5, 10)
        },
    }
    if "cells" in train:
        with torch.no_grad():
            x_train = model.embed(train["frames"]).reshape(-1, cfg.embed_dim).numpy()
        x_test = test_embeddings.reshape(-1, cfg.embed_dim).numpy()
        summary["probe_r2"] = regression_probe(
            x_train, train["cells"].reshape(-1, 2), x_test, test["cells"].reshape(-1, 2)
        )
    plot = plot_horizon_errors(
        {"jepa prediction": model_error, "copy first embedding": copy_error},
        run.media_path("horizon_error.png"),
        f"jepa on {spec.env_id}",
        "embedding squared error",
    )
    return TaskResult(summary, {"model": run.model_path, "horizon plot": plot}, values)


# --- figures and dreams ---------------------------------------------------------------------------------


def plot_horizon_errors(curves: dict[str, Any], path: Path, title: str, ylabel: str) -> Path:
    """Each ``[T]`` error curve against the horizon 1..T, written to ``path``."""
    fig = Figure(figsize=(6.0, 3.6))
    ax = fig.subplots()
    for label, curve in curves.items():
        curve = np.asarray(curve, dtype=float)
        ax.plot(np.arange(1, len(curve) + 1), curve, marker=".", label=label)
    ax.set_xlabel("steps open loop")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def dream(run_dir: Path, gif: Path, steps: int = 20, seed: int = 0) -> dict[str, Any]:
    """Write a GIF of a fresh ``steps``-step random-action rollout of a pixel-wm run's env (left) beside
    the model's dream of it from its first frame (right); a run of another kind is a UserError."""
    from worldmodels.pixel_world_model import frame_errors, load_pixel_world_model, write_dream

    run = RunDir.open(run_dir)
    config = run.read_config()
    task = config.get("task") if config.get("kind") == "task" else config.get("algo") or config.get("command")
    if task == "jepa":
        raise UserError(
            f"{run.path} is a jepa run: it predicts embeddings, not frames; dream needs a pixel-wm run"
        )
    if task != "pixel-wm":
        raise UserError(
            f"{run.path} is a {task or 'non-model'} run, not a pixel world model; dream needs a pixel-wm run"
        )
    spec = TaskSpec.from_config(config, run.config_path)
    model = load_pixel_world_model(run.model_path)
    env = frame_env(spec.env_id, spec.env_kwargs, spec.hyperparams["max_side"], spec.task)
    if env.observation_space.shape != model.cfg.frame_shape:
        raise UserError(
            f"{spec.env_id} now gives {env.observation_space.shape} frames; the model learnt "
            f"{model.cfg.frame_shape}"
        )
    with torch_threads(1):
        sequence = frame_sequences(env, steps, steps, seed)
    env.close()
    path = write_dream(model, sequence["frames"][0], sequence["actions"][0], gif)
    errors = frame_errors(model, sequence["frames"], sequence["actions"], (steps,))[steps]
    return {
        "gif": str(path),
        "steps": steps,
        "dream_mse": errors["model_mse"],
        "copy_mse": errors["copy_mse"],
    }
