"""An action-conditioned JEPA: predict the next frame's embedding, not its pixels, and plan in that space.

Joint-embedding predictive architecture (LeCun 2022, "A path towards autonomous machine intelligence";
the course notes' four terms):

- a context encoder s_x = Enc(x_t) and a target encoder s_y = Enc_T(x_{t+1}); the target encoder is an
  exponential moving average of the context encoder and gets no gradient (as I-JEPA, Assran et al. 2023),
  so the two differ while their spaces stay aligned and predictions can be fed back in;
- a predictor s_{t+1} = s_t + Pred(s_t, a_t), unrolled open loop for T steps from s_x of the first frame;
- the prediction error ||Pred - s_y||^2 (minimise it: "s_y easily predictable from s_x");
- VICReg's variance and covariance terms (Bardes et al. 2022, eqs. 1-4) on the context embeddings and on
  the predictions: each dimension keeps a standard deviation near 1 over the batch and dimensions are
  decorrelated ("maximise the information content"), which is what stops the trivial solution of a
  constant embedding that every predictor matches;
- a temporal-smoothness term ||s_{t+1} - s_t||^2 on consecutive context embeddings (PLDM, Sobal et al.
  2025, "Learning from reward-free offline data: a case for planning with latent dynamics models"):
  without it any one-to-one code of the states is equally predictable, and distances in it say nothing
  about how many steps apart two states are, which is what planning towards a goal embedding needs.

As a Dynamics (`state_dim = embed_dim`, `action_dim = n_actions`) the predictor plans: `GoalPlanner`
runs the planners' CEM over action logits (argmax, so a discrete action) to bring the predicted
embedding close to a goal image's embedding. With `continuous=True` the `n_actions` inputs are the
coordinates of a continuous action (the car's steering and acceleration) and CEM searches them directly.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.checkpoint import load_model, save_model
from core.errors import UserError
from core.validation import check_positive_int, check_range
from perception.conv import ConvEncoder, ConvEncoderConfig
from perception.mlp import MLP, MLPConfig
from planners.cem import CEM
from planners.costs import MeanDistance
from supervised.ssl_losses import vicreg_terms

KIND = "jepa"


@dataclass
class JEPAConfig:
    """Frames `(H, W, C)` uint8; `n_actions` discrete actions (or, with `continuous`, the size of a
    continuous action vector, fed to the predictor as it is); encoder convs with `channels` (3x3, strides
    2, ..., 2, 1) then a linear map to `embed_dim`; loss weights as VICReg's (25, 25, 1), and
    `smooth_coeff` for the temporal-smoothness term (see JEPA.loss).

    With `keypoints` the encoder reads its last conv's maps as keypoints (`SpatialSoftmax`) before the
    linear map: where a small object is becomes linear in the features, which plain flattened features of
    a few-pixel car do not give. With `history` = h > 1 the predictor reads the last h embeddings (the
    Dynamics state is the h of them side by side, oldest first), so a velocity the embedding does not
    hold is their difference."""

    frame_shape: tuple[int, int, int]
    n_actions: int
    embed_dim: int = 32
    channels: tuple[int, ...] = (16, 32, 32)
    predictor_hidden: tuple[int, ...] = (256, 256)
    ema: float = 0.99
    pred_coeff: float = 25.0
    std_coeff: float = 25.0
    cov_coeff: float = 1.0
    smooth_coeff: float = 5.0
    continuous: bool = False
    keypoints: bool = False
    history: int = 1

    def __post_init__(self) -> None:
        self.frame_shape, self.channels = tuple(self.frame_shape), tuple(self.channels)
        self.predictor_hidden = tuple(self.predictor_hidden)
        check_positive_int(self.n_actions, "n_actions")
        check_positive_int(self.embed_dim, "embed_dim")
        check_positive_int(self.history, "history")
        check_range("ema", self.ema, 0.0, 1.0)
        for name in ("pred_coeff", "std_coeff", "cov_coeff", "smooth_coeff"):
            check_range(name, getattr(self, name), 0.0, float("inf"))
        self.encoder_config()  # a frame too small for the convs fails here

    def encoder_config(self) -> ConvEncoderConfig:
        n = len(self.channels)
        strides = (2,) * (n - 1) + (1,)
        return ConvEncoderConfig(self.frame_shape, self.channels, (3,) * n, strides, None, channels_last=True)


class SpatialSoftmax(nn.Module):
    """Flattened conv maps `[N, C*H*W]` -> `[N, 2C]`: each channel's softmax over its H x W positions (a
    learned temperature) and the expected (x, y) under it, in [-1, 1] (deep spatial autoencoders, Finn
    et al. 2016): one keypoint a channel, e.g. the car's nose or its position a frame ago."""

    def __init__(self, channels: int, height: int, width: int) -> None:
        super().__init__()
        self.shape = (channels, height * width)
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij")
        self.register_buffer("grid", torch.stack((xs.flatten(), ys.flatten()), dim=-1))  # [H*W, 2]
        self.log_temperature = nn.Parameter(torch.zeros(()))

    def forward(self, maps: Tensor) -> Tensor:
        weights = torch.softmax(maps.reshape(-1, *self.shape) / self.log_temperature.exp(), dim=-1)
        return (weights @ self.grid).flatten(1)


