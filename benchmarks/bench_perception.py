"""Perception models trained supervised and self-supervised: accuracy, SSL probes, VAE, trainer throughput.

    python benchmarks/bench_perception.py            # full run, writes benchmarks/results/perception.json
    python benchmarks/bench_perception.py --quick    # fewer seeds and epochs, for a smoke run

Sections, each in a fresh process (one torch thread, a hard time limit):
- digits: the CNN and the transformer (patches as tokens) on 5 stratified 70/30 splits of scikit-learn's
  digits (seeds 0-4), against scikit-learn's RBF SVM, k-NN and logistic regression on the same splits.
- ssl: VICReg, SimCLR and Barlow Twins pretrained on the training images of split 0 (labels unused);
  the same linear (logistic regression) and k-NN probes on the frozen features and on raw pixels.
- frames: VICReg on GridWorld pixel frames (random-walk frames of an open 8x8 grid); a ridge probe
  predicting the agent's (row, col) from frozen features and from raw pixels (R² on held-out frames);
  a conv VAE's reconstructions of those frames.
- vae: a VAE on digits, test negative ELBO per pixel, samples, reconstructions, interpolations.
- throughput: images per second of the CNN and the transformer at batch 256, the Trainer against a plain
  loop (same model, optimiser and batches), alternated and repeated, best of each.
- dqn: pixel DQN on GridWorld with a VICReg-pretrained frozen encoder against from scratch, same seeds:
  environment steps until the greedy policy's return is optimal.
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

from benchmarks.bench_dqn_gridworld import greedy_return  # noqa: E402
from benchmarks.common import RESULTS_DIR, finish, print_table, run_worker  # noqa: E402
from supervised.classify import ClassifierConfig  # noqa: E402

SEEDS = range(5)
TEST_FRACTION = 0.3
BATCH = 256
# The CNN sees the 8x8 digit framed by 2 zero pixels; the transformer reads its 8 rows as 8 tokens (in trial
# runs, 60 epochs on split 0: rows 93.3 %, 2x2 patches 85.3 %, overlapping 4x4 patches at stride 2 89.8 %).
CNN = ClassifierConfig(pad=2)
TRANSFORMER = ClassifierConfig("transformer", tokens="rows")
FRAMES_ENV = "rlsuite/GridWorld-v0"
FRAMES_KWARGS = {"obs": "pixels", "layout": "open-8x8", "noise": 0.0}
DQN_KWARGS = {"obs": "pixels", "layout": "book", "noise": 0.0, "living_reward": -0.04}


def setup() -> None:
    import torch

    torch.set_num_threads(1)
    import envs  # noqa: F401  (registers the envs)


def digits_trainer(seed: int, epochs: int) -> Any:
    from supervised.trainer import TrainerConfig

    return TrainerConfig(
        epochs=epochs,
        batch_size=64,
        learning_rate=2e-3,
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
    epochs = 10 if quick else 30
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
                digits_trainer(seed, epochs),
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
        "epochs": epochs,
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


def frames_data(env_kwargs: dict[str, Any], n: int, seed: int) -> Any:
    import gymnasium as gym

    from supervised.data import frames_dataset

    return frames_dataset(lambda: gym.make(FRAMES_ENV, **env_kwargs), n, seed=seed)


def pretrain_frames_encoder(data: Any, epochs: int) -> Any:
    """VICReg on frames, channels-last (the layout of the env's observations, so DQN can take it).

    The position probe reads the conv trunk's flattened features, below the 128-unit layer. In trial runs
    (open 8x8 grid, 20 epochs) at learning rate 1e-3 the encoder lost the agent's position (only 39
    distinct feature vectors for the 60 cells seen, R² 0.48 on either layer); at 3e-4 the trunk kept it
    (R² 0.9997) while 58 of the 128 units above were dead (R² 0.87); with no 128-unit layer, the
    projector straight on the trunk, R² was 0.75."""
    from supervised.augment import AugmentConfig
    from supervised.ssl import SSLConfig, train_ssl
    from supervised.trainer import TrainerConfig

    cfg = TrainerConfig(
        epochs=epochs, batch_size=BATCH, learning_rate=3e-4, schedule="cosine", progress_bar=False
    )
    model, _ = train_ssl(data, cfg, SSLConfig(channels_last=True), AugmentConfig.ssl_frames())
    return model


def frames_section(quick: bool) -> dict[str, Any]:
    """Position probes on GridWorld frames, and a conv VAE's reconstructions."""
    import torch

    from perception import VAEConfig
    from supervised.images import image_grid, save_png
    from supervised.probe import regression_probe
    from supervised.ssl import extract_features, frozen_features
    from supervised.trainer import TrainerConfig
    from supervised.vae_task import reconstructions, train_vae

    data = frames_data(FRAMES_KWARGS, 1000 if quick else 2000, seed=0)
    train, test = data.split(TEST_FRACTION, seed=0, stratified=False)
    model = pretrain_frames_encoder(train, 5 if quick else 20)
    frozen_features(model)  # eval mode
    trunk = model.trunk_features
    f_train, f_test = extract_features(trunk, train), extract_features(trunk, test)
    flat = lambda d: d.images.reshape(len(d), -1)  # noqa: E731
    out: dict[str, Any] = {
        "frames": len(data),
        "distinct_cells": len({tuple(label) for label in data.labels.tolist()}),
        "vicreg_r2": regression_probe(f_train, train.labels, f_test, test.labels),
        "pixels_r2": regression_probe(flat(train), train.labels, flat(test), test.labels),
    }
    # The VAE on the DQN's grid: a Gaussian decoder with sigma 0.1 weighs each squared error 50-fold,
    # so that the agent's small disc is worth encoding.
    vae_data = frames_data(DQN_KWARGS, 1500, seed=0)
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


