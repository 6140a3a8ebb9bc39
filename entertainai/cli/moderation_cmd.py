"""CLI commands of the moderation capability.

entertainai train moderation --data comments.csv --label-col flags [--model tfidf]
entertainai train image-classifier --data images/ --unsafe gore --unsafe nsfw
entertainai moderate text --model moderation@production --input comments.csv --out v.csv
entertainai moderate image --model image_classifier@production a.png b.jpg
entertainai moderate curate --data data/demo --model moderation@production
"""

from __future__ import annotations

import argparse
import json

from entertainai.cli.text_analytics_cmd import add_train_task
from entertainai.registry import default_root


def register(
    commands: argparse._SubParsersAction,
    *,
    train: argparse._SubParsersAction,
    generate: argparse._SubParsersAction,
    analyze: argparse._SubParsersAction,
) -> None:
    """Add this capability's commands: top-level ones to ``commands``, tasks to the groups."""
    add_train_task(train, "moderation")

    img = train.add_parser("image-classifier", help="train the image CNN on a folder per class")
    img.add_argument("--data", required=True, help="folder with one sub-folder of images per class")
    img.add_argument("--unsafe", action="append", default=[], help="a class to flag (repeatable)")
    img.add_argument("--image-size", type=int, default=32)
    img.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    img.add_argument("--name", default="image_classifier")
    img.add_argument("--registry", default=None, help=f"registry root (default {default_root()!r})")
    img.set_defaults(handler=run_train_image)

    moderate = commands.add_parser("moderate", help="moderate texts or images, curate a dataset")
    sub = moderate.add_subparsers(dest="moderate_command", required=True, metavar="WHAT")
    text = sub.add_parser("text", help="toxicity/spam verdicts for every row of a file")
    text.add_argument("--model", default="moderation@production")
    text.add_argument("--input", required=True, help="CSV/TSV/Parquet with a text column")
    text.add_argument("--text-col", default="text")
    text.add_argument(
        "--out", required=True, help="FILE.csv or FILE.parquet, one row per input row"
    )
    text.add_argument(
        "--threshold", action="append", default=[], metavar="CATEGORY=VALUE", help="override"
    )
    text.add_argument("--registry", default=None)
    text.set_defaults(handler=run_moderate_text)

    image = sub.add_parser("image", help="tags and safety verdicts of image files")
    image.add_argument("files", nargs="+")
    image.add_argument("--model", default="image_classifier@production")
    image.add_argument("--registry", default=None)
    image.set_defaults(handler=run_moderate_image)

    curate = sub.add_parser("curate", help="comments to hide and items to block in a dataset")
    curate.add_argument("--data", required=True, help="dataset directory or URI")
    curate.add_argument("--model", default="moderation@production")
    curate.add_argument("--flagged-share", type=float, default=0.3)
    curate.add_argument("--out", help="write the result as JSON here")
    curate.add_argument("--registry", default=None)
    curate.set_defaults(handler=run_curate)


def _thresholds(pairs: list[str]) -> dict[str, float]:
    from entertainai.errors import InputError
    from entertainai.params import parse_params

    out = {}
    for key, value in parse_params(pairs).items():
        if not isinstance(value, int | float):
            raise InputError(f"--threshold {key}={value!r}: expected a number")
        out[key] = float(value)
    return out


def run_train_image(args: argparse.Namespace) -> int:
    from entertainai.moderation.image import train_from_folder
    from entertainai.params import parse_params
    from entertainai.registry import Registry

    params = {"image_size": args.image_size, "unsafe_classes": tuple(args.unsafe)}
    params.update(parse_params(args.param))
    mv, accuracy = train_from_folder(args.data, Registry(args.registry), args.name, params)
    print(f"registered {mv.ref} (image_classifier): held-out accuracy {accuracy:.4f}")
    return 0


def run_moderate_text(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from entertainai.analytics.text_data import load_texts
    from entertainai.analytics.text_tasks import load_classifier
    from entertainai.errors import InputError
    from entertainai.moderation.text import TextModerator
    from entertainai.registry import Registry

    if Path(args.out).suffix.lower() not in (".csv", ".parquet"):
        raise InputError("--out must end in .csv or .parquet", location=args.out)
    moderator = TextModerator(
        load_classifier(args.model, Registry(args.registry)), _thresholds(args.threshold)
    )
    texts = load_texts(args.input, args.text_col)
    verdicts = moderator.check_texts(texts)
    columns = {
        "flagged": [v.flagged for v in verdicts],
        "reasons": ["; ".join(v.reasons) for v in verdicts],
        **{f"score_{c}": [v.scores[c] for v in verdicts] for c in moderator.categories},
    }
    table = pa.table(columns)
    if args.out.lower().endswith(".csv"):
        pacsv.write_csv(table, args.out)
    else:
        pq.write_table(table, args.out)
    print(f"wrote {len(texts)} verdicts to {args.out}: {sum(v.flagged for v in verdicts)} flagged")
    return 0


def run_moderate_image(args: argparse.Namespace) -> int:
    from pathlib import Path

    from entertainai.errors import InputError, NotFoundError
    from entertainai.model import load_model
    from entertainai.moderation.image import ImageClassifier
    from entertainai.registry import Registry

    model = load_model(Registry(args.registry).local_path(args.model))
    if not isinstance(model, ImageClassifier):
        raise InputError(f"{args.model} is a {model.kind} model, not an image classifier")
    blobs = []
    for f in args.files:
        if not Path(f).is_file():
            raise NotFoundError(f"{f}: no such image file")
        blobs.append(Path(f).read_bytes())
    probs = model.predict_bytes(blobs)
    for f, verdict, tags in zip(
        args.files, model.check_images(probs), model.tags(probs), strict=True
    ):
        shown = ", ".join(f"{c} {p:.2f}" for c, p in tags)
        flag = "FLAGGED (" + "; ".join(verdict.reasons) + ")" if verdict.flagged else "ok"
        print(f"{f}: {flag}; tags: {shown}")
    return 0


def run_curate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from entertainai.analytics.text_tasks import load_classifier
    from entertainai.moderation.curation import CurationConfig, curate_dataset
    from entertainai.moderation.text import TextModerator
    from entertainai.registry import Registry

    moderator = TextModerator(load_classifier(args.model, Registry(args.registry)))
    result = curate_dataset(args.data, moderator.check_texts, CurationConfig(args.flagged_share))
    print(
        f"{len(result.flagged_comments)} comments flagged, {len(result.blocked_items)} items "
        f"blocked: {', '.join(result.blocked_items[:20])}"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(result.to_dict(), indent=2))
        print(f"wrote {args.out}")
    return 0
