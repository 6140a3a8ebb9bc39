"""Text corpora for the text generators: loading, the held-out tail, a character tokenizer.

A corpus is any UTF-8 text: one file, a folder of ``.txt`` files (sorted, joined by blank
lines), or an EntertainAI dataset directory (item descriptions, then review/comment texts).
Validation is the *tail* of the text (the last ``val_fraction`` of characters), as in the
standard tinyshakespeare split, so it never overlaps training text.

The decoding loop shared by every text generator (prompt, stop strings, ``num_samples``, one
seeded generator) lives here too; each model supplies only a :class:`Stepper`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from entertainai.errors import InputError, LimitExceeded, NotFoundError
from entertainai.generate.sampling import SamplingConfig, sample_next

log = logging.getLogger(__name__)

TOKENIZER_FILE = "tokenizer.json"
MAX_NEW_TOKENS = 10_000  # a hard ceiling for any caller; the HTTP API has a lower one


# ---- loading ------------------------------------------------------------------------------


def read_text_file(path: Path) -> str:
    """One UTF-8 file; non-UTF-8 bytes are an error naming the file and byte offset."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", location=str(path)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 1]!r})",
            location=str(path),
        ) from None


def load_corpus(source: str | Path) -> str:
    """The text of a file, a folder of ``.txt`` files, or a dataset directory; never empty."""
    path = Path(source)
    if not path.exists():
        raise NotFoundError(f"{path}: no such file or directory")
    if path.is_file():
        text = read_text_file(path)
    elif (path / "manifest.json").is_file():
        text = dataset_text(path)
    else:
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        if not files:
            raise InputError("no .txt files in this folder (and not a dataset)", location=str(path))
        text = "\n\n".join(read_text_file(p) for p in files)
    if not text.strip():
        raise InputError("the corpus is empty", location=str(path))
    return text


def dataset_text(path: Path) -> str:
    """A dataset's item descriptions and reviews/comments, one per line."""
    from entertainai.data.dataset import Dataset

    dataset = Dataset.open(str(path))
    lines = [str(d) for d in dataset.table("items", ["description"]).column(0).to_pylist() if d]
    lines += [str(t) for t in dataset.table("texts", ["text"]).column(0).to_pylist() if t]
    return "\n".join(lines) + "\n"


