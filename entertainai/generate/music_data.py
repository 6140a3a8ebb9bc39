"""Melody corpora, the note-event encoding, MIDI writing (mido) and a tiny WAV synth.

Encoding: one token per 16th-note step, so a model's NLL per token *is* its NLL per step::

    REST (0)   nothing sounds at this step
    HOLD (1)   the note sounding at the previous step goes on
    ONSET(p)   a new note of MIDI pitch p starts (token 2 + p - low, p in [low, high])

A step-grid corpus without articulation (JSB chorales: "does not distinguish between held and
repeated notes") encodes a repeated pitch as HOLD, so the token sequence is a one-to-one map
of the pitch-per-step sequence and an NLL over tokens is an NLL over pitches per step. MIDI
files keep re-articulated notes as new onsets.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from entertainai.errors import InputError

REST, HOLD = 0, 1
STEPS_PER_BEAT = 4  # 16th-note grid
LOW, HIGH = 36, 96  # C2..C7: the pitch range of the default vocabulary
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLATS = {"Db": 1, "Eb": 3, "Gb": 6, "Ab": 8, "Bb": 10, "Cb": 11, "Fb": 4}
# Krumhansl-Kessler key profiles (probe-tone ratings), for key estimation.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@dataclass(frozen=True)
class Vocab:
    """Token <-> pitch mapping for pitches ``low..high``."""

    low: int = LOW
    high: int = HIGH

    @property
    def size(self) -> int:
        return 2 + self.high - self.low + 1

    def onset(self, pitch: int) -> int:
        if not self.low <= pitch <= self.high:
            raise InputError(f"pitch {pitch} is outside the model's range {self.low}..{self.high}")
        return 2 + pitch - self.low

    def pitch(self, token: int) -> int:
        return token - 2 + self.low


@dataclass(frozen=True)
class NoteEvent:
    pitch: int  # MIDI note number
    start: int  # in 16th-note steps
    duration: int  # in 16th-note steps


# ---- encoding ------------------------------------------------------------------------------


def steps_to_tokens(
    pitches: Sequence[int] | np.ndarray,
    vocab: Vocab,
    onsets: Sequence[bool] | np.ndarray | None = None,
) -> np.ndarray:
    """Pitch per step (-1 = rest) -> tokens. Without ``onsets``, a repeated pitch is held."""
    tokens = np.empty(len(pitches), dtype=np.int64)
    previous = -1
    for t, p in enumerate(pitches):
        p = int(p)
        if p < 0:
            tokens[t] = REST
        elif p == previous and not (onsets is not None and onsets[t]):
            tokens[t] = HOLD
        else:
            tokens[t] = vocab.onset(p)
        previous = p
    return tokens


def tokens_to_steps(tokens: Sequence[int] | np.ndarray, vocab: Vocab) -> np.ndarray:
    """Tokens -> pitch per step (-1 = rest); a HOLD after a rest stays a rest."""
    steps = np.full(len(tokens), -1, dtype=np.int64)
    current = -1
    for t, tok in enumerate(tokens):
        tok = int(tok)
        if tok == REST:
            current = -1
        elif tok != HOLD:
            current = vocab.pitch(tok)
        steps[t] = current
    return steps


def sounding(tokens: np.ndarray, vocab: Vocab) -> np.ndarray:
    """The pitch token sounding after each step (REST when silent): a model input feature."""
    steps = tokens_to_steps(tokens, vocab)
    return np.where(steps < 0, REST, steps - vocab.low + 2)


def tokens_to_notes(tokens: Sequence[int], vocab: Vocab) -> list[NoteEvent]:
    notes: list[NoteEvent] = []
    pitch, start = -1, 0
    for t, tok in enumerate(list(tokens) + [REST]):
        tok = int(tok)
        if tok == HOLD and pitch >= 0:
            continue
        if pitch >= 0:
            notes.append(NoteEvent(pitch, start, t - start))
        pitch, start = (vocab.pitch(tok), t) if tok not in (REST, HOLD) else (-1, t)
    return notes


def notes_to_tokens(notes: Sequence[NoteEvent], vocab: Vocab) -> np.ndarray:
    n_steps = max((n.start + n.duration for n in notes), default=0)
    tokens = np.full(n_steps, REST, dtype=np.int64)
    for n in sorted(notes, key=lambda n: n.start):
        tokens[n.start] = vocab.onset(n.pitch)
        tokens[n.start + 1 : n.start + n.duration] = HOLD
    return tokens


def fold_pitch(pitch: int, vocab: Vocab) -> int:
    """Move a pitch by octaves into the vocabulary's range."""
    while pitch < vocab.low:
        pitch += 12
    while pitch > vocab.high:
        pitch -= 12
    return pitch


