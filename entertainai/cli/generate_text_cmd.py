"""``entertainai generate text`` and ``entertainai train text-transformer|text-lstm``.

Training here runs in this process with a progress bar; ``python -m train.text_transformer``
and ``python -m train.text_lstm`` run the same models on Ray (``ray job submit``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from tqdm import tqdm

from entertainai.errors import InputError
from entertainai.registry import Registry, default_root

TRAINERS = {"text-transformer": "text_transformer", "text-lstm": "text_lstm"}


def register(
    commands: argparse._SubParsersAction,
    *,
    train: argparse._SubParsersAction,
    generate: argparse._SubParsersAction,
    analyze: argparse._SubParsersAction,
) -> None:
    """Add this capability's commands: top-level ones to ``commands``, tasks to the groups."""
    text = generate.add_parser("text", help="continue a prompt with a trained text model")
    text.add_argument("--model", required=True, help="NAME[@VERSION|@ALIAS] or a model directory")
    text.add_argument("--prompt", default="", help="text to continue (default: a new line)")
    text.add_argument("--max-new-tokens", type=int, default=200, help="characters to generate")
    text.add_argument("--temperature", type=float, default=1.0, help="0 = greedy")
    text.add_argument("--top-k", type=int, default=None)
    text.add_argument("--top-p", type=float, default=None)
    text.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    text.add_argument("--num-samples", type=int, default=1)
    text.add_argument("--seed", type=int, default=None, help="same seed, same text")
    text.add_argument("--out", help="write the samples here (.txt; .json with metadata)")
    text.add_argument("--registry", default=None, help=f"registry root (default {default_root()})")
    text.set_defaults(handler=run_generate)

    for command, kind in TRAINERS.items():
        p = train.add_parser(
            command, help=f"train a {kind} on a UTF-8 corpus in this process and register it"
        )
        p.add_argument("--data", required=True, help="UTF-8 file, folder of .txt, or dataset dir")
        p.add_argument("--steps", type=int, default=None, help="training steps")
        p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
        p.add_argument("--name", default=kind, help="registry name")
        p.add_argument("--alias", action="append", default=[], help="e.g. production")
        p.add_argument("--registry", default=None)
        p.set_defaults(handler=run_train, kind=kind)


def run_generate(args: argparse.Namespace) -> int:
    from entertainai.generate.text_corpus import TextGenerator
    from entertainai.model import load_model

    registry = Registry(args.registry)
    path = args.model if Path(args.model).is_dir() else registry.local_path(args.model)
    model = load_model(path)
    if not isinstance(model, TextGenerator):
        raise InputError(f"{args.model} is a {model.kind} model, not a text generator")
    out = model(
        args.prompt,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        stop=args.stop,
        num_samples=args.num_samples,
        seed=args.seed,
    )
    if args.out:
        target = Path(args.out)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix == ".json":
            body = {"model": args.model, "seed": args.seed, **dataclasses.asdict(out)}
            target.write_text(json.dumps(body, indent=2, ensure_ascii=False))
        else:
            target.write_text("\n\n".join(args.prompt + t for t in out.texts) + "\n")
        print(f"wrote {len(out.texts)} sample(s) to {target}")
    else:
        for i, t in enumerate(out.texts):
            if len(out.texts) > 1:
                print(f"--- sample {i + 1} ({out.finish_reasons[i]})")
            print(args.prompt + t)
    return 0


def run_train(args: argparse.Namespace) -> int:
    from entertainai.params import parse_params

    params = parse_params(args.param)
    steps_field = "max_steps" if args.kind == "text_transformer" else "steps"
    if args.steps is not None:
        params[steps_field] = args.steps
    run = _train_transformer if args.kind == "text_transformer" else _train_lstm
    model, metrics = run(args, params)
    mv = Registry(args.registry).register_model(
        model,
        args.name,
        metrics=metrics,
        extra={"data": str(Path(args.data).resolve()), "trainer": "cli"},
        aliases=tuple(args.alias),
    )
    print(
        f"registered {mv.ref} ({model.kind}): val_nats_per_char={metrics['val_nats_per_char']:.4f}"
    )
    return 0


def _train_transformer(args: argparse.Namespace, params: dict[str, Any]) -> tuple[Any, dict]:
    """The job train.text_transformer runs on Ray, here (``torch_utils.run_locally``)."""
    import time

    from entertainai.generate.text_transformer import training_job
    from entertainai.torch_utils import run_locally

    try:
        config = training_job(args.data, params).model().config
    except (TypeError, ValueError) as exc:
        raise InputError(f"--param: {exc}") from None
    # Validate every eval_every steps (an epoch is log_every steps) and after the last.
    epochs = -(-config.max_steps // config.log_every)
    every = max(1, config.eval_every // config.log_every) if config.eval_every else epochs
    job = training_job(args.data, params, every=every)
    started = time.monotonic()
    with tqdm(total=config.max_steps, desc="train text_transformer", unit="step") as bar:

        def on_epoch(record: dict[str, float]) -> None:
            bar.update(int(record["step"]) - bar.n)
            bar.set_postfix(loss=f"{record['loss']:.3f}")

        model, history = run_locally(job, callback=on_epoch)
    last = history[-1]  # the last epoch is always validated (also when the budget stops it)
    return model, {
        "val_nats_per_char": last["val_nats_per_char"],
        "steps": int(last["step"]),
        "train_seconds": time.monotonic() - started,
    }


def _train_lstm(args: argparse.Namespace, params: dict[str, Any]) -> tuple[Any, dict]:
    """The tf-keras LSTM (not a torch model) trains through its own ``fit``."""
    from entertainai.generate.text_corpus import load_corpus
    from entertainai.generate.text_lstm import TextLSTM

    try:
        model = TextLSTM.from_params(**params)
    except (TypeError, ValueError) as exc:
        raise InputError(f"--param: {exc}") from None
    text = load_corpus(args.data)
    with tqdm(total=model.config.steps, desc="train text_lstm", unit="step") as bar:

        def on_step(step: int, loss: float) -> None:
            bar.update(step - bar.n)
            bar.set_postfix(loss=f"{loss:.3f}")

        model.fit(text, on_step=on_step)
    return model, {k: v for k, v in model.metrics_.items() if isinstance(v, int | float)}
