"""``rlsuite train classify|vae|simclr|vicreg|barlow --data SPEC`` and ``rlsuite train order [--env ID]``:
the supervised tasks, wired to the CLI.

``--data`` is one of ``digits`` (scikit-learn's 8x8 digits, the default), ``frames:ENV_ID`` (frames of
a random walk in an env with image observations; GridWorld ids get ``obs=pixels`` unless ``--env-kwarg``
says otherwise), ``mnist:DIR`` (a folder with MNIST's ``train-images-idx3-ubyte`` and
``train-labels-idx1-ubyte``, gzipped or not) or ``cifar:PATH`` (a CIFAR-10 batch file, or a folder of
``data_batch_*`` files). ``--steps`` is the number of epochs; ``--set`` takes the Trainer's fields
(``batch_size``, ``learning_rate``, ...) and the model's (``model=transformer``, ``latent_dim``, ...).

``order`` is the transformer's temporal-order task (:mod:`supervised.sequence`) on clips of an env's
frames (default: GridWorld's open 5x5 grid in pixels); ``--set clips=N,length=L,hold=P`` say how many
clips, how many frames each and how often the walking policy keeps its action.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from agents.base import make_config
from core.errors import UserError
from core.rundir import RunDir
from perception import VAEConfig
from rlsuite.options import split_settings
from rlsuite.tasks import TaskResult, TaskSpec
from supervised.augment import AugmentConfig
from supervised.classify import ClassifierConfig, check_settings_used, train_classifier
from supervised.data import ArrayDataset, cifar_dataset, frames_dataset, idx_dataset, load_digits_dataset
from supervised.trainer import TrainerConfig

DEFAULT_EPOCHS = {"classify": 30, "vae": 50, "simclr": 30, "vicreg": 30, "barlow": 30, "order": 30}
FRAMES = 3000  # frames drawn for frames:ENV_ID
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
ORDER_ENV = ("rlsuite/GridWorld-v0", {"layout": "open-5x5", "noise": 0.0})
ORDER_CLIPS = {"clips": 10_000, "length": 4, "hold": 0.75}  # 93 % of held-out clips after 30 epochs


def load_data(spec: TaskSpec) -> ArrayDataset:
    """The dataset that ``spec.data`` names (see the module docstring); a UserError for anything else."""
    source = spec.data or "digits"
    kind, _, argument = source.partition(":")
    if kind == "digits" and not argument:
        return load_digits_dataset()
    if kind == "frames" and argument:
        return _frames(argument, spec)
    if kind == "mnist" and argument:
        folder = Path(argument)
        paths = [_existing(folder / name) for name in MNIST_FILES]
        return idx_dataset(*paths)
    if kind == "cifar" and argument:
        path = Path(argument)
        batches = sorted(path.glob("data_batch_*")) if path.is_dir() else [path]
        if not batches:
            raise UserError(f"no CIFAR-10 data_batch_* files in {path}")
        return cifar_dataset(batches)
    raise UserError(f"unknown --data {source!r}; use digits, frames:ENV_ID, mnist:DIR or cifar:PATH")


def _existing(path: Path) -> Path:
    """``path``, or ``path.gz`` when only the gzipped file is there."""
    gz = path.with_name(path.name + ".gz")
    return gz if not path.is_file() and gz.is_file() else path


def _image_env(env_id: str, env_kwargs: dict[str, Any]) -> Callable[[], Any]:
    """A factory of the env with image observations (GridWorld ids get ``obs=pixels`` unless told)."""
    from core.env_source import make_env

    kwargs = dict(env_kwargs)
    if "GridWorld" in env_id:
        kwargs.setdefault("obs", "pixels")
    make_env(env_id, **kwargs).close()  # an unknown id or option fails here, with the env's own message
    return lambda: make_env(env_id, **kwargs)


def _frames(env_id: str, spec: TaskSpec) -> ArrayDataset:
    return frames_dataset(_image_env(env_id, spec.env_kwargs), FRAMES, seed=spec.seed)


def _split_hyperparams(
    task: str, hyperparams: dict[str, Any], model_class: type, others: tuple[str, ...] = ()
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``--set`` values for the Trainer and for the model's config; a name that neither knows, nor
    ``others`` names (the task's own), is a UserError."""
    trainer_names = {f.name for f in fields(TrainerConfig)} - {"epochs", "seed", "progress_bar"}
    model_names = {f.name for f in fields(model_class)} - set(others)
    trainer, model, _ = split_settings(hyperparams, (trainer_names, model_names, others), task)
    return trainer, model


def _trainer_config(spec: TaskSpec, trainer: dict[str, Any], progress_bar: bool) -> TrainerConfig:
    epochs = spec.steps if spec.steps is not None else DEFAULT_EPOCHS[spec.task]
    return make_config(
        TrainerConfig,
        {"schedule": "cosine", **trainer, "epochs": epochs, "seed": spec.seed, "progress_bar": progress_bar},
    )


def _class_labels(data: ArrayDataset) -> ArrayDataset:
    """Integer classes: labels as they are, or one class per distinct label row (a GridWorld cell)."""
    if data.labels.ndim == 1:
        return data
    _, classes = np.unique(data.labels, axis=0, return_inverse=True)
    return ArrayDataset(data.images, classes.reshape(-1))


