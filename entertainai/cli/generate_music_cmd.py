"""CLI commands of the music capability: melodies (MIDI, optional WAV) and WaveNet audio.

    entertainai train melody --data jsb-chorales-16th.json --epochs 30
    entertainai train wavenet --data fsdd/recordings --param max_train_seconds=600
    entertainai generate melody --model melody_lstm --primer "60,62,64" --length 64 \
        --key G --tempo 96 --seed 1 --out tune.mid --wav tune.wav
    entertainai generate audio --model wavenet --seconds 1 --seed 3 --out take.wav

Training here runs each model's training job (``training_job``) in this process;
``python -m train.melody`` / ``train.wavenet`` run the same job on Ray.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tqdm import tqdm

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
    melody = generate.add_parser(
        "melody", help="continue a primer melody with a trained melody LSTM; write MIDI (+WAV)"
    )
    melody.add_argument(
        "--model",
        default="melody_lstm@production",
        help="NAME[@VERSION|@ALIAS] or a model directory",
    )
    melody.add_argument(
        "--primer",
        default="",
        help="MIDI pitches, each PITCH[:STEPS] (16th steps, default 4) or r "
        'for a rest, e.g. "60,62,64:8"',
    )
    melody.add_argument("--length", type=int, default=64, help="16th-note steps to generate")
    melody.add_argument("--temperature", type=float, default=1.0)
    melody.add_argument("--top-k", type=int, default=None)
    melody.add_argument("--key", default=None, help="transpose the result to this key, e.g. G, F#m")
    melody.add_argument("--tempo", type=float, default=100.0, help="beats per minute")
    melody.add_argument("--program", type=int, default=0, help="General MIDI program 0-127")
    melody.add_argument("--seed", type=int, default=0)
    melody.add_argument("--out", required=True, help="MIDI file to write")
    melody.add_argument("--wav", help="also render the melody to this WAV file")
    melody.add_argument(
        "--registry", default=None, help=f"registry root (default {default_root()!r})"
    )
    melody.set_defaults(handler=run_generate_melody)

    audio = generate.add_parser("audio", help="generate audio with a trained WaveNet; write WAV")
    audio.add_argument(
        "--model", default="wavenet@production", help="NAME[@VERSION|@ALIAS] or a model directory"
    )
    audio.add_argument("--seconds", type=float, default=1.0)
    audio.add_argument("--temperature", type=float, default=1.0)
    audio.add_argument("--primer", help="a WAV file to continue")
    audio.add_argument("--seed", type=int, default=0)
    audio.add_argument("--out", required=True, help="WAV file to write")
    audio.add_argument("--registry", default=None)
    audio.set_defaults(handler=run_generate_audio)

    for kind, task, what in (
        ("melody_lstm", "melody", "a JSB-style .json corpus or a folder of MIDI files"),
        ("wavenet", "wavenet", "a folder of WAV files (takes 0-4 of FSDD-style names held out)"),
    ):
        p = train.add_parser(task, help=f"train and register a {kind} model in this process")
        p.add_argument("--data", required=True, help=what)
        p.add_argument("--epochs", type=int, help="epochs (default: the model's)")
        p.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="hyperparameter, e.g. hidden=128",
        )
        p.add_argument("--name", help=f"registry name (default {kind})")
        p.add_argument("--alias", action="append", default=[], help="e.g. production")
        p.add_argument("--registry", default=None)
        p.set_defaults(handler=run_train, kind=kind)


def _load(ref: str, registry: str | None, kind: str) -> Any:
    from entertainai.model import load_model

    model = load_model(Registry(registry).local_path(ref))
    if model.kind != kind:
        raise InputError(f"{ref} is a {model.kind} model, not {kind}")
    return model


def run_generate_melody(args: argparse.Namespace) -> int:
    model = _load(args.model, args.registry, "melody_lstm")
    with tqdm(total=args.length, desc="melody", unit="step") as bar:
        out = model(
            primer=args.primer,
            length_steps=args.length,
            temperature=args.temperature,
            top_k=args.top_k,
            key=args.key,
            tempo_bpm=args.tempo,
            program=args.program,
            seed=args.seed,
            wav=bool(args.wav),
            progress=lambda done: bar.update(done - bar.n),
        )
    Path(args.out).write_bytes(out.midi)
    written = [args.out]
    if args.wav:
        Path(args.wav).write_bytes(out.wav)
        written.append(args.wav)
    print(
        f"{len(out.notes)} notes, key {out.key}, {out.tempo_bpm:g} bpm: wrote " + ", ".join(written)
    )
    return 0


def run_generate_audio(args: argparse.Namespace) -> int:
    model = _load(args.model, args.registry, "wavenet")
    primer = None
    if args.primer:
        from entertainai.generate.audio_io import load_wav

        primer = load_wav(args.primer, model.config.sample_rate)
    with tqdm(
        total=int(round(args.seconds * model.config.sample_rate)),
        desc="audio",
        unit="sample",
        unit_scale=True,
    ) as bar:
        out = model(
            seconds=args.seconds,
            seed=args.seed,
            temperature=args.temperature,
            primer=primer,
            progress=lambda done, _total: bar.update(done - bar.n),
        )
    Path(args.out).write_bytes(out.wav)
    print(f"{len(out.samples) / out.sample_rate:.2f} s at {out.sample_rate} Hz: wrote {args.out}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from entertainai.params import parse_params

    params = parse_params(args.param)
    if args.epochs is not None:
        params["epochs"] = args.epochs
    if args.kind == "melody_lstm":
        from entertainai.generate.melody import training_job
    else:
        from entertainai.generate.wavenet import training_job
    # The same job spec (model, parameters, data loader) train.melody / train.wavenet run on Ray.
    job = training_job(args.data, params)
    try:
        model = job.model()
    except (TypeError, ValueError) as exc:
        raise InputError(str(exc)) from None
    data = job.data(model)
    metric = model.validation_metric
    with tqdm(total=model.n_epochs(), desc=args.kind, unit="epoch") as bar:

        def progress(epoch: int, loss: float, valid: float | None) -> None:
            bar.update(epoch - bar.n)
            bar.set_postfix(loss=f"{loss:.3f}", **({metric: f"{valid:.3f}"} if valid else {}))

        model.fit(data, progress=progress)  # torch_utils.train_locally: the job's loop
    score = model.nll if args.kind == "melody_lstm" else model.bits_per_sample
    metrics = {metric: float(score(data.valid))} if data.valid else {}
    mv = Registry(args.registry).register_model(
        model,
        args.name or args.kind,
        metrics={**metrics, "epochs": len(model.history_)},
        extra={"data": str(Path(args.data).resolve()), "trainer": "local"},
        aliases=tuple(args.alias),
    )
    shown = ", ".join(f"{k}={v:.4f}" for k, v in metrics.items())
    print(f"registered {mv.ref} ({args.kind}): {shown}")
    return 0
