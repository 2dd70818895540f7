"""Experience replay (Lin 1992; Mnih et al. 2015): a numpy ring of transitions, sampled uniformly.

Each observation is stored once. Slot ``i`` of env column ``e`` holds the observation an action was taken
in, that action, its reward and its ``terminated`` / ``truncated`` flags; the transition's next
observation is the one in slot ``i + 1`` of the same column, because the env's next step writes it there.
Where an episode ends that is not so (the env is reset, and the next step starts from the reset
observation), so ``add`` writes the final observation into a slot of its own, marked as starting no
transition. That costs one slot per episode instead of a second copy of every observation, which matters
for image observations (an Atari frame stack is 28 KB).

With several envs (Gymnasium's vector API) each env has its own column and its own write position, so
their trajectories never interleave; the buffer holds ``capacity // n_envs`` slots per env.

Only termination ends the bootstrap: a transition cut by a time limit (``truncated``) still has a value
after it, ``Q(s', ·)``, and the learner needs its real final observation, which is why it is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from core.errors import UserError
from core.validation import check_positive_int


@dataclass
class ReplayBatch:
    """``batch_size`` transitions as numpy arrays, ready for ``torch.from_numpy``.

    With n-step returns, ``rewards`` is the discounted sum ``Σ_{k<m} γ^k r_{t+k}`` over the ``m ≤ n`` steps
    before the episode ended or ``n`` was reached, ``next_obs`` is the observation ``m`` steps on and
    ``discounts`` is ``γ^m``: the TD target is ``rewards + discounts * (1 − terminated) * V(next_obs)``.
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray  # float32
    next_obs: np.ndarray
    terminated: np.ndarray  # float32, 1.0 where the episode terminated within the m steps (no bootstrap)
    discounts: np.ndarray  # float32, γ^m
    weights: np.ndarray | None = None  # float32 importance weights (prioritised replay only)
    indices: np.ndarray | None = None  # which slots were drawn, for update_priorities (prioritised only)

    def __len__(self) -> int:
        return len(self.rewards)


