"""WaveNet: learns sine tones, fast generation equals the convolution, seeds, WAV, save/load."""

from __future__ import annotations

import io
import math
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from entertainai.errors import InputError, LimitExceeded, NotFittedError
from entertainai.generate import audio_io
from entertainai.generate.markov import MarkovChain, MarkovConfig
from entertainai.generate.wavenet import (
    CLASSES,
    SILENCE,
    AudioData,
    WaveNet,
    WaveNetConfig,
    _Incremental,
    load_audio_data,
)
from entertainai.model import load_model

RATE = 8000
TINY = WaveNetConfig(
    residual_channels=8,
    skip_channels=16,
    layers_per_stack=4,
    stacks=1,
    epochs=3,
    steps_per_epoch=20,
    batch_size=4,
    crop=256,
    lr=1e-2,
    seed=0,
)


def tone(freq: float, seconds: float = 0.4, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (0.5 * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> AudioData:
    # Tones of random pitch and phase; validation tones are new ones in the same range.
    rng = np.random.default_rng(0)
    train = [
        audio_io.mu_law_encode(tone(f, 0.4, phase=p))
        for f, p in zip(rng.uniform(100, 300, 8), rng.uniform(0, 2 * np.pi, 8), strict=True)
    ]
    valid = [audio_io.mu_law_encode(tone(f, 0.2, phase=p)) for f, p in ((150, 1.0), (250, 2.0))]
    return AudioData(train=train, valid=valid)


@pytest.fixture(scope="module")
def model(data: AudioData) -> WaveNet:
    return WaveNet(TINY).fit(data)


def test_learns_tones_far_better_than_a_unigram(model, data):
    unigram = MarkovChain(MarkovConfig(order=0, n_symbols=CLASSES)).fit(data.train)
    baseline = unigram.nll(data.valid) / math.log(2)
    assert model.bits_per_sample(data.valid) < 0.8 * baseline  # measured 0.71
    assert model.history_[-1]["valid_bits"] < model.history_[0]["valid_bits"]


@torch.no_grad()
def test_fast_generation_equals_the_convolution(model, data):
    rf = TINY.receptive_field
    history = np.concatenate([np.full(rf, SILENCE), data.valid[0][:120]])
    full = model.module_(torch.as_tensor(history[None]))[0].numpy()
    _, layers = model.module_(torch.as_tensor(history[None, :rf]), return_layers=True)
    fast = _Incremental(model.module_)
    fast.start([layer[0].numpy() for layer in layers])
    for i in range(100):
        np.testing.assert_allclose(fast.step(int(history[rf + i])), full[:, rf + i], atol=1e-4)


def test_seeded_generation_and_wav(model):
    a = model(num_samples=400, seed=3)
    b = model(num_samples=400, seed=3)
    c = model(num_samples=400, seed=4)
    assert a.wav == b.wav and a.codes.shape == (400,) and not np.array_equal(a.codes, c.codes)
    with wave.open(io.BytesIO(a.wav)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (RATE, 1, 400)
    primed = model(seconds=0.05, seed=1, primer=audio_io.wav_bytes(tone(300, 0.1), RATE))
    assert len(primed.samples) == 400 and primed.sample_rate == RATE


def test_save_load_equality(model, data, tmp_path: Path):
    model.save_pretrained(tmp_path / "w")
    loaded = load_model(tmp_path / "w")
    assert isinstance(loaded, WaveNet) and loaded.config == TINY
    assert loaded.bits_per_sample(data.valid) == pytest.approx(model.bits_per_sample(data.valid))
    assert loaded(num_samples=200, seed=9).wav == model(num_samples=200, seed=9).wav


def test_errors(model, tmp_path: Path):
    with pytest.raises(NotFittedError):
        WaveNet(TINY)(num_samples=10)
    with pytest.raises(InputError, match="exactly one"):
        model(seconds=1, num_samples=10)
    with pytest.raises(LimitExceeded):
        model(seconds=3600)
    with pytest.raises(LimitExceeded, match="longer than"):
        model(seconds=20, max_time_s=0.01)
    with pytest.raises(InputError, match="primer WAV"):
        model(num_samples=10, primer=b"not a wav")
    with pytest.raises(InputError, match="no .wav files"):
        load_audio_data(tmp_path)


def test_folder_split(tmp_path: Path):
    for take in range(8):
        audio_io.write_wav(tmp_path / f"1_anna_{take}.wav", tone(300, 0.05), 16000)
    data = load_audio_data(tmp_path, TINY)  # takes 5..7 train (resampled to 8 kHz)
    assert len(data.train) == 3 and all(abs(len(x) - 200) <= 1 for x in data.train)