def classify(spec: TaskSpec, run: RunDir, resume: bool, progress_bar: bool) -> TaskResult:
    """An image classifier (``--set model=cnn|transformer``) on stratified splits; on frames, the classes
    are the agent's cells."""
    trainer, model = _split_hyperparams(spec.task, spec.hyperparams, ClassifierConfig)
    model_cfg = make_config(ClassifierConfig, model)
    check_settings_used(model_cfg.model, model)
    cfg = _trainer_config(spec, trainer, progress_bar)
    data = _class_labels(load_data(spec))
    aug = AugmentConfig.digits() if data.image_shape[1] <= 16 else None
    _, metrics = train_classifier(data, cfg, model_cfg, aug, run_dir=run, resume=resume)
    return TaskResult(metrics, {"model": run.model_path})


def vae(spec: TaskSpec, run: RunDir, resume: bool, progress_bar: bool) -> TaskResult:
    """A VAE (MLP for images up to 16 pixels a side, conv above, unless ``--set conv=...``) with its
    samples, reconstructions and interpolations as PNGs."""
    from supervised.vae_task import save_vae_pictures, train_vae

    trainer, model = _split_hyperparams(spec.task, spec.hyperparams, VAEConfig)
    model.pop("in_shape", None)
    data = load_data(spec)
    model.setdefault("conv", data.image_shape[1] > 16)
    vae_cfg = make_config(VAEConfig, {"in_shape": data.image_shape, **model})
    cfg = _trainer_config(spec, trainer, progress_bar)
    vae, metrics, test = train_vae(data, cfg, vae_cfg, run_dir=run, resume=resume)
    scale = 4 if data.image_shape[1] <= 16 else 2
    media = save_vae_pictures(vae, test, run.path, n=8, scale=scale, seed=spec.seed)
    return TaskResult(metrics, media)


def _ssl_task(method: str, spec: TaskSpec, run: RunDir, resume: bool, progress_bar: bool) -> TaskResult:
    """Pretrain with ``method``, then probe the frozen features on a held-out split: a linear probe and
    k-NN for classes, a ridge regression's R² for positions (frames)."""
    from supervised.probe import knn_probe, linear_probe, regression_probe
    from supervised.ssl import SSLConfig, extract_features, frozen_features, train_ssl

    trainer, model = _split_hyperparams(spec.task, spec.hyperparams, SSLConfig)
    model.pop("method", None)
    data = load_data(spec)
    is_frames = (spec.data or "").startswith("frames:")
    model.setdefault("channels_last", is_frames)  # frames: the layout agents see them in
    ssl_cfg = make_config(SSLConfig, {"method": method, **model})
    cfg = _trainer_config(spec, {"batch_size": 256, **trainer}, progress_bar)
    aug = AugmentConfig.ssl_frames() if is_frames else AugmentConfig.ssl_digits()
    train, test = data.split(0.3, seed=spec.seed, stratified=not is_frames)
    ssl_model, history = train_ssl(train, cfg, ssl_cfg, aug, run_dir=run, resume=resume)
    features = frozen_features(ssl_model)
    f_train, f_test = extract_features(features, train), extract_features(features, test)
    summary: dict[str, Any] = {"final_loss": history[-1]["train_loss"], "epochs": len(history)}
    if data.labels.ndim == 2:
        summary["position_r2"] = regression_probe(f_train, train.labels, f_test, test.labels)
    else:
        summary["linear_probe"] = linear_probe(f_train, train.labels, f_test, test.labels)
        summary["knn"] = knn_probe(f_train, train.labels, f_test, test.labels)
    return TaskResult(summary, {"model": run.model_path})


def simclr(spec: TaskSpec, run: RunDir, resume: bool, progress_bar: bool) -> TaskResult:
    """SimCLR (InfoNCE) pretraining and probes."""
    return _ssl_task("simclr", spec, run, resume, progress_bar)


def vicreg(spec: TaskSpec, run: RunDir, resume: bool, progress_bar: bool) -> TaskResult:
    """VICReg pretraining and probes."""
    return _ssl_task("vicreg", spec, run, resume, progress_bar)


def barlow(spec: TaskSpec, run: RunDir, resume: bool, progress_bar: bool) -> TaskResult:
    """Barlow Twins pretraining and probes."""
    return _ssl_task("barlow", spec, run, resume, progress_bar)


def order(spec: TaskSpec, run: RunDir, resume: bool, progress_bar: bool) -> TaskResult:
    """Is a clip of an env's frames in the order it was seen? The transformer's sequence task."""
    from supervised.sequence import OrderConfig, order_dataset, train_order_classifier

    if spec.data is not None:
        raise UserError("--data is for the image tasks; order learns from clips of --env's frames")
    trainer, model = _split_hyperparams(spec.task, spec.hyperparams, OrderConfig, tuple(ORDER_CLIPS))
    clips = {**ORDER_CLIPS, **{k: v for k, v in spec.hyperparams.items() if k in ORDER_CLIPS}}
    env_id, env_kwargs = (spec.env_id, spec.env_kwargs) if spec.env_id else ORDER_ENV
    data = order_dataset(
        _image_env(env_id, {**env_kwargs, **spec.env_kwargs}),
        clips["clips"],
        length=clips["length"],
        seed=spec.seed,
        hold=clips["hold"],
    )
    model_cfg = make_config(OrderConfig, model)
    cfg = _trainer_config(spec, trainer, progress_bar)
    _, metrics = train_order_classifier(data, cfg, model_cfg, run_dir=run, resume=resume)
    return TaskResult(metrics, {"model": run.model_path})