def transpose_tokens(tokens: np.ndarray, semitones: int, vocab: Vocab) -> np.ndarray | None:
    """Tokens moved by ``semitones``; None when a note would leave the range."""
    pitched = tokens >= 2
    moved = tokens.copy()
    moved[pitched] += semitones
    if pitched.any() and (moved[pitched].min() < 2 or moved[pitched].max() >= vocab.size):
        return None
    return moved


def parse_primer(text: str, vocab: Vocab) -> np.ndarray:
    """``"60,62:2,r:4,64:8"``: MIDI pitches (or ``r`` for a rest), each ``:STEPS`` long
    (16th-note steps, default 4 = a quarter note) -> tokens."""
    tokens: list[int] = []
    for n, part in enumerate(p.strip() for p in text.split(",")):
        if not part:
            continue
        value, _, steps_text = part.partition(":")
        try:
            steps = int(steps_text) if steps_text else STEPS_PER_BEAT
            pitch = -1 if value.strip().lower() in ("r", "rest", "-") else int(value)
        except ValueError:
            raise InputError(
                f"primer item {n + 1} {part!r}: expected PITCH[:STEPS] or r[:STEPS]"
            ) from None
        if not 1 <= steps <= 64:
            raise InputError(f"primer item {n + 1} {part!r}: steps must be in 1..64")
        if pitch >= 0 and not vocab.low <= pitch <= vocab.high:
            raise InputError(
                f"primer item {n + 1} {part!r}: pitch outside {vocab.low}..{vocab.high}"
            )
        tokens += [REST] * steps if pitch < 0 else [vocab.onset(pitch)] + [HOLD] * (steps - 1)
    return np.asarray(tokens, dtype=np.int64)


# ---- corpora -------------------------------------------------------------------------------

DEMO = "demo"  # the data name of the synthetic melodies and recordings below
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
# The demo grammar. Each bar plays one pattern over its chord's root; a pattern is
# (scale degree above the root, 16th steps) per note and fills the 16 steps of a bar.
DEMO_PATTERNS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((0, 4), (2, 4), (4, 4), (7, 4)),  # arpeggio up
    ((7, 4), (4, 4), (2, 4), (0, 4)),  # arpeggio down
    ((0, 2), (1, 2), (2, 2), (3, 2), (4, 4), (2, 4)),  # run up, step back
    ((4, 2), (3, 2), (2, 2), (1, 2), (0, 8)),  # run down to the root
)
DEMO_PROGRESSION = (0, 3, 4, 0)  # I IV V I: the chord root (scale degree) of each bar
DEMO_BARS = 8  # 128 steps: one default training window
DEMO_TONICS = range(55, 67)  # G3..F#4: with the patterns' reach (+19) and a transpose of
# +-6 every note stays inside the default vocabulary
_DEMO_PARTS = {"train": (0, 96), "valid": (1, 12), "test": (2, 12)}


