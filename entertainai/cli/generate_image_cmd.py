"""``entertainai generate image|style`` and ``entertainai train dcgan|style-transfer``.

Training here runs in this process; ``python -m train.image_gan`` runs the same loop on Ray
(``ray job submit``) and also measures the Fréchet distance.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from entertainai.errors import InputError
from entertainai.registry import Registry, default_root


def register(
    commands: argparse._SubParsersAction,
    *,
    train: argparse._SubParsersAction,
    generate: argparse._SubParsersAction,
    analyze: argparse._SubParsersAction,
) -> None:
    """Add this capability's commands: top-level ones to ``commands``, tasks to the groups."""
    image = generate.add_parser("image", help="sample images from a trained DCGAN to PNG files")
    image.add_argument(
        "--model", default="dcgan@production", help="NAME[@VERSION|@ALIAS] or a path"
    )
    image.add_argument("--num", type=int, default=16, help="how many images (1..256)")
    image.add_argument("--seed", type=int, default=0, help="same seed, same images")
    image.add_argument("--grid", action="store_true", help="write one grid PNG instead of N files")
    image.add_argument("--scale", type=int, default=1, help="enlarge pixels N times (1..16)")
    image.add_argument(
        "--out", required=True, help="FILE.png (with --grid or --num 1), else a directory"
    )
    image.add_argument(
        "--registry", default=None, help=f"registry root (default {default_root()!r})"
    )
    image.set_defaults(handler=run_image)

    style = generate.add_parser("style", help="render a content image in a style image's texture")
    style.add_argument("--content", required=True, help="content PNG/JPEG")
    style.add_argument("--style", required=True, help="style PNG/JPEG")
    style.add_argument("--out", required=True, help="output PNG")
    style.add_argument("--size", type=int, default=128, help="longest side of the output (16..256)")
    style.add_argument("--steps", type=int, default=100, help="optimisation steps (1..300)")
    style.add_argument("--style-weight", type=float, default=10.0)
    style.add_argument("--content-weight", type=float, default=1.0)
    style.add_argument("--seed", type=int, default=0)
    style.add_argument(
        "--model",
        default=None,
        help="a registered style_transfer REF or path (default: the built-in random encoder)",
    )
    style.add_argument("--registry", default=None)
    style.set_defaults(handler=run_style)

    dcgan = train.add_parser(
        "dcgan", help="train a DCGAN on images in this process and register it"
    )
    dcgan.add_argument("--data", default="digits", help="'digits', an .npz file or an image folder")
    dcgan.add_argument("--size", type=int, help="resize to SIZE x SIZE (8, 16, 32, ...)")
    dcgan.add_argument("--channels", type=int, choices=(1, 3))
    dcgan.add_argument("--epochs", type=int, help="default: the config's")
    dcgan.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    dcgan.add_argument("--name", default="dcgan", help="registry name")
    dcgan.add_argument("--promote", action="store_true", help="alias the result 'production'")
    dcgan.add_argument("--registry", default=None)
    dcgan.set_defaults(handler=run_train_dcgan)

    st = train.add_parser(
        "style-transfer", help="register a style-transfer pipeline (random encoder, by seed)"
    )
    st.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="StyleTransferConfig values, e.g. encoder_seed=3 max_size=128",
    )
    st.add_argument("--name", default="style_transfer")
    st.add_argument("--promote", action="store_true", help="alias the result 'production'")
    st.add_argument("--registry", default=None)
    st.set_defaults(handler=run_train_style)


def run_image(args: argparse.Namespace) -> int:
    from entertainai.generate.dcgan import DCGAN
    from entertainai.model import load_model

    model = load_model(Registry(args.registry).local_path(args.model))
    if not isinstance(model, DCGAN):
        raise InputError(f"{args.model} is a {model.kind} model, not a dcgan")
    out = Path(args.out)
    single_file = args.grid or args.num == 1
    if single_file and out.suffix.lower() != ".png":
        raise InputError("--out must name a .png file", location=str(out))
    result = model(num_images=args.num, seed=args.seed, grid=args.grid, scale=args.scale)
    if single_file:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(result.grid_png if result.grid_png is not None else result.png[0])
        print(f"wrote {out}")
    else:
        from tqdm import tqdm

        out.mkdir(parents=True, exist_ok=True)
        for i, png in enumerate(tqdm(result.png, desc="writing", unit="image")):
            (out / f"image_{args.seed}_{i:03d}.png").write_bytes(png)
        print(f"wrote {len(result.png)} images to {out}")
    return 0


def run_style(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from entertainai.generate.images import read_image
    from entertainai.generate.style_transfer import StyleTransfer
    from entertainai.model import load_model

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise InputError("--out must name a .png file", location=str(out))
    content, style = read_image(args.content), read_image(args.style)
    if args.model:
        model = load_model(Registry(args.registry).local_path(args.model))
        if not isinstance(model, StyleTransfer):
            raise InputError(f"{args.model} is a {model.kind} model, not style_transfer")
    else:
        model = StyleTransfer().build()
    with tqdm(total=args.steps, desc="style transfer", unit="step") as bar:
        result = model(
            content,
            style,
            size=args.size,
            steps=args.steps,
            style_weight=args.style_weight,
            content_weight=args.content_weight,
            seed=args.seed,
            callback=lambda step, total: bar.update(1),
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(result.png)
    note = " (time budget reached)" if result.stopped_early else ""
    print(
        f"wrote {out} ({result.image.shape[1]}x{result.image.shape[0]}, {result.steps_run} steps"
        f"{note}; style loss {result.style_loss:.4f}, content loss {result.content_loss:.4f})"
    )
    return 0


def run_train_dcgan(args: argparse.Namespace) -> int:
    import functools

    from tqdm import tqdm

    from entertainai.generate.dcgan import training_images
    from entertainai.params import parse_params
    from entertainai.torch_utils import TorchJob, run_locally

    params = parse_params(args.param)
    if args.epochs is not None:
        params["epochs"] = args.epochs
    # The same job spec train.image_gan runs on Ray (there, minus a held-out part).
    job = TorchJob(
        "dcgan",
        params,
        load=functools.partial(training_images, args.data, size=args.size, channels=args.channels),
    )
    model = job.model()
    data = job.data(model)
    model.build_module(data)  # refuses unsupported sizes before any training
    with tqdm(total=model.n_epochs(), desc="dcgan", unit="epoch") as bar:

        def progress(record: dict[str, float]) -> None:
            bar.update(1)
            bar.set_postfix(loss_d=f"{record['loss_d']:.3f}", loss_g=f"{record['loss_g']:.3f}")

        model, history = run_locally(job, callback=progress)
    last = history[-1] if history else {}
    mv = Registry(args.registry).register_model(
        model,
        args.name,
        metrics={k: float(v) for k, v in last.items()},
        extra={"data": args.data, "trainer": "local"},
        promote=args.promote or None,
    )
    print(f"registered {mv.ref} (dcgan, {len(data)} images {data.shape})")
    return 0


def run_train_style(args: argparse.Namespace) -> int:
    from entertainai.generate.style_transfer import StyleTransfer
    from entertainai.params import parse_params

    model = StyleTransfer.from_params(**parse_params(args.param)).build()
    mv = Registry(args.registry).register_model(
        model,
        args.name,
        extra={"trainer": "none (random-feature encoder drawn from its seed)"},
        promote=args.promote or None,
    )
    print(f"registered {mv.ref} (style_transfer)")
    return 0