class ReplayBuffer:
    """``ReplayBuffer(capacity, obs_space, action_space, n_envs=1, n_step=1, gamma=0.99, seed=0)``.

    ``add`` takes one vector-env step (arrays with a leading ``n_envs`` axis); ``sample(batch_size)`` draws
    transitions uniformly with replacement, with a numpy Generator. Observations keep their space's dtype
    (uint8 frames stay uint8), Discrete observations and actions are stored as int64.

    A transition becomes sampleable once its next observation (n steps on, for n-step returns) is stored,
    so the newest ``n_step`` steps of each env wait for the next ``add``. Sampling draws slots at random
    and keeps those that start a sampleable transition: every sampleable transition is equally likely.
    """

    def __init__(
        self,
        capacity: int,
        obs_space: gym.Space,
        action_space: gym.Space,
        n_envs: int = 1,
        n_step: int = 1,
        gamma: float = 0.99,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        capacity = check_positive_int(capacity, "buffer capacity")
        self.n_envs = check_positive_int(n_envs, "n_envs")
        self.n_step = check_positive_int(n_step, "n_step")
        self.gamma = float(gamma)
        self.rows = capacity // self.n_envs
        if self.rows < self.n_step + 2:
            raise UserError(
                f"buffer capacity {capacity} is too small for {n_envs} envs and n_step {n_step}: "
                f"each env needs at least n_step + 2 = {self.n_step + 2} slots"
            )
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        shape = (self.rows, self.n_envs)
        self.obs = np.zeros(shape + space_shape(obs_space), dtype=_dtype(obs_space, "observation"))
        self.actions = np.zeros(shape + space_shape(action_space), dtype=_dtype(action_space, "action"))
        self.rewards = np.zeros(shape, dtype=np.float32)
        self.terminated = np.zeros(shape, dtype=bool)
        self.truncated = np.zeros(shape, dtype=bool)
        self.starts_transition = np.zeros(shape, dtype=bool)  # False: empty, or an episode's final obs
        self.cursor = np.zeros(self.n_envs, dtype=np.int64)  # the next slot each env writes
        self.filled = np.zeros(self.n_envs, dtype=np.int64)  # slots written so far, at most `rows`
        self.transitions = 0  # slots that start a transition (sampleable or soon to be)
        self._columns = np.arange(self.n_envs)

    # What state_dict holds: the arrays, then the scalars.
    _state_arrays: tuple[str, ...] = (
        "obs",
        "actions",
        "rewards",
        "terminated",
        "truncated",
        "starts_transition",
        "cursor",
        "filled",
    )
    _state_scalars: tuple[str, ...] = ("transitions",)

    @property
    def capacity(self) -> int:
        return self.rows * self.n_envs

    def __len__(self) -> int:
        """Transitions stored (the newest ``n_step`` per env included, though not yet sampleable)."""
        return self.transitions

    @property
    def can_sample(self) -> bool:
        """Whether at least one transition is sampleable (at most ``n_step`` per env are still waiting)."""
        return self.transitions > self.n_step * self.n_envs

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        next_obs: np.ndarray,
    ) -> None:
        """Store one step of every env: ``obs`` and what followed it; arrays have a leading ``n_envs`` axis.

        ``next_obs`` is written only for envs whose episode ended here (its final observation); for the
        others it is the ``obs`` of their next ``add``, where it will be stored.
        """
        done = np.logical_or(terminated, truncated)
        rows = self.cursor.copy()
        self._write(self._columns, obs, True)
        self.actions[rows, self._columns] = actions
        self.rewards[rows, self._columns] = rewards
        self.terminated[rows, self._columns] = terminated
        self.truncated[rows, self._columns] = truncated
        self._advance(self._columns)
        ended = np.flatnonzero(done)
        if len(ended):
            self._write(ended, np.asarray(next_obs)[ended], False)
            self._advance(ended)
        self._stored()

    def cut_episodes(self, final_obs: np.ndarray) -> None:
        """End every env's running episode here, as a time limit would: its newest transition is marked
        truncated and ``final_obs`` (each env's observation after it) stored as the episode's last.

        For a buffer restored from a checkpoint: the envs start new episodes, which must not be read as
        the continuation of the old ones.
        """
        newest = (self.cursor - 1) % self.rows
        running = self.starts_transition[newest, self._columns]  # not already ended by its last add
        columns = self._columns[running]
        self.truncated[newest[running], columns] = True
        self._write(columns, np.asarray(final_obs)[running], False)
        self._advance(columns)
        self._stored()

    def _stored(self) -> None:
        """Called after each add: subclasses index the transitions that became sampleable."""

    def state_dict(self) -> dict[str, np.ndarray | int | float]:
        """The buffer's contents and write positions (copies), for a checkpoint."""
        return {name: getattr(self, name).copy() for name in self._state_arrays} | {
            name: getattr(self, name) for name in self._state_scalars
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()`` of a buffer made with the same capacity, spaces and ``n_envs``."""
        for name in self._state_arrays:
            value = np.asarray(state[name])
            target = getattr(self, name)
            if value.shape != target.shape:
                raise UserError(
                    f"saved replay buffer {name} has shape {value.shape}, this buffer {target.shape}: "
                    "load it with the buffer_size, n_envs and spaces it was saved with"
                )
            target[...] = value
        for name in self._state_scalars:
            setattr(self, name, type(getattr(self, name))(state[name]))

    def _write(self, columns: np.ndarray, obs: np.ndarray, starts_transition: bool) -> None:
        rows = self.cursor[columns]
        self.transitions -= int(self.starts_transition[rows, columns].sum())  # overwriting old ones
        self.obs[rows, columns] = obs
        self.starts_transition[rows, columns] = starts_transition
        self.terminated[rows, columns] = False
        self.truncated[rows, columns] = False
        self.transitions += len(columns) if starts_transition else 0

    def _advance(self, columns: np.ndarray) -> None:
        self.cursor[columns] = (self.cursor[columns] + 1) % self.rows
        self.filled[columns] = np.minimum(self.filled[columns] + 1, self.rows)

    def sample(self, batch_size: int) -> ReplayBatch:
        """``batch_size`` transitions drawn uniformly with replacement from the sampleable ones."""
        if not self.can_sample:
            raise ValueError(f"the buffer holds no sampleable transition yet ({self.transitions} stored)")
        rows_parts, cols_parts, windows = [], [], []
        need = batch_size
        # Rejection sampling over the slot grid: draw more candidates the more of them are refused.
        grid = int(self.filled.max()) * self.n_envs
        accept = (self.transitions - self.n_step * self.n_envs) / grid
        while need > 0:
            draws = min(int(need / accept * 1.1) + 16, 1 << 20)
            rows = self.rng.integers(0, self.filled.max(), size=draws)
            cols = self.rng.integers(0, self.n_envs, size=draws)
            window = self._window(rows, cols)
            ok = np.flatnonzero(window[0])[:need]
            rows_parts.append(rows[ok])
            cols_parts.append(cols[ok])
            windows.append(tuple(part[ok] for part in window[1:]))
            need -= len(ok)
        rows, cols = np.concatenate(rows_parts), np.concatenate(cols_parts)
        return self._batch(rows, cols, *(np.concatenate(parts) for parts in zip(*windows, strict=True)))

    def _batch(
        self,
        rows: np.ndarray,
        cols: np.ndarray,
        returns: np.ndarray,
        discounts: np.ndarray,
        terminated: np.ndarray,
        next_rows: np.ndarray,
    ) -> ReplayBatch:
        return ReplayBatch(
            obs=self.obs[rows, cols],
            actions=self.actions[rows, cols],
            rewards=returns,
            next_obs=self.obs[next_rows, cols],
            terminated=terminated.astype(np.float32),
            discounts=discounts,
        )

    def _window(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, ...]:
        """For each candidate slot: whether it starts a sampleable transition, and its n-step return.

        Walks ``k = 0 … n−1`` steps on from the slot while the episode lasts, summing ``γ^k r_{t+k}``. A
        step ``k`` is usable only if slot ``t+k+1`` is already written in this pass of the ring (``k`` is
        below the slot's distance to its env's newest slot); otherwise the transition is not ready.
        """
        ok = self.starts_transition[rows, cols] & (rows < self.filled[cols])
        newest_distance = (self.cursor[cols] - 1 - rows) % self.rows
        returns = np.zeros(len(rows), dtype=np.float32)
        discounts = np.ones(len(rows), dtype=np.float32)
        terminated = np.zeros(len(rows), dtype=bool)
        alive = np.ones(len(rows), dtype=bool)  # the window has not met the end of its episode yet
        steps = np.zeros(len(rows), dtype=np.int64)
        for k in range(self.n_step):
            slots = (rows + k) % self.rows
            ok &= ~alive | (k < newest_distance)
            returns += np.where(alive, discounts * self.rewards[slots, cols], 0.0).astype(np.float32)
            discounts = np.where(alive, discounts * self.gamma, discounts).astype(np.float32)
            steps += alive
            terminated |= alive & self.terminated[slots, cols]
            alive &= ~(self.terminated[slots, cols] | self.truncated[slots, cols])
        return ok, returns, discounts, terminated, (rows + steps) % self.rows


def space_shape(space: gym.Space) -> tuple[int, ...]:
    """The shape of one element of ``space`` (a Discrete one's is a scalar's)."""
    return () if isinstance(space, gym.spaces.Discrete) else tuple(space.shape)


def _dtype(space: gym.Space, name: str) -> np.dtype:
    if isinstance(space, gym.spaces.Discrete):
        return np.dtype(np.int64)
    if isinstance(space, gym.spaces.Box):
        return space.dtype
    raise UserError(f"the replay buffer stores Box or Discrete {name} spaces, got {space}")


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritised replay (Schaul et al. 2016): transition i is drawn with P(i) ∝ p_i^α.

    The priorities p^α sit in the leaves of a sum-tree (each node holds the sum of its children), so a
    draw is one walk from the root, O(log N). A new transition gets the largest priority seen so far, so it
    is replayed soon at least once; ``update_priorities(indices, td_errors)`` sets p_i = |δ_i| + ε after a
    gradient step. Draws are stratified (one in each of ``batch_size`` equal slices of the total), and the
    batch carries importance weights w_i = (N·P(i))^−β / max_j w_j (max over the batch), which undo the
    bias of the non-uniform draw as β → 1. A transition waits with priority 0 until it is sampleable.
    """

    def __init__(
        self,
        capacity: int,
        obs_space: gym.Space,
        action_space: gym.Space,
        n_envs: int = 1,
        n_step: int = 1,
        gamma: float = 0.99,
        seed: int | np.random.Generator | None = None,
        alpha: float = 0.6,
        eps: float = 1e-6,
    ) -> None:
        self.leaves = 1 << int(
            np.ceil(np.log2(max(2, capacity)))
        )  # slot (row, col) is leaf row * n_envs + col
        self.tree = np.zeros(2 * self.leaves)  # node k's children are 2k and 2k + 1; the root is node 1
        super().__init__(capacity, obs_space, action_space, n_envs, n_step, gamma, seed)
        self.alpha, self.eps = float(alpha), float(eps)
        self.max_priority = 1.0
        self.waiting = np.zeros((self.rows, self.n_envs), dtype=bool)  # not yet sampleable, no priority yet

    @property
    def can_sample(self) -> bool:
        return bool(self.tree[1] > 0)

    _state_arrays = ReplayBuffer._state_arrays + ("tree", "waiting")
    _state_scalars = ReplayBuffer._state_scalars + ("max_priority",)

    def _stored(self) -> None:
        # Windows this step completed lie among each env's newest n + 2 slots (an episode end writes two).
        back = np.arange(self.n_step + 2)[:, None]
        rows = ((self.cursor - 1 - back) % self.rows).ravel()
        cols = np.broadcast_to(self._columns, (len(back), self.n_envs)).ravel()
        ready = self.waiting[rows, cols] & self._window(rows, cols)[0]
        self.waiting[rows[ready], cols[ready]] = False
        self._set_leaves(rows[ready] * self.n_envs + cols[ready], self.max_priority**self.alpha)

    def _write(self, columns: np.ndarray, obs: np.ndarray, starts_transition: bool) -> None:
        rows = self.cursor[columns]
        self._set_leaves(rows * self.n_envs + columns, 0.0)
        self.waiting[rows, columns] = starts_transition
        super()._write(columns, obs, starts_transition)

    def sample(self, batch_size: int, beta: float = 0.4) -> ReplayBatch:
        """``batch_size`` transitions drawn in proportion to their priorities, with importance weights."""
        if not self.can_sample:
            raise ValueError(f"the buffer holds no sampleable transition yet ({self.transitions} stored)")
        total = self.tree[1]
        mass = (np.arange(batch_size) + self.rng.random(batch_size)) * (total / batch_size)
        nodes = np.ones(batch_size, dtype=np.int64)
        while nodes[0] < self.leaves:  # walk down: left if the mass fits in the left subtree, else right
            left, right = self.tree[2 * nodes], self.tree[2 * nodes + 1]
            go_right = ((mass > left) & (right > 0)) | (left <= 0)  # never into an empty subtree
            mass = np.where(go_right, mass - left, mass)
            nodes = 2 * nodes + go_right
        slots = nodes - self.leaves
        rows, cols = slots // self.n_envs, slots % self.n_envs
        batch = self._batch(rows, cols, *self._window(rows, cols)[1:])
        probabilities = self.tree[nodes] / total
        batch.weights = ((probabilities / probabilities.min()) ** -beta).astype(np.float32)
        batch.indices = slots
        return batch

    def update_priorities(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        """p_i = |δ_i| + ε for the slots ``indices`` of the last batch."""
        priorities = np.abs(td_errors) + self.eps
        self.max_priority = max(self.max_priority, float(priorities.max()))
        self._set_leaves(indices, priorities**self.alpha)

    def _set_leaves(self, slots: np.ndarray, values: float | np.ndarray) -> None:
        """Set leaves, then recompute their ancestors' sums, level by level up to the root."""
        nodes = np.asarray(slots, dtype=np.int64) + self.leaves
        if len(nodes) == 0:
            return
        self.tree[nodes] = values
        while nodes[0] > 1:
            nodes = np.unique(nodes // 2)
            self.tree[nodes] = self.tree[2 * nodes] + self.tree[2 * nodes + 1]