class JEPA(nn.Module):
    """Context encoder, EMA target encoder and action-conditioned predictor; implements Dynamics."""

    def __init__(self, cfg: JEPAConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.state_dim, self.action_dim = cfg.embed_dim * cfg.history, cfg.n_actions
        trunk = ConvEncoder(cfg.encoder_config())
        if cfg.keypoints:
            keypoints = SpatialSoftmax(cfg.channels[-1], *cfg.encoder_config().sizes()[-1])
            trunk, features = nn.Sequential(trunk, keypoints), 2 * cfg.channels[-1]
        else:
            features = trunk.feature_dim
        self.context_encoder = nn.Sequential(trunk, nn.Linear(features, cfg.embed_dim))
        self.target_encoder = copy.deepcopy(self.context_encoder).requires_grad_(False)
        self.predictor = MLP(MLPConfig(self.state_dim + cfg.n_actions, cfg.embed_dim, cfg.predictor_hidden))

    def embed(self, frames: Tensor | np.ndarray) -> Tensor:
        """`[..., H, W, C]` -> `[..., D]` context embeddings (what the predictor starts from)."""
        return self._encode(self.context_encoder, frames)

    @torch.no_grad()
    def embed_target(self, frames: Tensor | np.ndarray) -> Tensor:
        """`[..., H, W, C]` -> `[..., D]` target embeddings (what predictions are compared with: goals)."""
        return self._encode(self.target_encoder, frames)

    def _encode(self, encoder: nn.Module, frames: Tensor | np.ndarray) -> Tensor:
        frames = torch.as_tensor(frames)
        lead = frames.shape[:-3]
        return encoder(frames.reshape(-1, *self.cfg.frame_shape)).reshape(*lead, self.cfg.embed_dim)

    def step(self, state: Tensor, action: Tensor) -> Tensor:
        """`s [B, h*D], a [B, n_actions]` (one-hot, or any weights) -> the next state: the last h - 1
        embeddings and the predicted next one (with h = 1 just the predicted next embedding)."""
        newest = state[..., -self.cfg.embed_dim :]
        predicted = newest + self.predictor(torch.cat([state, action.to(state)], dim=-1))
        return torch.cat([state[..., self.cfg.embed_dim :], predicted], dim=-1)

    def one_hot(self, actions: Tensor) -> Tensor:
        """Discrete `[..., ]` -> one-hot `[..., n_actions]`; continuous `[..., n_actions]` pass as floats."""
        if self.cfg.continuous:
            actions = torch.as_tensor(actions).float()
            if actions.shape[-1:] != (self.cfg.n_actions,):
                raise UserError(f"continuous actions must end in {self.cfg.n_actions} coordinates")
            return actions
        actions = torch.as_tensor(actions).long()
        if actions.numel() and not 0 <= int(actions.min()) <= int(actions.max()) < self.cfg.n_actions:
            raise UserError(f"actions must be integers in 0..{self.cfg.n_actions - 1}")
        return F.one_hot(actions, self.cfg.n_actions).float()

    def predict(self, state: Tensor, actions: Tensor) -> Tensor:
        """`[B, T, D]`: the embeddings after each of `actions [B, T]` (`[B, T, A]` continuous), open loop
        from `state [B, h*D]` (the last h embeddings side by side)."""
        one_hot, out = self.one_hot(actions), []
        for t in range(one_hot.shape[1]):
            state = self.step(state, one_hot[:, t])
            out.append(state[..., -self.cfg.embed_dim :])
        return torch.stack(out, dim=1)

    @torch.no_grad()
    def update_target(self) -> None:
        """theta_T <- ema theta_T + (1 - ema) theta (after each optimiser step)."""
        for target, online in zip(
            self.target_encoder.parameters(), self.context_encoder.parameters(), strict=True
        ):
            target.lerp_(online, 1.0 - self.cfg.ema)

    def loss(self, frames: Tensor, actions: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """`frames [B, T+1, H, W, C]`, `actions [B, T]`: pred_coeff * prediction + std_coeff * variance +
        cov_coeff * covariance + smooth_coeff * smoothness, VICReg's terms taken on the context embeddings
        and on the predictions. With history h the predictions start from the first h frames' embeddings."""
        cfg, h = self.cfg, self.cfg.history
        if frames.shape[1] <= h:
            raise UserError(f"sequences of {frames.shape[1]} frames leave nothing to predict after {h}")
        context = self.embed(frames)  # [B, T+1, D]
        target = self.embed_target(frames[:, 1:])
        predicted = self.predict(context[:, :h].flatten(1), actions[:, h - 1 :])
        # invariance of (predictions, targets) is the prediction error; target terms carry no gradient.
        on_predictions = vicreg_terms(predicted.flatten(0, 1), target[:, h - 1 :].flatten(0, 1))
        on_context = vicreg_terms(context[:, 1:].flatten(0, 1), target.flatten(0, 1))
        variance = on_predictions["variance"] + on_context["variance"]
        covariance = on_predictions["covariance"] + on_context["covariance"]
        prediction = on_predictions["invariance"]
        smoothness = F.mse_loss(context[:, 1:], context[:, :-1])
        loss = (
            cfg.pred_coeff * prediction
            + cfg.std_coeff * variance
            + cfg.cov_coeff * covariance
            + cfg.smooth_coeff * smoothness
        )
        metrics = {
            "prediction": prediction,
            "variance": variance,
            "covariance": covariance,
            "smoothness": smoothness,
        }
        return loss, {key: value.detach() for key, value in metrics.items()}


def jepa_loss(model: JEPA, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
    """The trainer's `loss_fn` for batches of (frames [B, T+1, H, W, C], actions [B, T] or [B, T, A]).

    In training mode it first moves the target encoder towards the context encoder: the trainer has no
    per-step hook, so the EMA update for step k runs at the start of step k + 1 (a one-step shift).
    """
    if model.training:
        model.update_target()
    frames, actions = batch
    return model.loss(frames, actions)


def save_jepa(model: JEPA, path: str | Path) -> None:
    """Config and weights (both encoders and the predictor) in one checkpoint, written atomically."""
    save_model(path, KIND, asdict(model.cfg), model)


def load_jepa(path: str | Path) -> JEPA:
    """The model `save_jepa` wrote, in eval mode."""
    return load_model(path, KIND, lambda config: JEPA(JEPAConfig(**config))).eval()


class DiscreteActions:
    """A Dynamics over action logits `[B, n]` for a model of one-hot actions: the argmax is taken, so a
    continuous planner (CEM) searches over discrete actions."""

    def __init__(self, model: JEPA) -> None:
        self.model = model
        self.state_dim, self.action_dim = model.state_dim, model.action_dim

    def step(self, state: Tensor, action: Tensor) -> Tensor:
        one_hot = F.one_hot(action.argmax(-1), self.action_dim).to(state)
        return self.model.step(state, one_hot)


class GoalPlanner:
    """Receding-horizon CEM in embedding space towards a goal image: each step embeds the current frame,
    plans `horizon` actions minimising the mean distance of the predicted embeddings to the goal's
    (the planners' MeanDistance over all D coordinates), and returns the first action. A model with
    history h plans from the last h embeddings it was shown (make one planner per episode), towards the
    goal's embedding h times over (the car at the goal and staying there).

    Discrete models (the default) plan over action logits and act with the argmax (an int); give
    `action_low` and `action_high` (per coordinate) to plan continuous actions within them (an array)."""

    def __init__(
        self,
        model: JEPA,
        goal_frame: np.ndarray,
        horizon: int = 10,
        samples: int = 200,
        elites: int = 20,
        iterations: int = 4,
        seed: int = 0,
        action_low: float | tuple[float, ...] | None = None,
        action_high: float | tuple[float, ...] | None = None,
    ) -> None:
        if (action_low is None) != (action_high is None):
            raise UserError("give both action_low and action_high (continuous actions) or neither")
        self.model, self.continuous = model, action_low is not None
        with torch.no_grad():
            goal = model.embed_target(goal_frame[None])[0]
        self.history = model.state_dim // goal.numel()  # embeddings the model's state holds
        # with history h the goal state is the goal's embedding h times: at the goal, and at rest there
        cost = MeanDistance(goal.repeat(self.history).tolist(), position=tuple(range(model.state_dim)))
        dynamics, low, high = (
            (model, action_low, action_high) if self.continuous else (DiscreteActions(model), -1.0, 1.0)
        )
        self.cem = CEM(dynamics, cost, horizon, low, high, samples, elites, iterations, seed=seed)
        self.recent: list[Tensor] = []  # the last `history` embeddings seen

    def act(self, frame: np.ndarray) -> int | np.ndarray:
        with torch.no_grad():
            embedding = self.model.embed(frame[None])[0]
            # an episode's first frame stands for the ones before it too (a car at rest)
            self.recent = (self.recent or [embedding] * self.history)[1:] + [embedding]
            plan = torch.as_tensor(self.cem.plan(torch.cat(self.recent)))
        return plan.numpy().astype(np.float32) if self.continuous else int(plan.argmax())
