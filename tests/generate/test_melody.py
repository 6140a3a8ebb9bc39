"""Melody LSTM: learns a planted pattern, seeds, shapes, MIDI/WAV validity, save/load, errors."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import mido
import numpy as np
import pytest

from entertainai.errors import InputError, LimitExceeded, NotFittedError
from entertainai.generate import music_data as md
from entertainai.generate.markov import MarkovChain, MarkovConfig
from entertainai.generate.melody import MelodyConfig, MelodyData, MelodyGenerator
from entertainai.model import load_model

SCALE = [0, 2, 4, 5, 7, 9, 11, 12]
TINY = MelodyConfig(
    embed_dim=8,
    hidden=24,
    layers=1,
    dropout=0.0,
    lr=0.03,
    epochs=15,
    batch_size=4,
    transpose=2,
    window=64,
    seed=0,
)


def scales(n: int, seed: int) -> list[np.ndarray]:
    """Planted structure: ascending major scales in quarter notes from random tonics."""
    rng = np.random.default_rng(seed)
    vocab = TINY.vocab
    out = []
    for tonic in rng.integers(55, 68, size=n):
        steps = [int(tonic) + SCALE[i % 8] for i in range(12) for _ in range(4)]
        out.append(md.steps_to_tokens(steps, vocab))
    return out


@pytest.fixture(scope="module")
def data() -> MelodyData:
    return MelodyData(train=scales(24, 0), valid=scales(6, 1))


@pytest.fixture(scope="module")
def model(data: MelodyData) -> MelodyGenerator:
    return MelodyGenerator(TINY).fit(data)


def test_learns_the_planted_pattern_better_than_a_unigram(model, data):
    unigram = MarkovChain(MarkovConfig(order=0, n_symbols=TINY.vocab.size)).fit(data.train)
    baseline = unigram.nll(data.valid)
    assert model.nll(data.valid) < 0.7 * baseline
    assert model.history_[-1]["loss"] < model.history_[0]["loss"]


def test_same_seed_same_melody_and_valid_midi(model):
    a = model(primer="60,62,64", length_steps=32, temperature=0.8, seed=5)
    b = model(primer="60,62,64", length_steps=32, temperature=0.8, seed=5)
    c = model(primer="60,62,64", length_steps=32, temperature=1.5, seed=6)
    assert a.midi == b.midi and a.tokens.tolist() == b.tokens.tolist()
    assert c.tokens.tolist() != a.tokens.tolist()
    assert len(a.tokens) == 12 + 32 and a.primer_steps == 12 and a.wav is None
    assert md.tokens_to_steps(a.tokens[:12], TINY.vocab).tolist() == [60] * 4 + [62] * 4 + [64] * 4
    mid = mido.MidiFile(file=io.BytesIO(a.midi))
    ons = [m.note for m in mid.tracks[0] if m.type == "note_on"]
    assert ons == [n.pitch for n in a.notes]
    assert mid.length == pytest.approx(a.notes[-1].start * 0.15 + a.notes[-1].duration * 0.15)


def test_greedy_continues_the_scale(model):
    out = model(primer="60,62,64,65", length_steps=8, temperature=0.0)
    assert [n.pitch for n in out.notes][4:6] == [67, 69]


def test_key_tempo_and_wav(model):
    out = model(length_steps=48, temperature=0.0, key="D", tempo_bpm=150, wav=True, seed=1)
    assert out.key in ("D", "Dm") and out.tempo_bpm == 150
    with wave.open(io.BytesIO(out.wav)) as w:
        assert w.getframerate() == 16000 and w.getnframes() > 16000 * 48 * 0.1 * 0.9
    tempo = next(
        m.tempo for m in mido.MidiFile(file=io.BytesIO(out.midi)).tracks[0] if m.type == "set_tempo"
    )
    assert tempo == mido.bpm2tempo(150)


def test_save_load_gives_the_same_model(model, data, tmp_path: Path):
    model.save_pretrained(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded, MelodyGenerator) and loaded.config == TINY
    assert loaded.nll(data.valid) == pytest.approx(model.nll(data.valid), rel=1e-6)
    assert loaded(length_steps=16, seed=2).midi == model(length_steps=16, seed=2).midi
    (tmp_path / "m" / "weights.safetensors").write_bytes(b"junk")
    with pytest.raises(Exception, match="cannot load melody_lstm"):
        MelodyGenerator.from_pretrained(tmp_path / "m")


def test_errors(model):
    with pytest.raises(NotFittedError):
        MelodyGenerator(TINY)(length_steps=4)
    with pytest.raises(LimitExceeded):
        model(length_steps=0)
    with pytest.raises(LimitExceeded):
        model(length_steps=100_000)
    with pytest.raises(InputError, match="unknown key"):
        model(key="X#", length_steps=4)
    with pytest.raises(InputError, match="temperature"):
        model(temperature=-1, length_steps=4)
    with pytest.raises(InputError, match="primer item 1"):
        model(primer="do,re,mi", length_steps=4)
    with pytest.raises(InputError, match="no training melodies"):
        MelodyGenerator(TINY).fit(MelodyData(train=[]))
