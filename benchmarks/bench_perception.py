"""Perception models trained supervised and self-supervised: accuracy, SSL probes, VAE, trainer throughput.

    python benchmarks/bench_perception.py            # full run, writes benchmarks/results/perception.json
    python benchmarks/bench_perception.py --quick    # fewer seeds and epochs, for a smoke run

Sections, each in a fresh process (one torch thread, a hard time limit):
- digits: the CNN and the transformer (patches of a conv stem as tokens) on 5 stratified 70/30 splits
  of scikit-learn's digits (seeds 0-4), against scikit-learn's RBF SVM, k-NN and logistic regression
  on the same splits.
- ssl: VICReg, SimCLR and Barlow Twins pretrained on the training images of split 0 (labels unused);
  the same linear (logistic regression) and k-NN probes on the frozen features and on raw pixels.
- frames: VICReg on GridWorld pixel frames (random-walk frames of an open 8x8 grid, a quarter of its
  cells held out); a ridge probe predicting the agent's (row, col) from frozen features and from raw
  pixels (R² on held-out frames of the cells seen in training, and on the frames of the held-out cells);
  a conv VAE's reconstructions of the book grid's frames.
- vae: a VAE on digits, test negative ELBO per pixel, samples, reconstructions, interpolations.
- throughput: images per second of the CNN and the transformer at batch 256, the Trainer against a plain
  loop (same model, optimiser and batches), alternated and repeated, best of each.
- dqn: pixel DQN on the DQN benchmark's 7x7 maze with a conv encoder pretrained by VICReg on the frame of
  every open cell, frozen and fine-tuned, against the same encoder trained from scratch, same seeds:
  environment steps until the greedy return is optimal.
PNGs go beside the results (benchmarks/results/perception_*.png).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_dqn_gridworld import ENV_KWARGS as MAZE_KWARGS  # noqa: E402
from benchmarks.bench_dqn_gridworld import greedy_return  # noqa: E402
from benchmarks.common import RESULTS_DIR, finish, print_table, run_worker  # noqa: E402
from benchmarks.digits_recipe import CNN, DIGITS_TRAINING, TRANSFORMER  # noqa: E402
from supervised.classify import ClassifierConfig  # noqa: E402

SEEDS = range(5)
TEST_FRACTION = 0.3
BATCH = 256
FRAMES_ENV = "rlsuite/GridWorld-v0"
FRAMES_KWARGS = {"obs": "pixels", "layout": "open-8x8", "noise": 0.0}
BOOK_KWARGS = {"obs": "pixels", "layout": "book", "noise": 0.0, "living_reward": -0.04}
# The DQN benchmark's 7x7 maze (a 24-step corridor with dead ends), 56x56 pixels: on the 3x4 book grid
# a randomly initialised trunk already told the 11 cells apart and both arms were equally fast.
DQN_KWARGS = {**MAZE_KWARGS, "obs": "pixels"}
DQN_BUDGET = 30_000


def setup() -> None:
    import torch

    torch.set_num_threads(1)
    import envs  # noqa: F401  (registers the envs)


def digits_trainer(seed: int, epochs: int, batch_size: int = 64, learning_rate: float = 2e-3) -> Any:
    from supervised.trainer import TrainerConfig

    return TrainerConfig(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        weight_decay=1e-4,
        schedule="cosine",
        seed=seed,
        progress_bar=False,
    )


def digits_section(quick: bool) -> dict[str, Any]:
    """CNN, transformer and scikit-learn on the same 70/30 splits."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    from supervised.augment import AugmentConfig
    from supervised.classify import train_classifier
    from supervised.data import load_digits_dataset

    data = load_digits_dataset()
    seeds = range(2) if quick else SEEDS
    training = {
        name: (10, *rest) if quick else (epochs, *rest) for name, (epochs, *rest) in DIGITS_TRAINING.items()
    }
    rows: dict[str, list[float]] = {"cnn": [], "transformer": [], "svm_rbf": [], "knn": [], "logistic": []}
    peers = {
        "svm_rbf": lambda: SVC(kernel="rbf"),
        "knn": lambda: KNeighborsClassifier(n_neighbors=5),
        "logistic": lambda: LogisticRegression(max_iter=5000),
    }
    aug = AugmentConfig.digits()
    for seed in seeds:
        train, test = data.split(TEST_FRACTION, seed=seed)  # the split train_classifier draws too
        flat = lambda d: d.images.reshape(len(d), -1)  # noqa: E731
        for name, make in peers.items():
            rows[name].append(float(make().fit(flat(train), train.labels).score(flat(test), test.labels)))
        for name, model_cfg in (
            ("cnn", CNN),
            ("transformer", TRANSFORMER),
        ):
            _, metrics = train_classifier(
                data,
                digits_trainer(seed, *training[name]),
                model_cfg,
                aug,
                test_fraction=TEST_FRACTION,
                val_fraction=0,
            )
            assert metrics["n_test"] == len(test)
            rows[name].append(metrics["test_accuracy"])
        print(f"seed {seed}: " + ", ".join(f"{k} {v[-1]:.4f}" for k, v in rows.items()), file=sys.stderr)
    return {
        "seeds": list(seeds),
        "training": {
            name: dict(zip(("epochs", "batch_size", "learning_rate"), t, strict=True))
            for name, t in training.items()
        },
        "cnn": asdict(CNN),
        "transformer": asdict(TRANSFORMER),
        "accuracy": rows,
    }


