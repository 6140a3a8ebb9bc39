"""Corpus loading, the held-out tail, the tokenizer and the shared decoding loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from entertainai.errors import InputError, NotFoundError
from entertainai.generate.ngram import NGramConfig, NGramLM
from entertainai.generate.text_corpus import (
    CharTokenizer,
    GenerationArgs,
    generate_texts,
    load_corpus,
    split_tail,
)


def test_file_folder_and_dataset(tmp_path: Path, demo_dir: Path) -> None:
    (tmp_path / "a.txt").write_text("héllo\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("world\n")
    assert load_corpus(tmp_path / "a.txt") == "héllo\n"
    assert load_corpus(tmp_path) == "héllo\n\n\nworld\n"
    text = load_corpus(demo_dir)
    assert len(text) > 1000 and text.count("\n") > 100


def test_clear_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="missing.txt"):
        load_corpus(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(InputError, match="empty.txt: the corpus is empty"):
        load_corpus(tmp_path / "empty.txt")
    (tmp_path / "latin.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin.txt: not UTF-8 text \(byte 3"):
        load_corpus(tmp_path / "latin.txt")
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="no .txt files"):
        load_corpus(tmp_path / "d")


def test_split_is_the_tail() -> None:
    text = "".join(chr(97 + i % 26) for i in range(1000))
    train, val = split_tail(text, 0.1)
    assert train + val == text and len(val) == 100
    with pytest.raises(InputError):
        split_tail("ab", 0.1)


def test_tokenizer_round_trip_and_unknown_chars(tmp_path: Path) -> None:
    tok = CharTokenizer.fit("hello world")
    assert tok.decode(tok.encode("world hello")) == "world hello"
    tok.save(tmp_path)
    assert CharTokenizer.load(tmp_path) == tok
    with pytest.raises(InputError, match="prompt has characters this model never saw: 'Z'"):
        tok.encode("Zoo", what="prompt")


class _Cycle:
    """A 'model' whose logits always favour the next letter of the alphabet (a to e)."""

    def start(self, prompt_ids: np.ndarray, n: int) -> np.ndarray:
        self.last = np.full(n, prompt_ids[-1])
        return self._logits()

    def advance(self, tokens: np.ndarray) -> np.ndarray:
        self.last = tokens
        return self._logits()

    def _logits(self) -> np.ndarray:
        logits = np.zeros((len(self.last), 5))
        logits[np.arange(len(self.last)), (self.last + 1) % 5] = 3.0
        return logits


def test_decoding_greedy_stop_and_seeds() -> None:
    tok = CharTokenizer(tuple("abcde"))
    greedy = generate_texts(_Cycle(), tok, "a", GenerationArgs(max_new_tokens=7, temperature=0))
    assert greedy.texts == ["bcdeabc"] and greedy.finish_reasons == ["length"]
    stopped = generate_texts(
        _Cycle(), tok, "a", GenerationArgs(max_new_tokens=7, temperature=0, stop=("ea",))
    )
    assert stopped.texts == ["bcd"] and stopped.finish_reasons == ["stop"]
    args = GenerationArgs(max_new_tokens=30, temperature=1.5, num_samples=3, seed=4)
    first = generate_texts(_Cycle(), tok, "a", args)
    assert first == generate_texts(_Cycle(), tok, "a", args)
    assert len(set(first.texts)) > 1  # samples differ from each other
    other = GenerationArgs(max_new_tokens=30, temperature=1.5, num_samples=3, seed=5)
    assert generate_texts(_Cycle(), tok, "a", other).texts != first.texts
    with pytest.raises(InputError, match="top_p"):
        GenerationArgs(top_p=1.5)
    with pytest.raises(InputError, match="max_new_tokens"):
        GenerationArgs(max_new_tokens=0)


def test_ngram_normalises_and_beats_lower_orders() -> None:
    rng = np.random.default_rng(0)
    words = ["the ", "cat ", "sat ", "on ", "mat ", "dog ", "log "]
    text = "".join(words[i] for i in rng.integers(0, len(words), 4000))
    tok = CharTokenizer.fit(text)
    train, val = (tok.encode(t) for t in split_tail(text))
    scores = {
        n: NGramLM(NGramConfig(n)).fit(train, tok.vocab_size).nats_per_char(val) for n in (1, 3)
    }
    assert scores[3] < scores[1] < np.log(tok.vocab_size)
    model = NGramLM(NGramConfig(3)).fit(train, tok.vocab_size)
    for context in ("the", "ttt", "og "):
        ids = tok.encode(context[1:])
        total = sum(model.probabilities(np.append(ids, w))[-1] for w in range(tok.vocab_size))
        assert total == pytest.approx(1.0)