DQN_GAMMA = 0.99
DQN_CHECK_EVERY = 100
DQN_HYPERPARAMS = {
    "learning_rate": 5e-4,
    "batch_size": 32,
    "buffer_size": 20_000,
    "learning_starts": 200,
    "gamma": DQN_GAMMA,
    "train_freq": 4,
    "gradient_steps": 1,
    "target_update_interval": 100,
    "exploration_fraction": 0.3,
    "exploration_final_eps": 0.05,
    "double_q": True,
    "n_step": 3,
    "net_arch": (64,),
}


def dqn_run(encoder: Any, freeze: bool, seed: int, budget: int, optimal: float) -> int | None:
    """Env steps until DQN's greedy policy earns the optimal return (checked every DQN_CHECK_EVERY
    steps; training stops there), or None within `budget`."""
    import gymnasium as gym

    from agents.dqn import DQN

    env, probe = gym.make(FRAMES_ENV, **DQN_KWARGS), gym.make(FRAMES_ENV, **DQN_KWARGS)
    agent = DQN(env, encoder=encoder, freeze_encoder=freeze, **DQN_HYPERPARAMS, seed=seed)
    reached: list[int] = []

    def check(dqn: Any) -> bool:
        if dqn.num_timesteps % DQN_CHECK_EVERY == 0:
            if greedy_return(probe, lambda o: dqn.predict(o)[0], max_steps=100) >= optimal - 1e-9:
                reached.append(dqn.num_timesteps)
                return False
        return True

    agent.learn(budget, callback=check, progress_bar=False)
    return reached[0] if reached else None


def dqn_section(quick: bool) -> dict[str, Any]:
    """Pixel DQN on GridWorld with a VICReg-pretrained frozen encoder against the same architecture
    trained from scratch, same seeds and hyperparameters: env steps to the optimal return."""
    import copy
    import dataclasses

    import gymnasium as gym
    import torch

    from agents.tabular import value_iteration
    from perception import ConvEncoder

    index_env = gym.make(FRAMES_ENV, **{**DQN_KWARGS, "obs": "index"})
    policy = value_iteration(index_env.unwrapped.mdp(), DQN_GAMMA, tol=1e-10).policy
    optimal = greedy_return(index_env, lambda state: policy[state], max_steps=100)
    frames = frames_data(DQN_KWARGS, 1000 if quick else 2000, seed=123)
    # The frozen features are the conv trunk's, the ones the position probe reads (see
    # pretrain_frames_encoder): a trunk-only encoder takes the pretrained convs' weights.
    ssl_encoder = pretrain_frames_encoder(frames, 5 if quick else 15).encoder
    pretrained = ConvEncoder(dataclasses.replace(ssl_encoder.cfg, out_dim=None))
    pretrained.net.load_state_dict(ssl_encoder.net[:-2].state_dict())
    seeds, budget = (range(1), 3000) if quick else (range(3), 10_000)
    runs: dict[str, list[int | None]] = {"pretrained_frozen": [], "scratch": []}
    for seed in seeds:
        runs["pretrained_frozen"].append(dqn_run(copy.deepcopy(pretrained), True, seed, budget, optimal))
        torch.manual_seed(seed)  # the scratch encoder's init
        runs["scratch"].append(dqn_run(ConvEncoder(pretrained.cfg), False, seed, budget, optimal))
        print(f"dqn seed {seed}: {runs}", file=sys.stderr)
    capped = {name: [budget if steps is None else steps for steps in values] for name, values in runs.items()}
    return {
        "env_kwargs": DQN_KWARGS,
        "optimal_return": optimal,
        "budget": budget,
        "seeds": list(seeds),
        "steps_to_optimal": runs,
        "pretrained_pixel_dqn_step_ratio": mean(capped["pretrained_frozen"]) / mean(capped["scratch"]),
    }


SECTIONS = {
    "digits": (digits_section, 1500),
    "ssl": (ssl_section, 900),
    "frames": (frames_section, 900),
    "vae": (vae_section, 600),
    "throughput": (throughput_section, 600),
    "dqn": (dqn_section, 900),
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
        figures["pretrained_pixel_dqn_step_ratio"] = ok["dqn"]["pretrained_pixel_dqn_step_ratio"]
        targets["pretrained pixel DQN needs fewer steps"] = figures["pretrained_pixel_dqn_step_ratio"] < 1
    figures["targets"] = targets
    return figures


if __name__ == "__main__":
    main()