def ssl_section(quick: bool) -> dict[str, Any]:
    """SSL methods pretrained on split 0's training images, probed against raw pixels."""
    from supervised.augment import AugmentConfig
    from supervised.data import load_digits_dataset
    from supervised.probe import knn_probe, linear_probe
    from supervised.ssl import SSLConfig, extract_features, frozen_features, train_ssl
    from supervised.trainer import TrainerConfig

    train, test = load_digits_dataset().split(TEST_FRACTION, seed=0)
    epochs = 10 if quick else 30
    flat = lambda d: d.images.reshape(len(d), -1)  # noqa: E731
    out: dict[str, Any] = {
        "epochs": epochs,
        "pixels": {
            "linear": linear_probe(flat(train), train.labels, flat(test), test.labels),
            "knn": knn_probe(flat(train), train.labels, flat(test), test.labels),
        },
    }
    for method in ("vicreg", "simclr", "barlow"):
        start = time.perf_counter()
        cfg = TrainerConfig(
            epochs=epochs,
            batch_size=BATCH,
            learning_rate=2e-3,
            weight_decay=1e-4,
            schedule="cosine",
            progress_bar=False,
        )
        model, history = train_ssl(train, cfg, SSLConfig(method=method), AugmentConfig.ssl_digits())
        features = frozen_features(model)
        f_train, f_test = extract_features(features, train), extract_features(features, test)
        out[method] = {
            "linear": linear_probe(f_train, train.labels, f_test, test.labels),
            "knn": knn_probe(f_train, train.labels, f_test, test.labels),
            "final_loss": history[-1]["train_loss"],
            "seconds": time.perf_counter() - start,
        }
        print(f"{method}: {out[method]}", file=sys.stderr)
    return out


def frames_data(env_kwargs: dict[str, Any], n: int, seed: int, max_episode_steps: int = 100) -> Any:
    import gymnasium as gym

    from supervised.data import frames_dataset

    make = lambda: gym.make(FRAMES_ENV, **env_kwargs)  # noqa: E731
    return frames_dataset(make, n, seed=seed, max_episode_steps=max_episode_steps)


