"""Text generation quality: the character transformer vs a 5-gram Kneser-Ney count model.

    python -m benchmarks.text_generation [--data ../shared/data/tinyshakespeare/input.txt]
        [--minutes 10] [--threads 1]

Standard split (first 90% of characters train, last 10% validation). Both models are scored
in nats per character on the whole validation tail; the transformer trains for a wall-clock
budget (its cosine schedule ends with the budget). Prints both figures and their ratio.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/data/tinyshakespeare/input.txt"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="UTF-8 corpus file")
    parser.add_argument("--minutes", type=float, default=10.0, help="transformer training budget")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--order", type=int, default=5, help="n-gram baseline order")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="transformer config overrides",
    )
    parser.add_argument("--save", help="save the trained transformer to this directory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from entertainai.generate.ngram import NGramConfig, NGramLM
    from entertainai.generate.text_corpus import CharTokenizer, load_corpus, split_tail
    from entertainai.generate.text_transformer import TextTransformer, TextTransformerConfig
    from entertainai.params import parse_params

    text = load_corpus(args.data)
    train, val = split_tail(text, 0.1)
    tok = CharTokenizer.fit(text)
    print(f"corpus {args.data}: {len(train):,} train / {len(val):,} validation characters")

    started = time.perf_counter()
    ngram = NGramLM(NGramConfig(args.order)).fit(tok.encode(train), tok.vocab_size)
    baseline = ngram.nats_per_char(tok.encode(val))
    ngram_s = time.perf_counter() - started
    print(f"{args.order}-gram Kneser-Ney: {baseline:.4f} nats/char ({ngram_s:.1f} s)")

    params = {
        "n_layer": 4,
        "n_head": 4,
        "n_embd": 128,
        "block_size": 64,
        "batch_size": 32,
        "lr": 3e-3,
        "warmup_steps": 50,
        "max_steps": 1_000_000,
        "eval_every": 250,
        **parse_params(args.param),
        "time_budget_s": args.minutes * 60,
        "threads": args.threads,
    }
    config = TextTransformerConfig(**params)
    started = time.perf_counter()
    model = TextTransformer(config).fit(train, val_text=val, tokenizer=tok)
    wall = time.perf_counter() - started
    nats = model.metrics_["val_nats_per_char"]
    print(
        f"transformer: {nats:.4f} nats/char after {model.metrics_['steps']} steps "
        f"({wall / 60:.1f} min wall incl. final evaluation, {args.threads} thread(s))"
    )
    print(f"ratio transformer / {args.order}-gram: {nats / baseline:.3f}")
    print(
        json.dumps(
            {
                "ngram": baseline,
                "transformer": nats,
                "steps": model.metrics_["steps"],
                "wall_s": wall,
                "config": params,
            }
        )
    )
    sample = model("ROMEO:", max_new_tokens=200, temperature=0.8, seed=0).texts[0]
    print("sample:\nROMEO:" + sample)
    if args.save:
        model.save_pretrained(args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