def demo_melodies(part: str = "train") -> list[list[NoteEvent]]:
    """Synthetic melodies with planted structure (the ``demo`` corpus; no download).

    Every melody is in one major key (random tonic) and is ``DEMO_BARS`` bars over a repeated
    I-IV-V-I progression, each bar one of ``DEMO_PATTERNS`` on its chord's root, ending on the
    tonic held for a bar: every pitch is in the key, every bar starts on a chord tone and
    every note lasts 2, 4, 8 or 16 steps. Parts are disjoint seeds: "train" (96 melodies),
    "valid" and "test" (12 each).
    """
    if part not in _DEMO_PARTS:
        raise InputError(f"unknown part {part!r}; use {', '.join(_DEMO_PARTS)}")
    seed, n = _DEMO_PARTS[part]
    rng = np.random.default_rng([seed, 2026])
    melodies = []
    for _ in range(n):
        tonic = int(rng.choice(DEMO_TONICS))
        notes: list[NoteEvent] = []
        for bar in range(DEMO_BARS):
            root = DEMO_PROGRESSION[bar % len(DEMO_PROGRESSION)]
            last = bar == DEMO_BARS - 1
            pattern = ((0, 16),) if last else DEMO_PATTERNS[int(rng.integers(len(DEMO_PATTERNS)))]
            start = bar * 16
            for degree, steps in pattern:
                d = degree + (0 if last else root)
                pitch = tonic + 12 * (d // 7) + MAJOR_SCALE[d % 7]
                notes.append(NoteEvent(pitch, start, steps))
                start += steps
        melodies.append(notes)
    return melodies


def demo_recordings(sample_rate: int, part: str = "all") -> list[np.ndarray]:
    """Short synthetic tone recordings (float32 at ``sample_rate``): each bar of the demo
    melodies of a part, rendered by ``render`` at 240 bpm (about 1.1 s a bar).

    ``part`` follows the audio split: "train" (the train melodies' bars), "test" (the test
    melodies') or "all". A waveform model has periodic tones, note onsets and decays to learn.
    """
    parts = {"train": ("train",), "test": ("test",), "all": ("train", "test")}
    if part not in parts:
        raise InputError(f"unknown split part {part!r}; use train, test or all")
    out = []
    for name in parts[part]:
        for melody in demo_melodies(name)[:6]:  # 6 melodies x 8 bars: 48 recordings a part
            for bar in range(DEMO_BARS):
                notes = [
                    NoteEvent(n.pitch, n.start - 16 * bar, n.duration)
                    for n in melody
                    if 16 * bar <= n.start < 16 * (bar + 1)
                ]
                out.append(render(notes, tempo_bpm=240.0, sample_rate=sample_rate))
    return out


def load_jsb(path: str | os.PathLike[str], part: str, vocab: Vocab) -> list[np.ndarray]:
    """The soprano line (highest pitch per step) of every chorale in one part of a JSB JSON."""
    source = Path(path)
    try:
        data = json.loads(source.read_text())
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", location=str(source)) from None
    except ValueError as exc:
        raise InputError(f"not valid JSON ({exc})", location=str(source)) from None
    if not isinstance(data, dict) or part not in data:
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise InputError(f"no {part!r} part (has {keys})", location=str(source))
    sequences = []
    for i, chorale in enumerate(data[part]):
        try:
            soprano = [
                fold_pitch(max(int(p) for p in step), vocab) if step else -1 for step in chorale
            ]
        except (TypeError, ValueError):
            raise InputError(
                "a step is not a list of MIDI pitches", location=f"{source}:{part}[{i}]"
            ) from None
        if soprano:
            sequences.append(steps_to_tokens(soprano, vocab))
    return sequences


def read_midi_melody(
    source: str | os.PathLike[str] | bytes, vocab: Vocab, *, name: str | None = None
) -> np.ndarray:
    """The top line of a MIDI file (all tracks but drums), quantised to 16ths, as tokens."""
    import mido

    label = name or (str(source) if not isinstance(source, bytes) else "MIDI data")
    try:
        mid = (
            mido.MidiFile(file=io.BytesIO(source))
            if isinstance(source, bytes)
            else mido.MidiFile(source)
        )
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise InputError(f"not a readable MIDI file ({exc})", location=label) from None
    ticks_per_step = max(1, mid.ticks_per_beat // STEPS_PER_BEAT)
    notes: list[tuple[int, int, int]] = []  # (start_tick, end_tick, pitch)
    for track in mid.tracks:
        now, open_notes = 0, dict[int, int]()
        for msg in track:
            now += msg.time
            if msg.type not in ("note_on", "note_off") or msg.channel == 9:  # 9: drums
                continue
            key = msg.note
            if msg.type == "note_on" and msg.velocity > 0:
                open_notes.setdefault(key, now)
            elif key in open_notes:
                notes.append((open_notes.pop(key), now, key))
    if not notes:
        raise InputError("no notes (outside the drum channel)", location=label)
    n_steps = max(round(end / ticks_per_step) for _, end, _ in notes)
    steps = np.full(n_steps, -1, dtype=np.int64)
    onsets = np.zeros(n_steps, dtype=bool)
    for start, end, pitch in sorted(notes, key=lambda n: n[2]):  # higher pitches win
        a = round(start / ticks_per_step)
        b = max(a + 1, round(end / ticks_per_step))
        if a >= n_steps:
            continue
        steps[a:b] = fold_pitch(pitch, vocab)
        onsets[a:b] = False
        onsets[a] = True
    return steps_to_tokens(steps, vocab, onsets)


def load_midi_folder(folder: str | os.PathLike[str], vocab: Vocab) -> list[np.ndarray]:
    root = Path(folder)
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    if not files:
        raise InputError("no .mid/.midi files found", location=str(root))
    return [read_midi_melody(p, vocab) for p in files]


def load_corpus(path: str | os.PathLike[str], part: str, vocab: Vocab) -> list[np.ndarray]:
    """Melodies of one split part ("train", "valid", "test") of a corpus.

    A ``.json`` file is a JSB-style corpus with its own parts; a folder of MIDI files is split
    by file: every 10th file (sorted) is "valid", the next one "test", the rest "train"
    (under 10 files, every part is all of them). ``"demo"`` is the synthetic corpus of
    ``demo_melodies``.
    """
    if str(path) == DEMO:
        return [notes_to_tokens(notes, vocab) for notes in demo_melodies(part)]
    source = Path(path)
    if source.suffix.lower() == ".json":
        return load_jsb(source, part, vocab)
    if not source.is_dir():
        raise InputError(
            "expected a JSB-style .json file or a folder of MIDI files", location=str(source)
        )
    melodies = load_midi_folder(source, vocab)
    if part not in ("train", "valid", "test"):
        raise InputError(f"unknown part {part!r}; use train, valid or test")
    if len(melodies) < 10:
        return melodies  # too few files to hold any out: every part sees them all
    role = {0: "valid", 1: "test"}
    return [m for i, m in enumerate(melodies) if role.get(i % 10, "train") == part]


# ---- keys, MIDI and audio out --------------------------------------------------------------


def parse_key(key: str) -> tuple[int, str]:
    """``"C"``, ``"F#"``, ``"Bb"``, ``"Am"``, ``"D minor"`` -> (tonic pitch class, mode)."""
    text = key.strip().replace(" ", "")
    mode = "major"
    for suffix in ("minor", "min", "m"):
        if text.lower().endswith(suffix) and len(text) > len(suffix):
            text, mode = text[: -len(suffix)], "minor"
            break
    else:
        for suffix in ("major", "maj"):
            if text.lower().endswith(suffix):
                text = text[: -len(suffix)]
    name = text[:1].upper() + text[1:]
    if name in NOTE_NAMES:
        return NOTE_NAMES.index(name), mode
    if name in _FLATS:
        return _FLATS[name], mode
    raise InputError(f"unknown key {key!r}: use a note name with optional m/minor, e.g. 'F#m'")


def key_name(tonic: int, mode: str) -> str:
    return NOTE_NAMES[tonic % 12] + ("m" if mode == "minor" else "")


def estimate_key(notes: Sequence[NoteEvent]) -> tuple[int, str]:
    """Krumhansl-Schmuckler: the key whose profile best correlates with pitch-class durations."""
    histogram = np.zeros(12)
    for n in notes:
        histogram[n.pitch % 12] += n.duration
    if histogram.sum() == 0:
        return 0, "major"
    best, best_score = (0, "major"), -np.inf
    for mode, profile in (("major", _MAJOR), ("minor", _MINOR)):
        for tonic in range(12):
            score = np.corrcoef(histogram, np.roll(profile, tonic))[0, 1]
            if score > best_score:
                best, best_score = (tonic, mode), score
    return best


def transpose_to_key(
    notes: Sequence[NoteEvent], key: str, vocab: Vocab
) -> tuple[list[NoteEvent], int]:
    """Move a melody by the smallest shift that puts its estimated tonic on ``key``'s tonic.

    The mode is the melody's own (a major tune asked for "Am" ends up in A major): transposition
    cannot change mode without rewriting intervals. Returns the notes and the shift.
    """
    target, _ = parse_key(key)
    tonic, _ = estimate_key(notes)
    shift = (target - tonic) % 12
    if shift > 6:
        shift -= 12
    moved = [NoteEvent(fold_pitch(n.pitch + shift, vocab), n.start, n.duration) for n in notes]
    return moved, shift


def to_midi(
    notes: Sequence[NoteEvent],
    *,
    tempo_bpm: float = 100.0,
    program: int = 0,
    velocity: int = 90,
    ticks_per_beat: int = 480,
) -> bytes:
    """A standard MIDI file (type 0, one track) of a monophonic melody."""
    import mido

    if not 20 <= tempo_bpm <= 300:
        raise InputError(f"tempo must be in 20..300 bpm, got {tempo_bpm}")
    if not 0 <= program <= 127:
        raise InputError(f"program must be in 0..127, got {program}")
    ticks = ticks_per_beat // STEPS_PER_BEAT
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    track.append(mido.Message("program_change", program=program, time=0))
    now = 0
    for n in sorted(notes, key=lambda n: n.start):
        track.append(
            mido.Message("note_on", note=n.pitch, velocity=velocity, time=n.start * ticks - now)
        )
        now = n.start * ticks
        track.append(mido.Message("note_off", note=n.pitch, velocity=0, time=n.duration * ticks))
        now += n.duration * ticks
    track.append(mido.MetaMessage("end_of_track", time=0))
    mid = mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat)
    mid.tracks.append(track)
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()


def render(
    notes: Sequence[NoteEvent], *, tempo_bpm: float = 100.0, sample_rate: int = 16000
) -> np.ndarray:
    """Additive synthesis: each note a few decaying harmonics under an attack/release envelope."""
    step_s = 60.0 / tempo_bpm / STEPS_PER_BEAT
    total = max((n.start + n.duration for n in notes), default=0)
    out = np.zeros(int(total * step_s * sample_rate) + sample_rate // 10, dtype=np.float64)
    for n in notes:
        start = int(n.start * step_s * sample_rate)
        length = max(1, int(n.duration * step_s * sample_rate))
        t = np.arange(length) / sample_rate
        freq = 440.0 * 2.0 ** ((n.pitch - 69) / 12)
        tone = sum(
            np.sin(2 * np.pi * freq * h * t) / h**1.5
            for h in (1, 2, 3, 4)
            if freq * h < sample_rate / 2
        )
        attack, release = min(length, int(0.01 * sample_rate)), min(length, int(0.05 * sample_rate))
        envelope = np.exp(-2.0 * t)
        envelope[:attack] *= np.linspace(0.0, 1.0, attack, endpoint=False)
        envelope[length - release :] *= np.linspace(1.0, 0.0, release)
        out[start : start + length] += 0.3 * tone * envelope
    return np.clip(out, -1.0, 1.0).astype(np.float32)