def split_tail(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """(train, validation): the first ``1 - val_fraction`` of characters and the tail."""
    if not 0.0 < val_fraction < 1.0:
        raise InputError(f"val_fraction must be in (0, 1), got {val_fraction}")
    n = int((1.0 - val_fraction) * len(text))
    if n < 2 or len(text) - n < 2:
        raise InputError(f"corpus too short to split ({len(text)} characters)")
    return text[:n], text[n:]


# ---- tokenizer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CharTokenizer:
    """Characters <-> ids, in sorted order; saved as JSON (a list of characters)."""

    chars: tuple[str, ...]
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.chars or len(set(self.chars)) != len(self.chars):
            raise InputError("a tokenizer needs distinct characters")
        object.__setattr__(self, "index", {c: i for i, c in enumerate(self.chars)})

    @classmethod
    def fit(cls, text: str) -> CharTokenizer:
        # Always knows "\n": an empty prompt starts generation after a line break.
        return cls(tuple(sorted(set(text) | {"\n"})))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str, *, what: str = "text") -> np.ndarray:
        """Ids of ``text``; characters the model never saw are an error naming them."""
        unknown = sorted(set(text) - self.index.keys())
        if unknown:
            shown = "".join(unknown[:20])
            raise InputError(f"{what} has characters this model never saw: {shown!r}")
        return np.fromiter((self.index[c] for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def save(self, directory: Path) -> None:
        (directory / TOKENIZER_FILE).write_text(json.dumps({"chars": list(self.chars)}))

    @classmethod
    def load(cls, directory: Path) -> CharTokenizer:
        return cls(tuple(json.loads((directory / TOKENIZER_FILE).read_text())["chars"]))


# ---- decoding -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TextGenerationOutput:
    """``texts[i]``: the continuation of the prompt (prompt excluded) for sample ``i``."""

    texts: list[str]
    prompt: str
    finish_reasons: list[str]  # "stop" (a stop string) or "length" (max_new_tokens)
    new_tokens: list[int]


class Stepper(Protocol):
    """One model's incremental decoder over a batch of ``n`` sequences."""

    def start(self, prompt_ids: np.ndarray, n: int) -> np.ndarray:
        """Feed the prompt to ``n`` copies; return next-token logits, shape (n, vocab)."""
        ...

    def advance(self, tokens: np.ndarray) -> np.ndarray:
        """Append one token per sequence, shape (n,); return the next logits, (n, vocab)."""
        ...


@dataclass(frozen=True)
class GenerationArgs:
    """The sampling knobs of one request, checked once at the boundary."""

    max_new_tokens: int = 200
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    num_samples: int = 1
    seed: int | None = None
    time_budget_s: float | None = None  # over it, generation fails with LimitExceeded

    def __post_init__(self) -> None:
        if not 1 <= self.max_new_tokens <= MAX_NEW_TOKENS:
            raise InputError(f"max_new_tokens must be in 1..{MAX_NEW_TOKENS}")
        if not 1 <= self.num_samples <= 64:
            raise InputError("num_samples must be in 1..64")
        if self.time_budget_s is not None and self.time_budget_s <= 0:
            raise InputError("time_budget_s must be > 0")
        if any(not s for s in self.stop):
            raise InputError("stop strings must not be empty")
        SamplingConfig(self.temperature, self.top_k, self.top_p)  # validates the knobs

    @property
    def sampling(self) -> SamplingConfig:
        return SamplingConfig(self.temperature, self.top_k, self.top_p)


def decode_stream(
    stepper: Stepper, tokenizer: CharTokenizer, prompt: str, args: GenerationArgs
) -> Iterator[tuple[int, str]]:
    """Yield ``(sample, piece)`` as text becomes final; stop strings are never emitted.

    One generator seeded by ``args.seed`` draws every token in sample order, so the same seed
    gives the same texts. A piece is held back while it could still be the start of a stop
    string. An empty prompt starts from a newline (text starts after a line break).
    """
    prompt_ids = tokenizer.encode(prompt or "\n", what="prompt")
    rng = np.random.default_rng(args.seed)
    sampling = args.sampling
    n = args.num_samples
    texts = [""] * n
    emitted = [0] * n
    done = [False] * n
    holdback = max((len(s) for s in args.stop), default=1) - 1
    deadline = time.monotonic() + args.time_budget_s if args.time_budget_s else None
    logits = stepper.start(prompt_ids, n)
    for step in range(args.max_new_tokens):
        if deadline is not None and time.monotonic() > deadline:
            raise LimitExceeded(
                f"generation exceeded its time budget of {args.time_budget_s:g} s "
                f"after {step} tokens"
            )
        tokens = np.array([sample_next(logits[i], sampling, rng) for i in range(n)])
        for i in range(n):
            if done[i]:
                continue
            texts[i] += tokenizer.chars[int(tokens[i])]
            cut = _stop_at(texts[i], args.stop, emitted[i])
            if cut is not None:
                texts[i] = texts[i][:cut]
                done[i] = True
                final = len(texts[i])
            else:
                final = len(texts[i]) - holdback
            if final > emitted[i]:
                yield i, texts[i][emitted[i] : final]
                emitted[i] = final
        if all(done) or step == args.max_new_tokens - 1:
            break
        logits = stepper.advance(tokens)
    for i in range(n):
        if emitted[i] < len(texts[i]):
            yield i, texts[i][emitted[i] :]


def _stop_at(text: str, stops: tuple[str, ...], emitted: int) -> int | None:
    """Where the earliest stop string starts in ``text`` (searching from the new part)."""
    starts = [j for s in stops if (j := text.find(s, max(0, emitted - len(s)))) >= 0]
    return min(starts) if starts else None


def generate_texts(
    stepper: Stepper, tokenizer: CharTokenizer, prompt: str, args: GenerationArgs
) -> TextGenerationOutput:
    """Run :func:`decode_stream` to the end and collect each sample's text."""
    texts = [""] * args.num_samples
    for i, piece in decode_stream(stepper, tokenizer, prompt, args):
        texts[i] += piece
    reasons, counts = [], []
    for text in texts:
        # One character per token: only a sample cut at a stop string ends up shorter.
        reasons.append("stop" if len(text) < args.max_new_tokens else "length")
        counts.append(len(text))
    return TextGenerationOutput(texts, prompt, reasons, counts)


class TextGenerator:
    """``__call__`` and ``stream`` for any fitted text model with ``tokenizer_``/``stepper()``."""

    tokenizer_: CharTokenizer

    def stepper(self) -> Stepper:
        raise NotImplementedError

    def __call__(
        self,
        prompt: str = "",
        max_new_tokens: int = 200,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        stop: Sequence[str] = (),
        num_samples: int = 1,
        seed: int | None = None,
        time_budget_s: float | None = None,
    ) -> TextGenerationOutput:
        """Continue ``prompt`` ``num_samples`` times; the same seed gives the same texts."""
        args = GenerationArgs(
            max_new_tokens, temperature, top_k, top_p, tuple(stop), num_samples, seed, time_budget_s
        )
        return generate_texts(self.stepper(), self.tokenizer_, prompt, args)

    def stream(
        self,
        prompt: str = "",
        max_new_tokens: int = 200,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        stop: Sequence[str] = (),
        seed: int | None = None,
        time_budget_s: float | None = None,
    ) -> Iterator[str]:
        """One sample's text, piece by piece as it is generated (same text as ``__call__``)."""
        args = GenerationArgs(
            max_new_tokens, temperature, top_k, top_p, tuple(stop), 1, seed, time_budget_s
        )
        for _, piece in decode_stream(self.stepper(), self.tokenizer_, prompt, args):
            yield piece
