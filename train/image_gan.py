"""Train a DCGAN on Ray, measure it with a classifier-feature Fréchet distance, register it.

    python -m train.image_gan --data digits --workers 2 [--gpu] [--promote]
    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \
        python -m train.image_gan --data /abs/images_dir --size 32 --epochs 200

``--data`` is ``digits`` (scikit-learn's bundled digits), an ``.npz`` array or a folder of
PNG/JPG. A held-out part of the data is kept aside: the feature classifier
(``image_features``) trains on the rest as a Ray task (or ``--features REF`` reuses a
registered one), the GAN trains data-parallel through ``train.torch_runner`` (resuming from
its last checkpoint when a worker fails), and every
``--report-every`` epochs rank 0 checkpoints a loadable model directory with the Fréchet
distance of its samples to the held-out images and their class coverage.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from dataclasses import dataclass, field
from typing import Any

import ray

from entertainai.errors import EntertainAIError
from entertainai.params import parse_params
from entertainai.registry import Registry, default_root
from entertainai.torch_utils import TorchJob
from train import torch_runner
from train.common import absolute, add_ray_args, init_ray, run_job

log = logging.getLogger("train.image_gan")

HELD_OUT = 0.2
SMOKE_PARAMS: dict[str, Any] = {"epochs": 2, "g_width": 8, "d_width": 8, "batch_size": 32}
SMOKE_FEATURES: dict[str, Any] = {"epochs": 2, "width": 8, "feature_dim": 16}


def load_split(source: str, size: int | None, channels: int | None, limit: int | None, seed: int):
    """(train, held-out) parts of the data set, the same on the driver and on every worker."""
    from entertainai.generate.images import load_images

    data = load_images(source, size=size, channels=channels)
    if limit:
        data = data.subset(slice(0, limit))
    return data.split(HELD_OUT, seed=seed)


@ray.remote(num_cpus=1)
def train_features_task(
    data: dict[str, Any], params: dict[str, Any], registry_root: str, name: str
) -> tuple[str, float]:
    """Fit the feature classifier on the training part and register it; returns (ref, acc)."""
    import torch

    from entertainai.generate.frechet import ImageFeatures

    torch.set_num_threads(1)
    train, held = load_split(**data)
    features = ImageFeatures.from_params(**params).fit(train)
    accuracy = features.accuracy(held)
    mv = Registry(registry_root).register_model(
        features,
        name,
        metrics={"held_out_accuracy": accuracy},
        extra={"data": data["source"], "trained_on": "train part (held-out 20%)"},
        promote=False,  # the DCGAN job promotes the features it was scored with
    )
    return mv.ref, accuracy


def evaluate_samples(
    model: Any, features: Any, held: Any, n: int, seed: int = 12345
) -> dict[str, Any]:
    """Fréchet distance to the held-out images and class coverage of ``n`` samples."""
    from entertainai.generate.frechet import class_coverage, image_frechet

    n = min(n, len(held))
    samples = model.sample(n, seed=seed) if hasattr(model, "sample") else model
    metrics: dict[str, Any] = {"frechet": image_frechet(features, samples, held.images[:n])}
    if held.labels is not None:
        coverage = class_coverage(features, samples)
        metrics["classes_present"] = coverage["classes_present"]
        metrics["n_classes"] = coverage["n_classes"]
    return metrics


@dataclass
class GanMetrics:
    """Fréchet distance and class coverage at each report (rank 0; features loaded once)."""

    data: dict[str, Any]
    features_ref: str
    registry: str
    eval_samples: int
    _loaded: Any = field(default=None, repr=False)

    def __call__(self, fitted: Any, _train: Any) -> dict[str, Any]:
        from entertainai.model import load_model

        if self._loaded is None:
            features = load_model(Registry(self.registry).local_path(self.features_ref))
            self._loaded = (features, load_split(**self.data)[1])
        features, held = self._loaded
        return evaluate_samples(fitted, features, held, self.eval_samples)


def gan_job(
    data: dict[str, Any],
    params: dict[str, Any],
    *,
    features_ref: str,
    registry: str,
    eval_samples: int,
    report_every: int,
) -> TorchJob:
    """The DCGAN job: trains on the data minus its held-out part (the CLI's loader, too)."""
    from entertainai.generate.dcgan import training_images

    return TorchJob(
        "dcgan",
        params,
        load=functools.partial(
            training_images,
            data["source"],
            data["size"],
            data["channels"],
            data["limit"],
            HELD_OUT,
            data["seed"],
        ),
        evaluate=GanMetrics(data, features_ref, registry, eval_samples),
        every=report_every,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", default="digits", help="'digits', an .npz file or an image folder"
    )
    parser.add_argument("--size", type=int, help="resize images to SIZE x SIZE (8, 16, 32, ...)")
    parser.add_argument("--channels", type=int, choices=(1, 3), help="1 = grey, 3 = RGB")
    parser.add_argument("--limit", type=int, help="use only the first N images")
    parser.add_argument("--epochs", type=int, help="GAN epochs (default: the config's)")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="DCGAN config values, e.g. latent_dim=64",
    )
    parser.add_argument("--features", help="registered image_features REF (default: train one)")
    parser.add_argument("--feature-param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--eval-samples", type=int, default=500)
    parser.add_argument("--name", default="dcgan", help="registry name of the GAN")
    parser.add_argument("--features-name", default="image_features")
    parser.add_argument("--promote", action="store_true", help="alias the result 'production'")
    parser.add_argument("--workers", type=int, default=1, help="TorchTrainer workers")
    parser.add_argument("--cpus-per-worker", type=float, default=1.0)
    parser.add_argument("--gpu", action="store_true", help="one GPU per worker")
    parser.add_argument(
        "--report-every",
        type=int,
        default=None,
        help="epochs between checkpoints (default 25; 1 with --smoke-test)",
    )
    parser.add_argument("--max-failures", type=int, default=2)
    parser.add_argument("--storage-path", help="where Ray Train keeps checkpoints")
    parser.add_argument("--seed", type=int, default=0, help="held-out split seed")
    parser.add_argument("--registry", default=default_root())
    add_ray_args(parser)
    args = parser.parse_args(argv)
    return run_job("train.image_gan", run, args)


