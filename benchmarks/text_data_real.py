"""The shared real labelled texts (``/work/shared/data``) as LabelledTexts, and cached embeddings.

Used by ``benchmarks.text_classifiers``; kept apart so the embedding cache can be filled ahead
(``python -m benchmarks.text_data_real --embed``): the encoder runs once per dataset and the
(n, 384) float16 rows are kept under ``runs/bench/embeddings/`` keyed by the texts' hash.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import time
from pathlib import Path

import numpy as np

from entertainai.analytics.text_data import LabelledTexts, load_labelled

log = logging.getLogger("benchmarks.text_data_real")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CACHE = Path("runs/bench/embeddings")


def goemotions(path: Path) -> LabelledTexts:
    """GoEmotions TSV (text, comma-separated label ids, id) with that folder's labels.txt."""
    names = (path.parent / "labels.txt").read_text().split()
    texts, labels = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        texts.append(parts[0])
        labels.append(tuple(sorted({names[int(i)] for i in parts[1].split(",")})))
    return LabelledTexts(texts, labels, True, str(path))


# GoEmotions' train part is 43k comments; a seeded subset keeps the encoder pass (2 shared
# cores) and the one-vs-rest fits within the benchmark's time. Every model gets the same rows.
EMOTION_ROWS = 10_000


def task_data(
    task: str, root: Path = SHARED, emotion_rows: int = EMOTION_ROWS
) -> tuple[LabelledTexts, LabelledTexts | None]:
    """(train part, its fixed held-out part or None) of one task's real data."""
    if task == "sentiment":
        return load_labelled(root / "movie-sentiment" / "train.csv"), None
    if task == "toxicity":
        return load_labelled(root / "hate-offensive" / "train.csv"), None
    if task == "emotion":
        base = root / "goemotions" / "ekman"
        train = goemotions(base / "train.tsv")
        if emotion_rows and len(train) > emotion_rows:
            rows = np.random.default_rng(0).permutation(len(train))[:emotion_rows]
            train = train.subset(np.sort(rows))
        return train, goemotions(base / "dev.tsv")
    raise SystemExit(f"unknown task {task!r}")


def texts_hash(texts: list[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode() + b"\x1e")
    return digest.hexdigest()[:16]


def cached_embeddings(texts: list[str], cache: Path = CACHE) -> np.ndarray:
    """Encoder rows of ``texts``, computed once and kept on disk (float16)."""
    from entertainai.analytics.encoder import load_encoder

    encoder = load_encoder()
    path = cache / f"{encoder.name}-{encoder.sha256[:12]}-{texts_hash(texts)}.npy"
    if path.exists():
        return np.load(path).astype(np.float32)
    start = time.perf_counter()
    rows = encoder.encode(texts)
    log.info("embedded %d texts in %.0f s", len(texts), time.perf_counter() - start)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, rows.astype(np.float16))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--embed", action="store_true", help="fill the embedding cache")
    p.add_argument("--tasks", default="sentiment,toxicity,emotion")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for task in args.tasks.split(","):
        train, held = task_data(task)
        log.info("%s: %d train texts, classes %s", task, len(train), train.classes)
        if args.embed:
            cached_embeddings(train.texts)
            if held is not None:
                cached_embeddings(held.texts)


if __name__ == "__main__":
    main()
