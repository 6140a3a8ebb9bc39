"""DCGAN vs a per-pixel Gaussian on scikit-learn's digits: classifier-feature Fréchet distance.

    python -m benchmarks.image_generation [--epochs 150] [--time-budget-s 900] [--out FILE.json]

The digits are split in two halves. The feature classifier (``image_features``), the baseline
and the GAN all learn from the first half only; every generator's samples are compared with the
second half, as many samples as held-out images. "real vs real" (first half vs second half)
is the floor a perfect generator would reach. Distances are in units of the real data's mean
feature variance. Class coverage counts the digits the classifier confidently recognises in
at least 2% of the samples. The GAN trains until ``--epochs`` or the time budget, whichever
comes first, and the figures of its *last* epoch are reported (no picking the best epoch on
the held-out half).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("benchmarks.image_generation")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="digits", help="'digits', an .npz or an image folder")
    parser.add_argument("--epochs", type=int, default=150, help="GAN epochs at most")
    parser.add_argument("--time-budget-s", type=float, default=900.0, help="GAN training budget")
    parser.add_argument("--feature-epochs", type=int, default=20)
    parser.add_argument("--eval-every", type=int, default=25, help="log the distance every N")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1: small convs on a busy CPU)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="write the figures as JSON here")
    parser.add_argument("--smoke-test", action="store_true", help="a few epochs, fast")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    result = run(args)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from entertainai.generate.dcgan import DCGAN
    from entertainai.generate.frechet import (
        ImageFeatures,
        PixelGaussian,
        class_coverage,
        image_frechet,
    )
    from entertainai.generate.images import load_images
    from entertainai.torch_utils import select_device

    torch.set_num_threads(args.threads)
    data = load_images(args.data)
    train, held = data.split(0.5, seed=args.seed)
    n = len(held)
    epochs = 3 if args.smoke_test else args.epochs
    feature_epochs = 2 if args.smoke_test else args.feature_epochs

    started = time.perf_counter()
    features = ImageFeatures.from_params(epochs=feature_epochs, seed=args.seed).fit(train)
    feature_s = time.perf_counter() - started
    accuracy = features.accuracy(held)
    log.info("feature classifier: held-out accuracy %.3f (%.0f s)", accuracy, feature_s)

    def score(samples: Any) -> dict[str, Any]:
        coverage = class_coverage(features, samples)
        return {
            "frechet": image_frechet(features, samples, held.images),
            "classes_present": coverage["classes_present"],
            "confident_fraction": coverage["confident_fraction"],
        }

    rows: dict[str, dict[str, Any]] = {}
    rows["real vs real"] = {**score(train.images[:n]), "fit_s": 0.0}
    started = time.perf_counter()
    baseline = PixelGaussian().fit(train)
    rows["per-pixel Gaussian"] = {
        **score(baseline.sample(n, seed=1)),
        "fit_s": time.perf_counter() - started,
    }

    # The GAN's own loop, epoch by epoch, so the time budget can stop it cleanly.
    model = DCGAN.from_params(epochs=epochs, seed=args.seed)
    modules = model.build_module(train).to(select_device(model.config.device))
    optimizers = model.build_optimizer(modules)
    trajectory = []
    started = time.perf_counter()
    done = 0
    for epoch in range(epochs):
        losses = model.train_epoch(modules, train, optimizers, epoch)
        done = epoch + 1
        elapsed = time.perf_counter() - started
        over = elapsed > args.time_budget_s
        if done % args.eval_every == 0 or done == epochs or over:
            fitted = DCGAN(model.config).from_module(modules, train)
            point = {"epoch": done, "elapsed_s": elapsed, **losses}
            point.update(score(fitted.sample(n, seed=1)))
            trajectory.append(point)
            log.info(
                "epoch %d (%.0f s): frechet %.3f, classes %d, loss_d %.3f loss_g %.3f",
                done,
                elapsed,
                point["frechet"],
                point["classes_present"],
                losses["loss_d"],
                losses["loss_g"],
            )
        if over:
            log.warning("time budget of %.0f s spent after %d epochs", args.time_budget_s, done)
            break
    fitted = DCGAN(model.config).from_module(modules, train)
    rows["DCGAN"] = {
        **score(fitted.sample(n, seed=1)),
        "fit_s": time.perf_counter() - started,
        "epochs": done,
    }

    baseline_fd = rows["per-pixel Gaussian"]["frechet"]
    print(
        f"\n{args.data}: {len(train)} training / {n} held-out images {train.shape}; "
        f"classifier held-out accuracy {accuracy:.3f}"
    )
    print(f"{'generator':<20} {'Fréchet':>9} {'/ baseline':>11} {'classes':>8} {'fit s':>8}")
    for name, row in rows.items():
        print(
            f"{name:<20} {row['frechet']:>9.3f} {row['frechet'] / baseline_fd:>11.3f} "
            f"{row['classes_present']:>5}/10 {row['fit_s']:>8.1f}"
        )
    gan = rows["DCGAN"]
    print(
        f"DCGAN / baseline Fréchet ratio: {gan['frechet'] / baseline_fd:.3f} "
        f"({gan['epochs']} epochs, {gan['fit_s']:.0f} s wall on a shared CPU)"
    )
    return {
        "data": args.data,
        "train_images": len(train),
        "held_out_images": n,
        "classifier_accuracy": accuracy,
        "rows": rows,
        "ratio_dcgan_to_baseline": gan["frechet"] / baseline_fd,
        "trajectory": trajectory,
        "config": {"dcgan": model.config.__dict__, "features": features.config.__dict__},
    }


if __name__ == "__main__":
    sys.exit(main())