def run(args: argparse.Namespace) -> int:
    from entertainai.generate.dcgan import DCGAN
    from entertainai.generate.frechet import ImageFeatures, PixelGaussian
    from entertainai.model import load_model

    registry_root = absolute(args.registry)
    params = parse_params(args.param)
    feature_params = parse_params(args.feature_param)
    if args.smoke_test:
        params = {**SMOKE_PARAMS, **params}
        feature_params = {**SMOKE_FEATURES, **feature_params}
    if args.epochs is not None:
        params["epochs"] = args.epochs
    limit = args.limit or (256 if args.smoke_test else None)
    source = args.data if args.data == "digits" or "://" in args.data else absolute(args.data)
    data = {
        "source": source,
        "size": args.size,
        "channels": args.channels,
        "limit": limit,
        "seed": args.seed,
    }
    # Bad data, parameters or image sizes fail here, before Ray starts.
    DCGAN.from_params(**params)
    ImageFeatures.from_params(**feature_params)
    train, held = load_split(**data)
    DCGAN.from_params(**params).build_module(train)
    registry = Registry(registry_root)

    init_ray(args.address, args.num_cpus)
    if args.features:
        features_ref = registry.get(args.features).ref
        accuracy = registry.get(features_ref).metrics.get("held_out_accuracy")
    else:
        features_ref, accuracy = ray.get(
            train_features_task.remote(data, feature_params, registry_root, args.features_name)
        )
    features = load_model(registry.local_path(features_ref))
    if not isinstance(features, ImageFeatures) or features.image_shape_ != train.shape:
        raise EntertainAIError(
            f"{features_ref} is not an image_features model for {train.shape} images"
        )
    n = min(args.eval_samples, len(held))
    reference = {
        "real_frechet": evaluate_samples(train.images[:n], features, held, n)["frechet"],
        "baseline_frechet": evaluate_samples(PixelGaussian().fit(train), features, held, n)[
            "frechet"
        ],
    }
    log.info("features %s (held-out accuracy %s); references %s", features_ref, accuracy, reference)

    job = gan_job(
        data,
        params,
        features_ref=features_ref,
        registry=registry_root,
        eval_samples=n,
        report_every=args.report_every or (1 if args.smoke_test else 25),
    )
    checkpoint, last = torch_runner.fit(
        job,
        workers=args.workers,
        use_gpu=args.gpu,
        cpus_per_worker=args.cpus_per_worker,
        max_failures=args.max_failures,
        storage_path=args.storage_path,
    )
    metrics = {**last, **reference}
    mv = torch_runner.register(
        registry,
        checkpoint,
        metrics,
        args.name,
        extra={"data": source, "features": features_ref},
        promote=args.promote or None,
    )
    if args.promote:
        registry.set_alias(
            features_ref.split("@")[0], "production", int(features_ref.split("@")[1])
        )
    print(
        f"registered {mv.ref} (dcgan): frechet={metrics.get('frechet', float('nan')):.3f} "
        f"(pixel-Gaussian baseline {reference['baseline_frechet']:.3f}, real-vs-real "
        f"{reference['real_frechet']:.3f}), classes present {metrics.get('classes_present')}"
        f"/{metrics.get('n_classes')}; features {features_ref}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
