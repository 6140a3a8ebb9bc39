"""Train and register the default model of every capability the Serve graph answers with.

    python -m train.capabilities --data data/demo [--only dcgan,topics] [--preset fast|full]
    ray job submit --working-dir . -- python -m train.capabilities --data /abs/demo

Each capability's own job (``train.<job>.main(argv)``) runs in this process, one after the
other, on the Ray this job connects to; nothing is trained here. The data set directory feeds
the text, topic and segment models; the other jobs use sources that need no download:
scikit-learn's digits (``dcgan``), synthetic melodies and tones (``melody_lstm``,
``wavenet``: ``--data demo``) and the synthetic image folders (``image_classifier``). Style
transfer needs no training (the Serve graph has a built-in encoder).

``--preset fast`` keeps every model small: all of them in about 5 minutes on 2 CPUs.
``--preset full`` is each job's own defaults (hours on a laptop). A version becomes
``production`` when its name has none yet, so a rerun never moves what is being served. One
capability failing is reported with the command that reruns it alone; the others go on, and
the exit status is 1.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from entertainai.errors import InputError
from entertainai.registry import Registry, default_root
from train.common import absolute, add_ray_args, init_ray, run_job

log = logging.getLogger("train.capabilities")

PRESETS = ("fast", "full")
DATASET = "{data}"  # in a capability's ``data``: the --data directory


@dataclass(frozen=True)
class Capability:
    """One served model and the job command line that trains it."""

    name: str  # the registry name the Serve graph loads as NAME@production
    job: str  # train.<job>: its main(argv) trains and registers ``name``
    data: str  # --data of the job: DATASET, or a source the job synthesises or bundles
    metric: str  # registered metric shown in the report
    route: str  # the HTTP route it serves (for the report)
    fast: str = ""  # extra arguments of the fast preset (shell words)
    ray_train: bool = False  # a Ray Train job: takes --storage-path
    also: tuple[str, ...] = ()  # other names the job registers (promoted the same way)

    def argv(self, data: str, registry: str, preset: str, smoke_test: bool) -> list[str]:
        argv = ["--data", self.data.format(data=data), "--registry", registry]
        if smoke_test:
            argv.append("--smoke-test")  # the job's own tiny preset
        elif preset == "fast":
            argv += shlex.split(self.fast)
        return argv


# Fast presets, measured with all of them in one run on 2 shared CPUs (4-5 minutes; see the
# report of `python -m train.capabilities`). The text generators get enough steps to spell
# words (val ~1.05 nats/char against 3.04 for character frequencies): gibberish scores as
# toxic with the moderation model, and the text route refuses what moderation flags (422).
# The text classifiers train with their jobs' defaults (about 20 s each on the demo data).
# Music: the melody LSTM reaches ~0.2 nats/step on the demo grammar (uniform: 4.1) and
# keeps ~75% of its notes in the primer's key; the WaveNet ~4 bits/sample (unigram: 7.0).
CAPABILITIES: dict[str, Capability] = {
    c.name: c
    for c in (
        Capability(
            "text_transformer",
            "text_transformer",
            DATASET,
            "val_nats_per_char",
            "POST /v1/generate/text",
            fast=(
                "--param n_layer=2 --param n_head=2 --param n_embd=64 --param block_size=64 "
                "--param batch_size=16 --param max_steps=800 --param warmup_steps=20 "
                "--report-every 800"
            ),
            ray_train=True,
        ),
        Capability(
            "text_lstm",
            "text_lstm",
            DATASET,
            "val_nats_per_char",
            'POST /v1/generate/text {"model": "text_lstm"}',
            fast=(
                "--param embedding_dim=16 --param units=128 --param seq_len=64 "
                "--param batch_size=32 --param steps=600 --report-every 600"
            ),
            ray_train=True,
        ),
        Capability(
            "dcgan",
            "image_gan",
            "digits",
            "frechet",
            "POST /v1/generate/image",
            fast=(
                "--epochs 20 --report-every 20 --eval-samples 300 "
                "--param g_width=16 --param d_width=16 --feature-param epochs=5"
            ),
            ray_train=True,
            also=("image_features",),
        ),
        Capability(
            "melody_lstm",
            "melody",
            "demo",
            "valid_nll",
            "POST /v1/generate/melody",
            fast=(
                "--epochs 100 --report-every 100 "
                "--param hidden=128 --param embed_dim=32 --param layers=1"
            ),
            ray_train=True,
        ),
        Capability(
            "wavenet",
            "wavenet",
            "demo",
            "valid_bits",
            "POST /v1/generate/audio",
            fast=(
                "--epochs 2 --report-every 2 --param steps_per_epoch=150 --param crop=1000 "
                "--param residual_channels=16 --param skip_channels=32 "
                "--param layers_per_stack=6"
            ),
            ray_train=True,
        ),
        Capability("sentiment", "sentiment", DATASET, "macro_f1", "POST /v1/analyze/sentiment"),
        Capability("emotion", "emotion", DATASET, "macro_f1", "POST /v1/analyze/emotion"),
        Capability("textclass", "textclass", DATASET, "macro_f1", "POST /v1/classify/text"),
        Capability("moderation", "moderation", DATASET, "macro_f1", "POST /v1/moderate/text"),
        Capability(
            "image_classifier",
            "image_classifier",
            "demo",
            "accuracy",
            "POST /v1/moderate/image",
            fast="--image-size 24",
        ),
        Capability("topics", "topics", DATASET, "npmi", "POST /v1/analyze/topics"),
        Capability("segments", "segments", DATASET, "planted_ari", "GET /v1/segments"),
    )
}


@dataclass(frozen=True)
class Outcome:
    """What training one capability came to: its registered ref, or the error."""

    capability: str
    ref: str | None
    metric: str
    value: float | None
    seconds: float
    rerun: str  # the command that trains this capability alone
    production: int | None = None  # the version name@production points at afterwards
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def line(self) -> str:
        if not self.ok:
            return (
                f"{self.capability}: FAILED after {self.seconds:.0f}s: {self.error}; "
                f"rerun: {self.rerun}"
            )
        value = "n/a" if self.value is None else f"{self.value:.4f}"
        version = int(str(self.ref).rsplit("@", 1)[1])
        alias = (
            "production" if self.production == version else f"production stays @{self.production}"
        )
        return (
            f"{self.capability}: registered {self.ref} ({alias}) {self.metric}={value} "
            f"in {self.seconds:.1f}s"
        )


def selected(only: str | None) -> list[Capability]:
    """The capabilities named in a comma-separated list (all when None), in table order."""
    if not only:
        return list(CAPABILITIES.values())
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(CAPABILITIES))
    if unknown:
        raise InputError(f"unknown capabilities {unknown}; known: {', '.join(CAPABILITIES)}")
    return [c for name, c in CAPABILITIES.items() if name in names]


def latest(registry: Registry, name: str) -> int:
    return registry.aliases(name).get("latest", 0)


def promote_if_unset(registry: Registry, name: str, version: int) -> None:
    """Point ``production`` at ``version`` when ``name`` has no production alias yet (some
    jobs promote a first version themselves; none moves an alias that is set)."""
    if "production" not in registry.aliases(name):
        registry.set_alias(name, "production", version)


def _error_of(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def train_one(
    capability: Capability,
    data: str,
    registry_root: str,
    *,
    preset: str = "fast",
    smoke_test: bool = False,
    storage_path: str | None = None,
    main: Callable[[list[str]], int] | None = None,
) -> Outcome:
    """Run one capability's job in this process and read back what it registered."""
    argv = capability.argv(data, registry_root, preset, smoke_test)
    if capability.ray_train and storage_path:
        argv += ["--storage-path", storage_path]
    rerun = shlex.join(["python", "-m", f"train.{capability.job}", *argv])
    registry = Registry(registry_root)
    before = {n: latest(registry, n) for n in (capability.name, *capability.also)}
    started = time.monotonic()
    error = None
    try:
        entry = main or importlib.import_module(f"train.{capability.job}").main
        rc = entry(argv)
        if rc != 0:
            error = f"exit status {rc} (its error is above)"
    except SystemExit as exc:  # argparse rejected the command line
        error = f"exit status {exc.code} (its usage error is above)"
    except Exception as exc:  # noqa: BLE001 - one capability must not stop the others
        log.exception("%s failed", capability.name)
        error = _error_of(exc)
    seconds = time.monotonic() - started
    version = latest(registry, capability.name)
    if error is None and version <= before[capability.name]:
        error = f"the job registered no new {capability.name} version"
    if error is not None:
        return Outcome(capability.name, None, capability.metric, None, seconds, rerun, error=error)
    for name in (capability.name, *capability.also):
        if (v := latest(registry, name)) > before[name]:
            promote_if_unset(registry, name, v)
    mv = registry.get(f"{capability.name}@{version}")
    value = mv.metrics.get(capability.metric)
    number = float(value) if isinstance(value, int | float) and math.isfinite(value) else None
    production = registry.aliases(capability.name).get("production")
    return Outcome(capability.name, mv.ref, capability.metric, number, seconds, rerun, production)


