"""WAV in and out (stdlib ``wave``), sample-rate checks and 8-bit mu-law companding.

Samples are float32 in [-1, 1] everywhere in the core; files are 16-bit PCM mono when written.
Reading accepts 8/16/24/32-bit PCM, mixes channels down to mono and either resamples to the
wanted rate (polyphase, scipy) or refuses the file with a message naming it.
"""

from __future__ import annotations

import io
import os
import re
import wave
import zlib
from collections.abc import Iterable
from math import gcd
from pathlib import Path

import numpy as np

from entertainai.errors import InputError
from entertainai.generate import music_data

MU = 255  # 8-bit mu-law: 256 classes
_FSDD_NAME = re.compile(r"^(?P<label>[^_]+)_(?P<speaker>[^_]+)_(?P<take>\d+)$")


def read_wav(
    source: str | os.PathLike[str] | bytes, *, name: str | None = None
) -> tuple[np.ndarray, int]:
    """(mono float32 samples in [-1, 1], sample rate) of a PCM WAV file or its bytes."""
    label = name or (str(source) if not isinstance(source, bytes) else "WAV data")
    try:
        handle = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", location=label) from None
    try:
        with handle, wave.open(handle, "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise InputError(f"not a PCM WAV file ({exc})", location=label) from None
    if width == 1:  # 8-bit WAV is unsigned
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        data = ints.astype(np.float32) / float(1 << 23)
    elif width == 4:
        data = np.frombuffer(raw, "<i4").astype(np.float32) / float(1 << 31)
    else:
        raise InputError(f"unsupported sample width {width} bytes", location=label)
    if channels > 1:
        data = data[: len(data) - len(data) % channels].reshape(-1, channels).mean(axis=1)
    return np.ascontiguousarray(data, dtype=np.float32), rate


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """16-bit PCM mono WAV bytes of float samples (clipped to [-1, 1])."""
    if sample_rate <= 0:
        raise InputError(f"sample rate must be positive, got {sample_rate}")
    pcm = (np.clip(np.asarray(samples, np.float32), -1.0, 1.0) * 32767.0).round().astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())
    return buffer.getvalue()


def write_wav(path: str | os.PathLike[str], samples: np.ndarray, sample_rate: int) -> Path:
    target = Path(path)
    target.write_bytes(wav_bytes(samples, sample_rate))
    return target


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Polyphase resampling (anti-aliased) between integer rates."""
    if source_rate == target_rate:
        return samples
    from scipy.signal import resample_poly  # only when a rate actually differs

    g = gcd(source_rate, target_rate)
    out = resample_poly(samples, target_rate // g, source_rate // g)
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def load_wav(
    source: str | os.PathLike[str] | bytes,
    sample_rate: int,
    *,
    allow_resample: bool = True,
    name: str | None = None,
) -> np.ndarray:
    """Samples of a WAV at ``sample_rate``: resampled, or refused when ``allow_resample`` is off."""
    samples, rate = read_wav(source, name=name)
    if rate != sample_rate:
        if not allow_resample:
            label = name or (str(source) if not isinstance(source, bytes) else "WAV data")
            raise InputError(
                f"sample rate {rate} Hz, expected {sample_rate} Hz (resample it first)",
                location=label,
            )
        samples = resample(samples, rate, sample_rate)
    return samples


def mu_law_encode(samples: np.ndarray, mu: int = MU) -> np.ndarray:
    """Float samples in [-1, 1] -> integer classes 0..mu (128 is silence for mu=255)."""
    x = np.clip(np.asarray(samples, np.float64), -1.0, 1.0)
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    return np.clip(np.floor((y + 1.0) / 2.0 * mu + 0.5), 0, mu).astype(np.int64)


def mu_law_decode(codes: np.ndarray, mu: int = MU) -> np.ndarray:
    """Integer classes 0..mu -> float32 samples in [-1, 1] (inverse of ``mu_law_encode``)."""
    y = 2.0 * np.asarray(codes, np.float64) / mu - 1.0
    return (np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu).astype(np.float32)


def list_wavs(folder: str | os.PathLike[str]) -> list[Path]:
    """Every ``*.wav`` under ``folder`` (sorted); a clear error when there is none."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError("not a directory of WAV files", location=str(root))
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())
    if not files:
        raise InputError("no .wav files found", location=str(root))
    return files


def is_holdout(path: Path, holdout_takes: int = 5, holdout_fraction: float = 0.1) -> bool:
    """The standard split: FSDD-style names ``{label}_{speaker}_{take}`` hold out takes
    ``0..holdout_takes-1``; other names hold out a stable hash-chosen ``holdout_fraction``."""
    match = _FSDD_NAME.match(path.stem)
    if match:
        return int(match["take"]) < holdout_takes
    return (zlib.crc32(path.name.encode()) % 1000) < holdout_fraction * 1000


def split_files(paths: Iterable[Path], part: str) -> list[Path]:
    """``part``: "train", "test" (the held-out takes) or "all"."""
    if part not in ("train", "test", "all"):
        raise InputError(f"unknown split part {part!r}; use train, test or all")
    paths = list(paths)
    if part == "all":
        return paths
    return [p for p in paths if is_holdout(p) == (part == "test")]


def load_folder(
    folder: str | os.PathLike[str], sample_rate: int, part: str = "all"
) -> list[np.ndarray]:
    """The mu-law codes of every WAV in ``folder`` (one split part), at ``sample_rate``.

    ``folder`` ``"demo"`` is the synthetic tones of ``music_data.demo_recordings`` instead.
    """
    if str(folder) == music_data.DEMO:
        return [mu_law_encode(x) for x in music_data.demo_recordings(sample_rate, part)]
    files = split_files(list_wavs(folder), part)
    if not files:
        raise InputError(f"no WAV files in the {part!r} part of the split", location=str(folder))
    return [mu_law_encode(load_wav(p, sample_rate)) for p in files]