def cell_frames(env_kwargs: dict[str, Any], copies: int) -> Any:
    """The frame of the agent in every open cell of the grid (the exit included), `copies` times each,
    labelled (row, col): pretraining data that covers every cell the agent can reach, equally often.

    The frames are painted as the env paints its observations, from its own layout, so no random walk
    decides which cells are seen (a walk from the start cell missed the maze's dead-end branch)."""
    import gymnasium as gym
    import numpy as np

    from envs.gridworld.pixels import PixelPainter
    from supervised.data import ArrayDataset
    from supervised.data.frames import frame_images

    env = gym.make(FRAMES_ENV, **env_kwargs).unwrapped
    painter = PixelPainter(env.layout)
    cells = env.state_to_cell
    images = frame_images(np.stack([painter.paint((int(row), int(col))) for row, col in cells]))
    return ArrayDataset(np.repeat(images, copies, axis=0), np.repeat(cells, copies, axis=0))


def pretrain_frames_encoder(data: Any, epochs: int, trunk: Any = None) -> Any:
    """VICReg on frames, channels-last (the layout of the env's observations, so DQN can take it).

    The position probe reads the conv trunk's flattened features, below the 128-unit layer. In trial runs
    (open 8x8 grid, 20 epochs) at learning rate 1e-3 the encoder lost the agent's position (only 39
    distinct feature vectors for the 60 cells seen, R² 0.48 on either layer); at 3e-4 the trunk kept it
    (R² 0.9997) while 58 of the 128 units above were dead (R² 0.87); with no 128-unit layer, the
    projector straight on the trunk, R² was 0.75. `trunk` (a ConvEncoderConfig) replaces the Nature
    trunk's convs and feature layer with its own. These trials used views of brightness ±30 % and noise
    0.1, the frames' views then; the milder views of now gave the same R² (0.9999) on the cells seen and
    -2.7 on held-out cells (was -15.4)."""
    from supervised.augment import AugmentConfig
    from supervised.ssl import SSLConfig, train_ssl
    from supervised.trainer import TrainerConfig

    cfg = TrainerConfig(
        epochs=epochs, batch_size=BATCH, learning_rate=3e-4, schedule="cosine", progress_bar=False
    )
    layers = (
        {}
        if trunk is None
        else {
            "channels": trunk.channels,
            "kernels": trunk.kernels,
            "strides": trunk.strides,
            "feature_dim": trunk.out_dim,
        }
    )
    ssl_cfg = SSLConfig(channels_last=True, **layers)
    model, _ = train_ssl(data, cfg, ssl_cfg, AugmentConfig.ssl_frames())
    return model


def held_out_cells(data: Any, fraction: float, seed: int) -> tuple[Any, Any]:
    """`(seen, unseen)`: the frames of a random `fraction` of the distinct agent cells go to `unseen`."""
    import numpy as np

    cells = np.unique(data.labels, axis=0)
    rng = np.random.default_rng(seed)
    held = cells[rng.choice(len(cells), round(fraction * len(cells)), replace=False)]
    unseen = (data.labels[:, None, :] == held[None]).all(-1).any(-1)
    return data.subset(np.flatnonzero(~unseen)), data.subset(np.flatnonzero(unseen))