def train_all(
    data: str,
    registry_root: str,
    *,
    preset: str = "fast",
    only: str | None = None,
    smoke_test: bool = False,
    storage_path: str | None = None,
) -> list[Outcome]:
    """Train every (or each ``only``) capability on a connected Ray, one line printed each.

    ``data`` is a dataset directory (the demo data set); Ray must be initialised (the jobs
    attach to it). Failures are returned as outcomes, never raised.
    """
    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; use one of {PRESETS}")
    capabilities = selected(only)
    data, registry_root = absolute(data), absolute(registry_root)
    storage_path = absolute(storage_path) if storage_path else None
    outcomes = []
    for n, capability in enumerate(capabilities, 1):
        log.info("[%d/%d] training %s", n, len(capabilities), capability.name)
        outcome = train_one(
            capability,
            data,
            registry_root,
            preset=preset,
            smoke_test=smoke_test,
            storage_path=storage_path,
        )
        print(outcome.line(), flush=True)
        outcomes.append(outcome)
    return outcomes


def to_markdown(outcomes: list[Outcome]) -> str:
    rows = [
        "| capability | registered | metric | value | seconds | serves |",
        "|---|---|---|---|---:|---|",
    ]
    for o in outcomes:
        value = "FAILED" if not o.ok else ("n/a" if o.value is None else f"{o.value:.4f}")
        route = CAPABILITIES[o.capability].route if o.capability in CAPABILITIES else ""
        rows.append(
            f"| {o.capability} | {o.ref or '-'} | {o.metric} | {value} | {o.seconds:.1f} "
            f"| `{route}` |"
        )
    total = sum(o.seconds for o in outcomes)
    failed = sum(not o.ok for o in outcomes)
    rows.append(f"| **total** | {len(outcomes) - failed} ok, {failed} failed | | | {total:.1f} | |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="train.capabilities",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", required=True, help="dataset directory (the demo data set)")
    parser.add_argument(
        "--only", help=f"comma-separated capabilities (default: all of {', '.join(CAPABILITIES)})"
    )
    parser.add_argument(
        "--preset", choices=PRESETS, default="fast", help="fast: small models; full: job defaults"
    )
    parser.add_argument("--storage-path", help="where the Ray Train jobs keep checkpoints")
    parser.add_argument("--registry", default=default_root())
    add_ray_args(parser)
    return run_job("train.capabilities", run, parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    if any(c.data == DATASET for c in selected(args.only)):  # typos fail before Ray starts
        from entertainai.data.dataset import Dataset

        Dataset.open(absolute(args.data))
    init_ray(args.address, args.num_cpus)
    outcomes = train_all(
        args.data,
        args.registry,
        preset=args.preset,
        only=args.only,
        smoke_test=args.smoke_test,
        storage_path=args.storage_path,
    )
    print()
    print(to_markdown(outcomes))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
