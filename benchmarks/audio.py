"""WaveNet vs an order-2 Markov chain on FSDD (8 kHz speech, 8-bit mu-law), bits per sample.

    python -m benchmarks.audio --data ../shared/data/fsdd/recordings --budget-s 900

Standard split: takes 0-4 of every digit and speaker (300 recordings) are the test set;
every 20th training recording is held out as validation (Markov smoothing, WaveNet epoch
selection). Both models score every sample of every test recording (each one preceded by
silence). Reference: order-2 Markov ~5.14 bits/sample.

Measured (--stacks 1 --steps-per-epoch 50 --budget-s 1440, shared 2-core CPU under heavy
load, one torch thread): order-2 Markov (beta 128) test 5.101 bits/sample; WaveNet 1x8 layers,
32 channels, receptive field 256, 1100 steps in the 1440 s budget: valid 4.356, test 4.563
bits/sample; ratio 0.895. Still improving when the budget ran out (short of the 4.5 goal).
"""

from __future__ import annotations

import argparse
import json
import logging
import time

from entertainai.generate import audio_io
from entertainai.generate.markov import nats_to_bits, select_markov
from entertainai.generate.wavenet import CLASSES, WaveNet, WaveNetConfig, load_audio_data

DEFAULT_DATA = "../shared/data/fsdd/recordings"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=DEFAULT_DATA, help="folder of FSDD WAV recordings")
    parser.add_argument("--order", type=int, default=2, help="Markov order (baseline)")
    parser.add_argument("--budget-s", type=float, default=900.0, help="WaveNet training time")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--steps-per-epoch", type=int, default=100)
    parser.add_argument("--channels", type=int, default=WaveNetConfig.residual_channels)
    parser.add_argument("--stacks", type=int, default=WaveNetConfig.stacks)
    parser.add_argument("--out", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    config = WaveNetConfig(
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        residual_channels=args.channels,
        stacks=args.stacks,
        max_train_seconds=args.budget_s,
        valid_samples=100_000,
    )
    data = load_audio_data(args.data, config)
    test = audio_io.load_folder(args.data, config.sample_rate, "test")
    sizes = [sum(len(x) for x in part) for part in (data.train, data.valid, test)]
    print(f"FSDD: {len(data.train)}/{len(data.valid)}/{len(test)} recordings, {sizes} samples")

    start = time.perf_counter()
    chain, markov_valid = select_markov(data.train, data.valid, args.order, CLASSES)
    markov_test = nats_to_bits(chain.nll(test))
    markov_s = time.perf_counter() - start

    start = time.perf_counter()
    model = WaveNet(config).fit(data)
    wavenet_s = time.perf_counter() - start
    wavenet_test = model.bits_per_sample(test)

    figures = {
        "markov": {
            "order": args.order,
            "beta": chain.config.beta,
            "valid_bits": nats_to_bits(markov_valid),
            "test_bits": markov_test,
            "wall_s": markov_s,
        },
        "wavenet": {
            "residual_channels": config.residual_channels,
            "receptive_field": config.receptive_field,
            "epochs_run": len(model.history_),
            "steps": len(model.history_) * config.steps_per_epoch,
            "history": model.history_,
            "test_bits": wavenet_test,
            "train_wall_s": wavenet_s,
        },
        "ratio_test_wavenet_over_markov": wavenet_test / markov_test,
    }
    print(
        f"order-{args.order} Markov (beta {chain.config.beta:g}): test {markov_test:.4f} "
        f"bits/sample ({markov_s:.1f} s)"
    )
    print(
        f"WaveNet {config.residual_channels} ch, receptive field {config.receptive_field}, "
        f"{len(model.history_)} x {config.steps_per_epoch} steps: test {wavenet_test:.4f} "
        f"bits/sample ({wavenet_s:.0f} s training)"
    )
    print(f"ratio WaveNet / Markov (test bits): {figures['ratio_test_wavenet_over_markov']:.3f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(figures, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