def frames_section(quick: bool) -> dict[str, Any]:
    """Position probes on GridWorld frames, and a conv VAE's reconstructions.

    A quarter of the grid's cells are held out: neither VICReg nor any probe sees a frame with the agent
    there. The rest is split 70/30 at random (test frames then show the agent in cells that training
    frames show it in too); the held-out probe is fitted on the same training frames and scored on the
    frames of the unseen cells, which asks whether the features place the agent, not recognise a frame."""
    import torch

    from perception import VAEConfig
    from supervised.images import image_grid, save_png
    from supervised.probe import regression_probe
    from supervised.ssl import extract_features, frozen_features
    from supervised.trainer import TrainerConfig
    from supervised.vae_task import reconstructions, train_vae

    data = frames_data(FRAMES_KWARGS, 1000 if quick else 2000, seed=0)
    seen, unseen = held_out_cells(data, 0.25, seed=0)
    train, test = seen.split(TEST_FRACTION, seed=0, stratified=False)
    model = pretrain_frames_encoder(train, 5 if quick else 20)
    frozen_features(model)  # eval mode
    trunk = model.trunk_features
    f_train, f_test, f_unseen = (extract_features(trunk, d) for d in (train, test, unseen))
    flat = lambda d: d.images.reshape(len(d), -1)  # noqa: E731
    distinct = lambda d: len({tuple(label) for label in d.labels.tolist()})  # noqa: E731
    out: dict[str, Any] = {
        "frames": len(data),
        "distinct_cells": distinct(data),
        "held_out_cells": distinct(unseen),
        "held_out_frames": len(unseen),
        "vicreg_r2": regression_probe(f_train, train.labels, f_test, test.labels),
        "pixels_r2": regression_probe(flat(train), train.labels, flat(test), test.labels),
        "vicreg_held_out_r2": regression_probe(f_train, train.labels, f_unseen, unseen.labels),
        "pixels_held_out_r2": regression_probe(flat(train), train.labels, flat(unseen), unseen.labels),
    }
    # The VAE on the book grid: a Gaussian decoder with sigma 0.1 weighs each squared error 50-fold,
    # so that the agent's small disc is worth encoding.
    vae_data = frames_data(BOOK_KWARGS, 1500, seed=0)
    cfg = TrainerConfig(epochs=5 if quick else 40, batch_size=64, learning_rate=2e-3, progress_bar=False)
    vae_cfg = VAEConfig(vae_data.image_shape, latent_dim=8, hidden=(512,), decoder="gaussian", sigma=0.1)
    vae, metrics, vae_test = train_vae(vae_data, cfg, vae_cfg, test_fraction=TEST_FRACTION)
    pictures = reconstructions(vae, torch.from_numpy(vae_test.images[:8]))
    save_png(image_grid(pictures, 8, scale=2), RESULTS_DIR / "perception_frames_reconstructions.png")
    out["vae_test_nelbo_per_pixel"] = metrics["test_nelbo_per_pixel"]
    out["vae_reconstruction_mae"] = float((pictures[8:] - pictures[:8]).abs().mean())
    return out


def vae_section(quick: bool) -> dict[str, Any]:
    """A VAE on the digits: test negative ELBO per pixel and its pictures."""
    from perception import VAEConfig
    from supervised.data import load_digits_dataset
    from supervised.trainer import TrainerConfig
    from supervised.vae_task import save_vae_pictures, train_vae

    cfg = TrainerConfig(epochs=20 if quick else 100, batch_size=64, learning_rate=1e-3, progress_bar=False)
    vae_cfg = VAEConfig((1, 8, 8), latent_dim=8, hidden=(256, 256))
    model, metrics, test = train_vae(load_digits_dataset(), cfg, vae_cfg, test_fraction=TEST_FRACTION)
    paths = save_vae_pictures(model, test, RESULTS_DIR, prefix="perception_vae_", n=8, scale=4)
    return {
        **metrics,
        "pictures": {k: str(p.relative_to(RESULTS_DIR.parent.parent)) for k, p in paths.items()},
    }


