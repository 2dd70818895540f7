"""Deep Q-Network (Mnih et al. 2015), with Double DQN (van Hasselt et al. 2016), n-step returns and
prioritised replay (Schaul et al. 2016) as options.

The whole learning rule is :meth:`DQN.td_target`, :meth:`DQN._update` (the loss and the gradient step)
and :meth:`DQN._sync_target`; the rest collects experience and keeps counters.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from torch import Tensor, nn

from agents.base import Agent, StepBoundaryInterrupts, epsilon_schedule, make_config
from agents.replay import PrioritizedReplayBuffer, ReplayBatch, ReplayBuffer, space_shape
from core.errors import UserError
from core.progress import progress_bar as open_progress_bar
from core.seeding import generator_from_json, generator_to_json
from core.threads import torch_threads
from core.validation import check_bool, check_non_negative_int, check_positive_int, check_range, check_seed
from perception import MLP, ConvEncoder, ConvEncoderConfig, MLPConfig

if TYPE_CHECKING:
    from core.metrics import MetricsLogger

LOSSES = ("huber", "mse")


@dataclass
class DQNConfig:
    """Hyperparameters of :class:`DQN`. Steps are env steps (transitions), summed over the ``n_envs`` copies.

    The defaults are RL-Zoo's tuned CartPole values for SB3's DQN (SB3's own generic defaults, lr 1e-4,
    target sync every 10,000 steps, are made for Atari's budgets). The recommended CartPole-v1 settings
    add ``n_step=3`` and ``double_q=True``, and stop with ``agents.dqn_callbacks.StopOnTrainingReturn(475)``:
    5 of 5 seeds then score 475+ over 20 greedy episodes within 50,000 steps (benchmarks/bench_dqn.py).
    """

    learning_rate: float = 2.3e-3
    """Adam's step size (at the start of learn(), if ``final_learning_rate`` is set)."""
    final_learning_rate: float | None = None
    """If set, the step size decays linearly from ``learning_rate`` to this over learn() (a settling
    network at the end of the run instead of one still jumping at full step size)."""
    buffer_size: int = 100_000
    """Replay capacity in transitions."""
    learning_starts: int = 1_000
    """Steps of uniformly random actions before the first update (they fill the buffer)."""
    batch_size: int = 64
    """Transitions per gradient step."""
    gamma: float = 0.99
    """Discount factor γ."""
    train_freq: int = 256
    """Steps between training phases."""
    gradient_steps: int = 128
    """Gradient steps per training phase."""
    target_update_interval: int = 10
    """Steps between target-network syncs."""
    tau: float = 1.0
    """Sync rate: θ⁻ ← τθ + (1−τ)θ⁻; 1 is the hard copy of Mnih et al., below 1 Polyak averaging."""
    exploration_fraction: float = 0.16
    """Fraction of learn() over which ε decays linearly from its initial to its final value."""
    exploration_initial_eps: float = 1.0
    """ε at the start of learn()."""
    exploration_final_eps: float = 0.04
    """ε after the decay, and for ``predict(deterministic=False)``."""
    max_grad_norm: float = 10.0
    """The gradient's global norm is clipped to this."""
    loss: str = "huber"
    """``huber`` (smooth L1 with δ = 1, as Mnih et al.'s error clipping) or ``mse``."""
    double_q: bool = False
    """Double DQN: the online network picks the next action, the target network values it."""
    n_step: int = 1
    """Steps of the return before bootstrapping (1: one-step TD)."""
    prioritized_replay: bool = False
    """Proportional prioritised replay (Schaul et al. 2016) instead of uniform draws."""
    priority_alpha: float = 0.6
    """How strongly priorities shape the draw: P(i) ∝ p_i^α (0: uniform)."""
    priority_beta: float = 0.4
    """Importance-weight exponent β at the start of learn(), annealed linearly to 1 at its end."""
    net_arch: tuple[int, ...] = (256, 256)
    """Hidden widths of the Q-network's MLP on vector observations (image ones get the Nature trunk), and
    of the MLP head on the features of a prebuilt ``encoder``."""
    freeze_encoder: bool = False
    """With a prebuilt ``encoder``: keep its weights fixed (no gradient reaches it), train only the head."""
    encoder_config: dict[str, Any] | None = None
    """Filled in from the ``encoder`` keyword: its class and config, so that ``load`` rebuilds the
    architecture before the checkpoint's weights go in. Not set by hand."""
    n_envs: int = 1
    """Env copies stepped together (Gymnasium's SyncVectorEnv) while collecting experience."""
    torch_threads: int = 1
    """Torch's intra-op threads during learn() (restored afterwards); 0 leaves torch's setting. Small
    networks on 64-row batches run fastest on one: splitting such products across threads costs more
    than it saves (several times more on a busy machine). Raise it for image observations."""
    seed: int = 0
    """Seeds the network init, exploration, replay sampling and the envs' first reset."""

    def __post_init__(self) -> None:
        self.net_arch = tuple(self.net_arch)
        for name in ("buffer_size", "batch_size", "train_freq", "gradient_steps", "target_update_interval"):
            check_positive_int(getattr(self, name), name)
        for name in ("n_step", "n_envs"):
            check_positive_int(getattr(self, name), name)
        check_non_negative_int(self.torch_threads, "torch_threads")
        for width in self.net_arch:
            check_positive_int(width, "net_arch width")
        check_non_negative_int(self.learning_starts, "learning_starts")
        if self.loss not in LOSSES:
            raise UserError(f"unknown loss {self.loss!r}; valid: {', '.join(LOSSES)}")
        for name in ("double_q", "prioritized_replay", "freeze_encoder"):
            check_bool(getattr(self, name), name)
        check_range("priority_alpha", self.priority_alpha, 0.0, 1.0)
        check_range("priority_beta", self.priority_beta, 0.0, 1.0)
        check_range("learning_rate", self.learning_rate, 0.0, 1.0, low_open=True)
        if self.final_learning_rate is not None:
            check_range("final_learning_rate", self.final_learning_rate, 0.0, 1.0)
        check_range("gamma", self.gamma, 0.0, 1.0)
        check_range("tau", self.tau, 0.0, 1.0, low_open=True)
        check_range("exploration_fraction", self.exploration_fraction, 0.0, 1.0, low_open=True)
        check_range("exploration_initial_eps", self.exploration_initial_eps, 0.0, 1.0)
        check_range("exploration_final_eps", self.exploration_final_eps, 0.0, 1.0)
        check_range("max_grad_norm", self.max_grad_norm, 0.0, float("inf"), low_open=True)
        check_seed(self.seed)
        if self.freeze_encoder and self.encoder_config is None:
            raise UserError(
                "freeze_encoder needs a prebuilt encoder: DQN(env, encoder=..., freeze_encoder=True)"
            )
        if self.encoder_config is not None:
            rebuild_encoder(self.encoder_config)  # a malformed one fails here, not halfway through load()


# The encoders DQN can rebuild on load: perception modules made from one config dataclass.
ENCODERS: dict[str, tuple[type[nn.Module], type]] = {
    "ConvEncoder": (ConvEncoder, ConvEncoderConfig),
    "MLP": (MLP, MLPConfig),
}


def encoder_config_of(encoder: nn.Module) -> dict[str, Any]:
    """``{"class": name, "config": fields}`` of a perception encoder; a UserError for any other module."""
    for name, (module_class, _) in ENCODERS.items():
        if type(encoder) is module_class:
            return {"class": name, "config": asdict(encoder.cfg)}
    raise UserError(
        f"encoder must be one of {', '.join(ENCODERS)} from perception (its config rebuilds it on load), "
        f"got {type(encoder).__name__}"
    )


def rebuild_encoder(encoder_config: dict[str, Any]) -> nn.Module:
    """A freshly initialised encoder of the recorded architecture (``load`` then sets its weights)."""
    if not isinstance(encoder_config, dict) or encoder_config.get("class") not in ENCODERS:
        raise UserError(
            f"encoder_config must be {{'class': one of {', '.join(ENCODERS)}, 'config': {{...}}}}, "
            f"got {encoder_config!r}"
        )
    module_class, config_class = ENCODERS[encoder_config["class"]]
    return module_class(make_config(config_class, dict(encoder_config.get("config", {}))))


def encoder_features(encoder: nn.Module) -> int:
    """Width of the encoder's output features."""
    return encoder.feature_dim if isinstance(encoder, ConvEncoder) else encoder.cfg.out_dim


class QNetwork(nn.Module):
    """``obs [B, *obs_shape] -> Q [B, n_actions]``: an MLP on vectors, the Nature conv trunk on images, or
    a given encoder followed by an MLP head.

    Discrete observations are one-hot encoded; uint8 images go in as they are (the encoder scales them)
    in (H, W, C) layout when their last axis is the smallest (at most 4 channels), else as (C, H, W).
    """

    def __init__(
        self,
        obs_space: gym.Space,
        n_actions: int,
        net_arch: tuple[int, ...],
        encoder: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.one_hot = int(obs_space.n) if isinstance(obs_space, gym.spaces.Discrete) else 0
        if encoder is not None:  # a prebuilt (e.g. pretrained) encoder, an MLP head on its features
            head = MLP(MLPConfig(encoder_features(encoder), n_actions, hidden=net_arch))
            self.body = nn.Sequential(encoder, head)
        elif _is_image(obs_space):
            shape = tuple(obs_space.shape)
            trunk = ConvEncoder(ConvEncoderConfig.nature(shape, 512, channels_last=shape[-1] <= 4))
            self.body = nn.Sequential(trunk, nn.Linear(trunk.feature_dim, n_actions))
        else:
            in_dim = self.one_hot or int(np.prod(obs_space.shape))
            self.body = MLP(MLPConfig(in_dim, n_actions, hidden=net_arch))
            # PyTorch's default init (uniform in ±1/√fan_in), as in SB3's and CleanRL's DQN: RL-Zoo's
            # hyperparameters were tuned with it, and the MLP's orthogonal init solved fewer CartPole seeds.
            for layer in self.body.modules():
                if isinstance(layer, nn.Linear):
                    layer.reset_parameters()

    def forward(self, obs: Tensor) -> Tensor:
        if self.one_hot:
            return self.body(F.one_hot(obs.long(), self.one_hot).float())
        return self.body(obs if obs.dtype in (torch.uint8, torch.float32) else obs.float())


class DQN(Agent):
    """Q-learning with a network, replay and a target network: ``DQN("CartPole-v1").learn(50_000)``.

    ``encoder`` puts a prebuilt feature extractor (a perception ``ConvEncoder`` or ``MLP``, e.g. one
    pretrained by self-supervision) under an MLP head of widths ``net_arch``:
    ``DQN(env, encoder=conv_encoder, freeze_encoder=True)`` trains only the head. The encoder's config is
    recorded in ``config.encoder_config`` and its weights in the checkpoint, so ``DQN.load`` rebuilds it.
    """

    kind = "dqn"
    config_class = DQNConfig
    config: DQNConfig

    def __init__(self, env: gym.Env | str, encoder: nn.Module | None = None, **hyperparams: Any) -> None:
        if encoder is not None:
            hyperparams["encoder_config"] = encoder_config_of(encoder)
        super().__init__(env, **hyperparams)
        if not isinstance(self.env.action_space, gym.spaces.Discrete):
            raise UserError(f"DQN needs a Discrete action space, got {self.env.action_space}")
        obs_space = self.env.observation_space
        flat_box = isinstance(obs_space, gym.spaces.Box) and len(obs_space.shape) == 1
        if not (flat_box or _is_image(obs_space) or isinstance(obs_space, gym.spaces.Discrete)):
            raise UserError(
                f"DQN needs a Discrete, a 1-D Box or a uint8 image Box observation space, got {obs_space}"
            )
        c = self.config
        self.n_actions = int(self.env.action_space.n)
        self._obs_ndim = len(space_shape(obs_space))
        with torch.random.fork_rng(devices=[]):  # seed the init without touching torch's global generator
            torch.manual_seed(c.seed)
            if encoder is None and c.encoder_config is not None:  # load(): the architecture, weights later
                encoder = rebuild_encoder(c.encoder_config)
            if encoder is not None:
                _check_encoder_input(encoder, obs_space)
            self.q_net = QNetwork(obs_space, self.n_actions, c.net_arch, encoder)
            self.q_target = copy.deepcopy(self.q_net)
        self.q_target.requires_grad_(False)
        if c.freeze_encoder:
            self.q_net.body[0].requires_grad_(False)
        self._all_params = list(self.q_net.parameters())
        self._target_params = list(self.q_target.parameters())
        self._params = [p for p in self._all_params if p.requires_grad]  # what the optimiser trains
        self._flat = _flatten(self._params)
        self._numpy_layers = _numpy_layers(self.q_net)
        # fused: one vectorised kernel updates the flat vector (on CPU too): 4-6x faster than torch's
        # default per-tensor loop on this small network.
        self.optimizer = torch.optim.Adam([self._flat], lr=c.learning_rate, fused=True)
        self.rng = np.random.default_rng(c.seed)
        self.buffer: ReplayBuffer | None = None  # made by the first learn(); not saved
        self.episode_returns: list[float] = []
        self.episode_lengths: list[int] = []
        self.n_updates = 0
        self._envs: SyncVectorEnv | None = None
        self._obs: np.ndarray | None = None
        self._collected = 0  # transitions put in this buffer: a loaded agent refills before it trains
        self._include_replay = False  # save() with the replay buffer
        self._saved_replay: dict[str, Any] | None = None  # a loaded buffer, for the first learn()
        self._progress = 0.0  # how far through the current learn() call, for the ε and β schedules

    # --- collecting experience ------------------------------------------------------------------------

    def learn(
        self,
        total_steps: int,
        callback: Callable[[DQN], bool | None] | None = None,
        progress_bar: bool = True,
        logger: MetricsLogger | None = None,
    ) -> DQN:
        """Run ``total_steps`` more env steps, training as configured; ``callback(self)`` False stops early.

        The ε schedule runs from ``num_timesteps`` to ``num_timesteps + total_steps``, as in Q-learning, so a
        resumed run follows the schedule of an uninterrupted one. An agent saved without its replay buffer
        (the default) collects ``learning_starts`` fresh steps (ε-greedy) after loading before it trains
        again; one saved with ``save(path, include_replay=True)`` trains on at once.
        """
        if total_steps < 0:
            raise UserError(f"total_steps must be non-negative, got {total_steps}")
        c = self.config
        horizon = self.num_timesteps + total_steps
        if self._obs is None:
            self._start()
        bar = open_progress_bar(total_steps, desc="dqn", enabled=None if progress_bar else False)
        with bar, StepBoundaryInterrupts() as interrupts, torch_threads(c.torch_threads), flush_denormals():
            while self.num_timesteps < horizon:
                before = self.num_timesteps
                self._progress = before / horizon
                epsilon = 1.0 if before < c.learning_starts else epsilon_schedule(self.config, self._progress)
                actions = self._explore(self._obs, epsilon)
                next_obs, rewards, terminated, truncated, _ = self._envs.step(actions)
                self.buffer.add(self._obs, actions, rewards, terminated, truncated, next_obs)
                self.num_timesteps += c.n_envs
                self._collected += c.n_envs
                self._count_episodes(rewards, terminated | truncated, logger, epsilon=epsilon)
                self._obs = next_obs
                if (terminated | truncated).any():
                    self._obs, _ = self._envs.reset(options={"reset_mask": terminated | truncated})
                if self._collected > c.learning_starts and self.buffer.can_sample:
                    phases = self.num_timesteps // c.train_freq - before // c.train_freq
                    if phases:
                        self._train(phases * c.gradient_steps, logger)
                if self.num_timesteps // c.target_update_interval > before // c.target_update_interval:
                    self._sync_target()
                bar.update(c.n_envs)
                if callback is not None and callback(self) is False:
                    break
                interrupts.check()
        return self

    def _start(self) -> None:
        """Make the env copies, the buffer and the episode counters; reset the envs seeded."""
        c = self.config
        self._envs = self._vector_env(c.n_envs, AutoresetMode.DISABLED)
        spaces = (c.buffer_size, self.env.observation_space, self.env.action_space)
        options = {"n_envs": c.n_envs, "n_step": c.n_step, "gamma": c.gamma, "seed": self.rng}
        if c.prioritized_replay:
            self.buffer = PrioritizedReplayBuffer(*spaces, **options, alpha=c.priority_alpha)
        else:
            self.buffer = ReplayBuffer(*spaces, **options)
        self._collected = 0
        if self._saved_replay is not None:  # saved with include_replay: train on at once
            self.buffer.load_state_dict(self._saved_replay)
            self.buffer.cut_episodes(np.asarray(self._saved_replay["final_obs"]))
            self._collected = int(self._saved_replay["collected"])
            self._saved_replay = None
        # A loaded agent starts from other seeds than the first run did, so it does not replay its episodes.
        first = c.seed + self.num_timesteps
        self._obs, _ = self._envs.reset(seed=[first + i for i in range(c.n_envs)])

    def _learning_rate(self, progress: float) -> float:
        """Constant, or linear from ``learning_rate`` to ``final_learning_rate`` over learn()."""
        c = self.config
        if c.final_learning_rate is None:
            return c.learning_rate
        return c.learning_rate + progress * (c.final_learning_rate - c.learning_rate)

    def _explore(self, obs: np.ndarray, epsilon: float) -> np.ndarray:
        """ε-greedy: per env, a uniform action with probability ε, else the greedy one."""
        explore = self.rng.random(len(obs)) < epsilon
        random_actions = self.rng.integers(self.n_actions, size=len(obs))
        if explore.all():  # no need for the network
            return random_actions
        return np.where(explore, random_actions, self._greedy(obs))

    def _greedy(self, obs: np.ndarray) -> np.ndarray:
        if self._numpy_layers is not None:  # a plain MLP on vectors: numpy, without torch's call overhead
            x = np.asarray(obs, dtype=np.float32)
            for weight_t, bias in self._numpy_layers:
                x = x @ weight_t + bias if weight_t is not None else np.maximum(x, 0.0)
            return x.argmax(axis=1)
        with torch.no_grad():
            return self.q_net(torch.as_tensor(obs)).argmax(dim=1).numpy()

    # --- learning -------------------------------------------------------------------------------------

    def _train(self, gradient_steps: int, logger: MetricsLogger | None) -> None:
        """``gradient_steps`` updates on batches drawn together (one draw, one conversion to tensors).

        The target network changes only between env steps (``_sync_target``), never during a training
        phase, so Q⁻(s', ·) of all the phase's batches comes from one forward pass: the values a pass per
        batch would give (up to float rounding), from one large matrix product instead of many small ones.
        """
        b = self.config.batch_size
        self.optimizer.param_groups[0]["lr"] = self._learning_rate(self._progress)
        losses = torch.empty(gradient_steps)
        if isinstance(self.buffer, PrioritizedReplayBuffer):  # each draw needs the priorities set before it
            for g in range(gradient_steps):
                losses[g] = self._prioritized_update()
        else:
            obs, actions, rewards, next_obs, terminated, discounts = _to_tensors(
                self.buffer.sample(gradient_steps * b)
            )
            with torch.no_grad():
                next_q_target = self.q_target(next_obs)
            for g in range(gradient_steps):
                i = slice(g * b, (g + 1) * b)
                y = self.td_target(rewards[i], next_obs[i], next_q_target[i], terminated[i], discounts[i])
                losses[g] = self._update(obs[i], actions[i], y)[0]
        self.n_updates += gradient_steps
        if logger is not None:
            logger.log(self.num_timesteps, loss=float(losses.mean()), n_updates=self.n_updates)

    def td_target(
        self, rewards: Tensor, next_obs: Tensor, next_q_target: Tensor, terminated: Tensor, discounts: Tensor
    ) -> Tensor:
        """y = r + γ^n (1 − terminated) Q⁻(s', a*), given Q⁻(s', ·); a truncated transition bootstraps."""
        with torch.no_grad():
            if self.config.double_q:  # van Hasselt et al. 2016: a* = argmax_a' Q(s', a'), valued by Q⁻
                best = self.q_net(next_obs).argmax(dim=1, keepdim=True)
                next_value = next_q_target.gather(1, best).squeeze(1)
            else:  # Mnih et al. 2015: a* = argmax_a' Q⁻(s', a')
                next_value = next_q_target.max(dim=1).values
            return rewards + discounts * (1.0 - terminated) * next_value

    def _prioritized_update(self) -> Tensor:
        """One gradient step on a prioritised batch, importance-weighted; its |δ| become its priorities."""
        beta = self.config.priority_beta + self._progress * (1.0 - self.config.priority_beta)
        batch = self.buffer.sample(self.config.batch_size, beta=beta)
        obs, actions, rewards, next_obs, terminated, discounts = _to_tensors(batch)
        with torch.no_grad():
            next_q_target = self.q_target(next_obs)
        y = self.td_target(rewards, next_obs, next_q_target, terminated, discounts)
        loss, td_errors = self._update(obs, actions, y, torch.from_numpy(batch.weights))
        self.buffer.update_priorities(batch.indices, td_errors.numpy())
        return loss

    def _update(
        self, obs: Tensor, actions: Tensor, y: Tensor, weights: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """One gradient step on L(θ) = mean of [w ·] loss(Q(s, a), y), the norm of ∇L clipped.

        Returns L and the TD errors Q(s, a) − y (both detached).
        """
        q = self.q_net(obs).gather(1, actions.unsqueeze(1)).squeeze(1)
        if weights is None:
            loss = F.smooth_l1_loss(q, y) if self.config.loss == "huber" else F.mse_loss(q, y)
        else:
            each = F.smooth_l1_loss if self.config.loss == "huber" else F.mse_loss
            loss = (weights * each(q, y, reduction="none")).mean()
        grads = torch.autograd.grad(loss, self._params)
        torch.cat([g.reshape(-1) for g in grads], out=self._flat.grad)
        # clip_grad_norm_ on the flat gradient, less its multiply by 1 when the norm is within bounds.
        norm = torch.linalg.vector_norm(self._flat.grad)
        if norm > self.config.max_grad_norm:
            self._flat.grad.mul_(self.config.max_grad_norm / (norm + 1e-6))
        self.optimizer.step()
        return loss.detach(), (q - y).detach()

    def _sync_target(self) -> None:
        """θ⁻ ← τθ + (1 − τ)θ⁻: with τ = 1 a hard copy (lerp with weight 1 returns θ exactly)."""
        with torch.no_grad():
            for target, online in zip(self._target_params, self._all_params, strict=True):
                target.lerp_(online, self.config.tau)

    # --- acting and saving ----------------------------------------------------------------------------

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[np.ndarray, None]:
        """Greedy actions for one observation or a batch; ε-greedy (final ε) if not deterministic."""
        obs = np.asarray(obs)
        single = obs.ndim == self._obs_ndim
        batch = obs[None] if single else obs
        actions = self._greedy(batch)
        if not deterministic:
            explore = self.rng.random(len(batch)) < self.config.exploration_final_eps
            actions = np.where(explore, self.rng.integers(self.n_actions, size=len(batch)), actions)
        return (actions.squeeze(0) if single else actions), None

    def save(self, path: str | Path, include_replay: bool = False) -> None:
        """Write the agent to ``path``; ``include_replay`` adds the replay buffer (``buffer_size``
        transitions: megabytes for vectors, gigabytes for frames), so that a loaded agent goes on training
        from the same memory instead of refilling ``learning_starts`` steps. Its envs start new episodes
        either way: the running ones are stored as cut by a time limit."""
        self._include_replay = include_replay
        try:
            super().save(path)
        finally:
            self._include_replay = False

    def _state_dict(self) -> dict[str, Any]:
        replay = {}
        if self._include_replay and self.buffer is not None:
            final = {"final_obs": self._obs, "collected": self._collected}
            replay = {"replay": self.buffer.state_dict() | final}
        return replay | {
            "q_net": self.q_net.state_dict(),
            "q_target": self.q_target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": generator_to_json(self.rng),
            "n_updates": self.n_updates,
            "episode_returns": np.asarray(self.episode_returns, dtype=np.float64),
            "episode_lengths": np.asarray(self.episode_lengths, dtype=np.int64),
        }

    def _load_state_dict(self, state: dict[str, Any]) -> None:
        self.q_net.load_state_dict(state["q_net"])
        self.q_target.load_state_dict(state["q_target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng = generator_from_json(state["rng"])
        self.n_updates = state["n_updates"]
        self.episode_returns = state["episode_returns"].tolist()
        self.episode_lengths = state["episode_lengths"].tolist()
        self._saved_replay = state.get("replay")


@contextmanager
def flush_denormals() -> Iterator[None]:
    """Run the block with denormal floats flushed to zero (the CPU's FTZ/DAZ modes), then restore.

    Adam's second moments and the weights of a network that is settling collect values below 1e-38,
    which x86 CPUs compute on 10-100x slower: without this, Adam's step took 10x longer on CartPole.
    Values that small change nothing in the result.
    """
    was_on = float(torch.tensor([1e-39]) * 1.0) == 0.0  # a denormal survives arithmetic only if not flushed
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(was_on)


def _numpy_layers(q_net: QNetwork) -> list[tuple[np.ndarray | None, np.ndarray | None]] | None:
    """(Wᵀ, b) for each Linear and (None, None) for each ReLU of a Q-network that is only those, as numpy
    views of the live parameters (the optimiser's updates show through); None for any other network.

    Acting runs the network on one observation per env step: with a small MLP, torch's per-call overhead
    is most of that cost, and numpy's matrix products take a quarter of the time.
    """
    leaves = [m for m in q_net.modules() if not list(m.children())]
    plain = all(isinstance(m, nn.ReLU) or (isinstance(m, nn.Linear) and m.bias is not None) for m in leaves)
    if q_net.one_hot or not plain:
        return None
    return [
        (m.weight.detach().numpy().T, m.bias.detach().numpy()) if isinstance(m, nn.Linear) else (None, None)
        for m in leaves
    ]


def _flatten(params: list[nn.Parameter]) -> nn.Parameter:
    """One flat Parameter whose slices the given parameters become (they keep their shapes and modules).

    The optimiser then updates one long vector with one kernel instead of one small kernel per tensor,
    and the gradient's norm is one reduction; what it writes, the module's parameters see.
    """
    flat = nn.Parameter(torch.cat([p.detach().reshape(-1) for p in params]))
    offset = 0
    for p in params:
        p.data = flat.data[offset : offset + p.numel()].view_as(p)
        offset += p.numel()
    flat.grad = torch.zeros_like(flat)
    return flat


def _to_tensors(batch: ReplayBatch) -> tuple[Tensor, ...]:
    """The batch as tensors sharing the numpy arrays' memory, in ``_update``'s argument order."""
    fields = (batch.obs, batch.actions, batch.rewards, batch.next_obs, batch.terminated, batch.discounts)
    return tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in fields)


def _check_encoder_input(encoder: nn.Module, obs_space: gym.Space) -> None:
    """The encoder must take the env's observations as they come."""
    if isinstance(encoder, ConvEncoder):
        expected, takes = tuple(encoder.cfg.in_shape), "images of shape"
    else:
        expected, takes = (encoder.cfg.in_dim,), "vectors of shape"
    if not isinstance(obs_space, gym.spaces.Box) or tuple(obs_space.shape) != expected:
        raise UserError(f"the encoder takes {takes} {expected}, but the env's observations are {obs_space}")


def _is_image(space: gym.Space) -> bool:
    return isinstance(space, gym.spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3
