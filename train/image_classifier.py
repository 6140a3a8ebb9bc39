"""Train the image CNN (tagging and safety) on a folder-per-class dataset on Ray; register it.

    python -m train.image_classifier --data /abs/images --unsafe gore --unsafe nsfw
    ray job submit --working-dir . -- python -m train.image_classifier --data /abs/images

One Ray task fits on a seeded 80%, scores accuracy on the other 20% and registers the model
(``production`` when the name has none yet). ``--smoke-test`` writes and trains on a tiny
synthetic folder dataset when ``--data`` is ``demo``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from typing import Any

import ray

from entertainai.model import config_from_dict
from entertainai.moderation.image import ImageConfig, train_from_folder, write_demo_images
from entertainai.params import parse_params
from entertainai.registry import Registry, default_root
from train.common import absolute, add_ray_args, init_ray, run_job
from train.text_classifier import RUNTIME_ENV

SMOKE_PARAMS = {"epochs": 3, "filters": (8, 16), "hidden": 16, "image_size": 24}


@ray.remote(num_cpus=1)
def train_task(
    folder: str, registry_root: str, name: str, params: dict[str, Any]
) -> dict[str, Any]:
    mv, accuracy = train_from_folder(folder, Registry(registry_root), name, params)
    return {"ref": mv.ref, "accuracy": accuracy}


def run(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"image_size": args.image_size, "unsafe_classes": tuple(args.unsafe)}
    if args.smoke_test:
        params.update(SMOKE_PARAMS)
    params.update(parse_params(args.param))
    config_from_dict(ImageConfig, params)  # unknown parameters fail before Ray starts
    init_ray(args.address, args.num_cpus)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data
        if folder == "demo":
            folder = str(write_demo_images(tmp, per_class=12, size=params["image_size"]))
        task = train_task.options(runtime_env=RUNTIME_ENV)
        out = ray.get(task.remote(absolute(folder), absolute(args.registry), args.name, params))
    print(f"registered {out['ref']} (image_classifier): held-out accuracy {out['accuracy']:.4f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help="folder of class sub-folders, or 'demo'")
    parser.add_argument(
        "--unsafe", action="append", default=[], help="a class to flag (repeatable)"
    )
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--name", default="image_classifier")
    parser.add_argument("--registry", default=default_root())
    add_ray_args(parser)
    return run_job("train.image_classifier", run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