def throughput_section(quick: bool) -> dict[str, Any]:
    """Training images per second: the Trainer against the plain loop it replaces."""
    import numpy as np
    import torch
    from torch.nn import functional as F

    from core.seeding import seed_everything
    from supervised.classify import build_classifier, classification_loss
    from supervised.data import load_digits_dataset
    from supervised.trainer import Trainer, TrainerConfig

    data = load_digits_dataset()
    epochs, repeats = (2, 2) if quick else (5, 3)
    out: dict[str, Any] = {"batch_size": BATCH, "epochs": epochs, "repeats": repeats}

    def trainer_run(model_cfg: ClassifierConfig) -> float:
        seed_everything(0)
        model = build_classifier(model_cfg, data.image_shape, 10)
        cfg = TrainerConfig(epochs=epochs, batch_size=BATCH, progress_bar=False)
        trainer = Trainer(model, classification_loss, cfg)
        start = time.perf_counter()
        trainer.fit(data)
        return epochs * len(data) / (time.perf_counter() - start)

    def plain_run(model_cfg: ClassifierConfig) -> float:
        seed_everything(0)
        model = build_classifier(model_cfg, data.image_shape, 10)
        optimizer = torch.optim.AdamW(model.parameters(), 1e-3, weight_decay=0.0)
        rng = np.random.default_rng(0)
        images, labels = torch.from_numpy(data.images), torch.from_numpy(data.labels)
        start = time.perf_counter()
        model.train()
        for _ in range(epochs):
            order = torch.from_numpy(rng.permutation(len(data)))
            for i in range(0, len(data), BATCH):
                idx = order[i : i + BATCH]
                loss = F.cross_entropy(model(images[idx]), labels[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        return epochs * len(data) / (time.perf_counter() - start)

    for name, model_cfg in (("cnn", CNN), ("transformer", TRANSFORMER)):
        trainer_ips, plain_ips = [], []
        for _ in range(repeats):
            trainer_ips.append(trainer_run(model_cfg))
            plain_ips.append(plain_run(model_cfg))
        out[name] = {
            "trainer_images_per_second": max(trainer_ips),
            "plain_images_per_second": max(plain_ips),
            "ratio": max(trainer_ips) / max(plain_ips),
        }
    return out


def dqn_run(encoder: Any, freeze: bool, seed: int, budget: int) -> dict[str, Any]:
    """Pixel DQN on the maze over `encoder` (frozen or trained): env steps until its greedy policy earns
    the planner's optimal return (checked every CHECK_EVERY steps; training stops there, None if not
    within `budget`), and the seconds it took."""
    import gymnasium as gym

    from agents.dqn import DQN
    from benchmarks.bench_dqn_gridworld import CHECK_EVERY, HYPERPARAMS, planner_return

    optimal = planner_return()
    env, probe = gym.make(FRAMES_ENV, **DQN_KWARGS), gym.make(FRAMES_ENV, **DQN_KWARGS)
    agent = DQN(env, encoder=encoder, freeze_encoder=freeze, **HYPERPARAMS["pixels"], seed=seed)
    reached: list[int] = []

    def check(dqn: Any) -> bool:
        if dqn.num_timesteps % CHECK_EVERY == 0:
            if greedy_return(probe, lambda o: dqn.predict(o)[0]) >= optimal - 1e-9:
                reached.append(dqn.num_timesteps)
                return False
        return True

    start = time.perf_counter()
    agent.learn(budget, callback=check, progress_bar=False)
    return {"steps": reached[0] if reached else None, "seconds": time.perf_counter() - start}


def cell_separation(encoder: Any, data: Any, aug: Any, views: int = 20) -> dict[str, Any]:
    """Whether `encoder`'s features tell every cell of `data` (one frame per cell) apart: the closest
    two cells' feature distance over the median distance between cells, which pair that is, the mean
    cosine similarity between cells' features, and how many of `views` augmented frames per cell
    (`aug`, the pretraining's views) lie nearest to their own cell's clean features."""
    import numpy as np
    import torch

    from supervised.augment import augment

    images = torch.from_numpy(data.images)
    with torch.no_grad():
        clean = encoder(images.permute(0, 2, 3, 1)).double()
        noisy = encoder(augment(images.repeat(views, 1, 1, 1), aug).permute(0, 2, 3, 1)).double()
    distance = torch.cdist(clean, clean)
    upper = torch.triu_indices(len(clean), len(clean), 1)
    pairs = distance[upper[0], upper[1]]
    i, j = upper[:, int(pairs.argmin())].tolist()
    unit = clean / clean.norm(dim=1, keepdim=True).clamp_min(1e-12)
    nearest = torch.cdist(noisy, clean).argmin(1).numpy()
    return {
        "closest_over_median_distance": float(pairs.min() / pairs.median()),
        "closest_cells": [data.labels[i].tolist(), data.labels[j].tolist()],
        "mean_cosine": float((unit @ unit.T)[upper[0], upper[1]].mean()),
        "nearest_neighbour_accuracy": float(np.mean(nearest == np.tile(np.arange(len(clean)), views))),
    }


def dqn_section(quick: bool) -> dict[str, Any]:
    """Pixel DQN on the 7x7 maze of the DQN benchmark with a VICReg-pretrained conv encoder, frozen and
    fine-tuned, against the same encoder trained from scratch, same seeds and hyperparameters: env steps
    to the optimal return.

    All arms are the DQN benchmark's pixel network: its encoder (two convs and a 128-unit layer), then a
    128-unit layer and the Q-values (the head, always trained). The encoder is pretrained with VICReg on
    the frame of every open cell of the maze (no rewards, no actions), and `cell_separation` says
    whether its features tell the cells apart.

    Trial runs (seed 0, 30,000 steps): pretrained on random-walk frames from the start cell (25 of the 31
    cells, the dead-end branch beside the exit missed), the frozen trunk needed 29,500 steps where
    scratch needed 14,500 (then with no 128-unit layer in the encoder). With this network (scratch
    16,500), pretrained for 30 epochs on every cell's frame with the frames' usual views (brightness
    ±30 %, noise 0.1), the frozen encoder needed 26,500: a brightness change moves a frame further than
    moving the agent one cell does, and the cells' features stayed alike (the closest two at 0.07 of the
    median distance between cells, mean cosine 0.40). Pretrained for 60 epochs with milder views (±10 %,
    noise 0.03), the closest two cells are at 0.28 of the median, the mean cosine 0.23, and the frozen
    encoder needed 11,000 steps (these are AugmentConfig.ssl_frames now)."""
    import copy

    import gymnasium as gym
    import torch

    from benchmarks.bench_dqn_gridworld import ENV_KWARGS, pixel_encoder, planner_return
    from supervised.augment import AugmentConfig

    env = gym.make(FRAMES_ENV, **DQN_KWARGS)
    shape = env.observation_space.shape
    frames = cell_frames(DQN_KWARGS, 100)
    aug = AugmentConfig.ssl_frames()
    start = time.process_time()
    model = pretrain_frames_encoder(frames, 10 if quick else 60, pixel_encoder(shape).cfg)
    pretraining_cpu = time.process_time() - start
    pretrained = pixel_encoder(shape)
    pretrained.load_state_dict(model.encoder.state_dict())
    pretrained.eval()
    one_each = frames.subset(list(range(0, len(frames), 100)))
    torch.manual_seed(0)
    separation = {
        "pretrained": cell_separation(pretrained, one_each, aug),
        "random_init": cell_separation(pixel_encoder(shape), one_each, aug),
    }
    print(f"dqn separation: {separation}", file=sys.stderr)
    seeds, budget = (range(1), 5000) if quick else (range(3), DQN_BUDGET)
    arms = ("pretrained_frozen", "pretrained_finetuned", "scratch")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in arms}
    for seed in seeds:
        runs["pretrained_frozen"].append(dqn_run(copy.deepcopy(pretrained), True, seed, budget))
        runs["pretrained_finetuned"].append(dqn_run(copy.deepcopy(pretrained), False, seed, budget))
        torch.manual_seed(seed)  # the scratch encoder's init
        runs["scratch"].append(dqn_run(pixel_encoder(shape), False, seed, budget))
        print(f"dqn seed {seed}: {runs}", file=sys.stderr)
    steps = {name: [run["steps"] for run in values] for name, values in runs.items()}
    # A run that never reached the optimum counts as the whole budget (a lower bound on its steps).
    capped = {name: mean([budget if n is None else n for n in values]) for name, values in steps.items()}
    return {
        "env_kwargs": ENV_KWARGS,
        "optimal_return": planner_return(),
        "encoder": asdict(pretrained.cfg),
        "pretraining_frames": len(frames),
        "pretraining_distinct_cells": len(one_each),
        "pretraining_augment": asdict(aug),
        "pretraining_cpu_seconds": pretraining_cpu,
        "cell_separation": separation,
        "budget": budget,
        "seeds": list(seeds),
        "steps_to_optimal": steps,
        "mean_steps_to_optimal": capped,
        "seconds": {name: [run["seconds"] for run in values] for name, values in runs.items()},
        "pretrained_pixel_dqn_step_ratio": capped["pretrained_frozen"] / capped["scratch"],
        "finetuned_pixel_dqn_step_ratio": capped["pretrained_finetuned"] / capped["scratch"],
    }


SECTIONS = {
    "digits": (digits_section, 3600),
    "ssl": (ssl_section, 900),
    "frames": (frames_section, 900),
    "vae": (vae_section, 600),
    "throughput": (throughput_section, 600),
    "dqn": (dqn_section, 3000),
}


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds and epochs")
    parser.add_argument("--only", nargs="*", choices=list(SECTIONS), help="run only these sections")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument(
        "--keep", action="store_true", help="with --only: keep the other sections of the last results file"
    )
    args = parser.parse_args()
    if args.worker:
        setup()
        name, quick = args.worker
        print(json.dumps(SECTIONS[name][0](quick == "1")))
        return

    script = str(Path(__file__).resolve())
    runs: dict[str, dict[str, Any]] = {}
    previous = RESULTS_DIR / f"perception{'-quick' if args.quick else ''}.json"
    if args.keep and args.only and previous.is_file():
        runs = json.loads(previous.read_text())["sections"]
    for name in args.only or SECTIONS:
        start = time.perf_counter()
        runs[name] = run_worker(script, [name, "1" if args.quick else "0"], timeout=SECTIONS[name][1])
        print(f"{name}: {runs[name]['status']} in {time.perf_counter() - start:.0f} s", flush=True)
    if args.keep and args.only and previous.is_file():
        # Another run of this script (other sections) may have written the file since this one started.
        latest = json.loads(previous.read_text())["sections"]
        runs = {**latest, **{name: runs[name] for name in args.only}}
    figures = summarise(runs)
    finish("perception", figures, args.quick)


def summarise(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The issue's keys from the sections' raw figures, the tables, and the targets."""
    ok = {name: run for name, run in runs.items() if run["status"] == "ok"}
    figures: dict[str, Any] = {"sections": runs, "torch_threads": 1}
    targets: dict[str, bool] = {}
    if "digits" in ok:
        acc = ok["digits"]["accuracy"]
        means = {name: mean(values) for name, values in acc.items()}
        sklearn_best = max(means["svm_rbf"], means["knn"], means["logistic"])
        figures.update(
            cnn_test_accuracy=means["cnn"],
            transformer_test_accuracy=means["transformer"],
            svm_rbf_accuracy=means["svm_rbf"],
            knn_pixels_accuracy=means["knn"],
            logistic_pixels_accuracy=means["logistic"],
            sklearn_best_accuracy=sklearn_best,
        )
        print_table(
            "Digits, 5 stratified 70/30 splits: test accuracy",
            ["model", *[f"seed {s}" for s in ok["digits"]["seeds"]], "mean"],
            [[name, *values, means[name]] for name, values in acc.items()],
        )
        targets["cnn_test_accuracy >= 0.99"] = means["cnn"] >= 0.99
        targets["cnn above sklearn's best"] = means["cnn"] > sklearn_best
        targets["transformer_test_accuracy >= 0.98"] = means["transformer"] >= 0.98
    if "ssl" in ok:
        ssl = ok["ssl"]
        figures.update(
            vicreg_linear_probe=ssl["vicreg"]["linear"],
            pixels_linear_probe=ssl["pixels"]["linear"],
            vicreg_knn=ssl["vicreg"]["knn"],
            pixels_knn=ssl["pixels"]["knn"],
            simclr_linear_probe=ssl["simclr"]["linear"],
            simclr_knn=ssl["simclr"]["knn"],
            barlow_linear_probe=ssl["barlow"]["linear"],
            barlow_knn=ssl["barlow"]["knn"],
        )
        print_table(
            "Digits split 0: probes on frozen features vs raw pixels",
            ["features", "linear probe", "k-NN (k=5)"],
            [
                [name, ssl[name]["linear"], ssl[name]["knn"]]
                for name in ("pixels", "vicreg", "simclr", "barlow")
            ],
        )
        targets["vicreg_linear_probe > pixels_linear_probe"] = (
            ssl["vicreg"]["linear"] > ssl["pixels"]["linear"]
        )
    if "frames" in ok:
        frames = ok["frames"]
        figures.update(
            frames_position_r2=frames["vicreg_r2"],
            pixels_position_r2=frames["pixels_r2"],
            frames_vae_test_nelbo_per_pixel=frames["vae_test_nelbo_per_pixel"],
            frames_vae_reconstruction_mae=frames["vae_reconstruction_mae"],
        )
        if "vicreg_held_out_r2" in frames:
            figures.update(
                frames_position_r2_held_out_cells=frames["vicreg_held_out_r2"],
                pixels_position_r2_held_out_cells=frames["pixels_held_out_r2"],
            )
            print_table(
                "GridWorld frames: position R² of a ridge probe",
                ["features", "random split (cells seen)", f"{frames['held_out_cells']} held-out cells"],
                [
                    [name, frames[f"{key}_r2"], frames[f"{key}_held_out_r2"]]
                    for name, key in (("VICReg trunk", "vicreg"), ("pixels", "pixels"))
                ],
            )
        targets["frames_position_r2 >= 0.95"] = frames["vicreg_r2"] >= 0.95
    if "vae" in ok:
        figures["vae_test_nelbo_per_pixel"] = ok["vae"]["test_nelbo_per_pixel"]
    if "throughput" in ok:
        tp = ok["throughput"]
        figures.update(
            trainer_throughput_ratio=tp["cnn"]["ratio"],
            transformer_trainer_throughput_ratio=tp["transformer"]["ratio"],
            cnn_trainer_images_per_second=tp["cnn"]["trainer_images_per_second"],
            cnn_plain_images_per_second=tp["cnn"]["plain_images_per_second"],
        )
        print_table(
            f"Training images per second at batch {BATCH}",
            ["model", "Trainer", "plain loop", "ratio"],
            [
                [
                    name,
                    tp[name]["trainer_images_per_second"],
                    tp[name]["plain_images_per_second"],
                    tp[name]["ratio"],
                ]
                for name in ("cnn", "transformer")
            ],
        )
        targets["trainer_throughput_ratio >= 0.9"] = tp["cnn"]["ratio"] >= 0.9
        targets["transformer trainer throughput ratio >= 0.9"] = tp["transformer"]["ratio"] >= 0.9
    if "dqn" in ok and ok["dqn"].get("pretrained_pixel_dqn_step_ratio") is not None:
        dqn = ok["dqn"]
        figures["pretrained_pixel_dqn_step_ratio"] = dqn["pretrained_pixel_dqn_step_ratio"]
        if "finetuned_pixel_dqn_step_ratio" in dqn:
            figures["finetuned_pixel_dqn_step_ratio"] = dqn["finetuned_pixel_dqn_step_ratio"]
        print_table(
            f"Pixel DQN on {dqn['env_kwargs']['layout']}: steps to the optimal return (of {dqn['budget']})",
            ["encoder", *[f"seed {s}" for s in dqn["seeds"]], "mean (unreached = budget)"],
            [
                [name, *values, dqn.get("mean_steps_to_optimal", {}).get(name)]
                for name, values in dqn["steps_to_optimal"].items()
            ],
        )
        targets["pretrained pixel DQN needs fewer steps"] = figures["pretrained_pixel_dqn_step_ratio"] < 1
    figures["targets"] = targets
    return figures


if __name__ == "__main__":
    main()
