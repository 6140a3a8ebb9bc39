"""WAV I/O, resampling and mu-law companding."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from entertainai.errors import InputError
from entertainai.generate import audio_io


def sine(freq: float = 440.0, rate: int = 8000, seconds: float = 0.25) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_wav_round_trip_is_16_bit_mono(tmp_path: Path):
    x = sine()
    path = audio_io.write_wav(tmp_path / "a.wav", x, 8000)
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
    y, rate = audio_io.read_wav(path)
    assert rate == 8000 and y.shape == x.shape and np.abs(y - x).max() < 1e-4


def test_stereo_and_8_bit_are_read_as_mono(tmp_path: Path):
    path = tmp_path / "s.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes([128, 255, 128, 1] * 10))  # left silent, right +/- full
    y, _ = audio_io.read_wav(path)
    assert y.shape == (20,) and np.abs(y).max() < 0.51


def test_other_rates_are_resampled_or_refused_by_name(tmp_path: Path):
    path = audio_io.write_wav(tmp_path / "hi.wav", sine(rate=16000), 16000)
    y = audio_io.load_wav(path, 8000)
    assert abs(len(y) - 2000) <= 1
    # The 440 Hz tone survives resampling: its spectrum peaks at 440 Hz.
    peak = np.argmax(np.abs(np.fft.rfft(y))) * 8000 / len(y)
    assert abs(peak - 440) < 10
    with pytest.raises(InputError, match=r"hi\.wav.*16000 Hz, expected 8000"):
        audio_io.load_wav(path, 8000, allow_resample=False)


def test_bad_files_name_themselves(tmp_path: Path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really")
    with pytest.raises(InputError, match="bad.wav"):
        audio_io.read_wav(bad)
    with pytest.raises(InputError, match="missing.wav"):
        audio_io.read_wav(tmp_path / "missing.wav")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .wav files"):
        audio_io.list_wavs(tmp_path / "empty")


def test_mu_law_round_trip_and_silence_class():
    x = np.linspace(-1, 1, 1001)
    codes = audio_io.mu_law_encode(x)
    assert codes.min() == 0 and codes.max() == 255 and np.all(np.diff(codes) >= 0)
    assert audio_io.mu_law_encode(np.zeros(1))[0] == 128
    back = audio_io.mu_law_decode(codes)
    # Companding error is small near zero and relative elsewhere.
    assert np.abs(back - x).max() < 0.04
    assert np.abs(back[np.abs(x) < 0.01] - x[np.abs(x) < 0.01]).max() < 0.001


def test_fsdd_split_holds_out_takes_0_to_4(tmp_path: Path):
    for name in ("3_jackson_0", "3_jackson_4", "3_jackson_5", "7_theo_49"):
        audio_io.write_wav(tmp_path / f"{name}.wav", sine(seconds=0.01), 8000)
    files = audio_io.list_wavs(tmp_path)
    assert [p.stem for p in audio_io.split_files(files, "test")] == ["3_jackson_0", "3_jackson_4"]
    assert [p.stem for p in audio_io.split_files(files, "train")] == ["3_jackson_5", "7_theo_49"]
    codes = audio_io.load_folder(tmp_path, 8000, "train")
    assert len(codes) == 2 and codes[0].dtype == np.int64
