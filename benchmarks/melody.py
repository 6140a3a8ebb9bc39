"""Melody LSTM vs an order-4 Markov chain on the JSB chorales soprano line (16th-note grid).

    python -m benchmarks.melody --data ../shared/data/jsb-chorales/jsb-chorales-16th.json \
        --budget-s 600

Standard split (Boulanger-Lewandowski 2012): train / valid / test. Both models score every
16th-note step of every test chorale (nats per step); the Markov chain runs over the pitch
sounding at each step (its smoothing strength chosen on valid), the LSTM over the step tokens
(REST / HOLD / ONSET), a one-to-one map of the same sequence. Reference: order-4 Markov
~0.76 nats/step; 80% of steps repeat the previous one.

Measured (default flags, shared 2-core CPU under heavy load, one torch thread): repeat rate
0.802; order-4 Markov (beta 32) valid 0.750 / test 0.750; LSTM 2x128 after 49 epochs
(1542 s, the time budget) valid 0.563 / test 0.574 nats/step; ratio 0.765.
"""

from __future__ import annotations

import argparse
import json
import logging
import time

from entertainai.generate import music_data as md
from entertainai.generate.markov import repeat_rate, select_markov
from entertainai.generate.melody import MelodyConfig, MelodyData, MelodyGenerator

DEFAULT_DATA = "../shared/data/jsb-chorales/jsb-chorales-16th.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=DEFAULT_DATA, help="JSB chorales 16th-note JSON")
    parser.add_argument("--order", type=int, default=4, help="Markov order (baseline)")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--budget-s", type=float, default=600.0, help="LSTM training time limit")
    parser.add_argument("--hidden", type=int, default=MelodyConfig.hidden)
    parser.add_argument("--out", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    config = MelodyConfig(epochs=args.epochs, hidden=args.hidden, max_train_seconds=args.budget_s)
    vocab = config.vocab
    train, valid, test = (md.load_corpus(args.data, p, vocab) for p in ("train", "valid", "test"))
    steps = [sum(len(s) for s in part) for part in (train, valid, test)]
    print(f"JSB soprano: {len(train)}/{len(valid)}/{len(test)} chorales, {steps} steps")

    def states(part: list) -> list:
        return [md.sounding(s, vocab) for s in part]

    start = time.perf_counter()
    chain, markov_valid = select_markov(states(train), states(valid), args.order, vocab.size)
    markov_test = chain.nll(states(test))
    markov_s = time.perf_counter() - start

    start = time.perf_counter()
    model = MelodyGenerator(config).fit(MelodyData(train, valid))
    lstm_s = time.perf_counter() - start
    lstm_valid, lstm_test = model.nll(valid), model.nll(test)

    figures = {
        "repeat_previous_rate_test": repeat_rate(states(test)),
        "markov": {
            "order": args.order,
            "beta": chain.config.beta,
            "valid_nll": markov_valid,
            "test_nll": markov_test,
            "wall_s": markov_s,
        },
        "lstm": {
            "hidden": config.hidden,
            "layers": config.layers,
            "epochs_run": len(model.history_),
            "valid_nll": lstm_valid,
            "test_nll": lstm_test,
            "train_wall_s": lstm_s,
        },
        "ratio_test_lstm_over_markov": lstm_test / markov_test,
    }
    print(f"repeat-previous-step rate (test): {figures['repeat_previous_rate_test']:.3f}")
    print(
        f"order-{args.order} Markov (beta {chain.config.beta:g}): valid {markov_valid:.4f}, "
        f"test {markov_test:.4f} nats/step ({markov_s:.1f} s)"
    )
    print(
        f"LSTM {config.layers}x{config.hidden}, {len(model.history_)} epochs: "
        f"valid {lstm_valid:.4f}, test {lstm_test:.4f} nats/step ({lstm_s:.0f} s training)"
    )
    print(f"ratio LSTM / Markov (test NLL): {figures['ratio_test_lstm_over_markov']:.3f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(figures, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
