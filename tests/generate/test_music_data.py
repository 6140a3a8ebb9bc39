"""Melody corpora, the step-token encoding, keys, MIDI writing/reading and the WAV synth."""

from __future__ import annotations

import io
import json
from pathlib import Path

import mido
import numpy as np
import pytest

from entertainai.errors import InputError
from entertainai.generate import audio_io
from entertainai.generate import music_data as md

V = md.Vocab()


def test_steps_tokens_notes_round_trip():
    steps = [60, 60, 62, -1, -1, 64, 64, 64]
    tokens = md.steps_to_tokens(steps, V)
    assert tokens.tolist() == [
        V.onset(60),
        md.HOLD,
        V.onset(62),
        md.REST,
        md.REST,
        V.onset(64),
        md.HOLD,
        md.HOLD,
    ]
    assert md.tokens_to_steps(tokens, V).tolist() == steps
    notes = md.tokens_to_notes(tokens, V)
    assert notes == [md.NoteEvent(60, 0, 2), md.NoteEvent(62, 2, 1), md.NoteEvent(64, 5, 3)]
    assert md.notes_to_tokens(notes, V).tolist() == tokens.tolist()
    # A re-articulated note stays an onset when onsets are known.
    again = md.steps_to_tokens([60, 60], V, onsets=[True, True])
    assert again.tolist() == [V.onset(60), V.onset(60)]


def test_primer_syntax_and_errors():
    tokens = md.parse_primer("60, 62:2, r:1, 64:1", V)
    assert md.tokens_to_steps(tokens, V).tolist() == [60, 60, 60, 60, 62, 62, -1, 64]
    for bad, match in (("60,x", "item 2"), ("60:0", "steps must be"), ("200", "outside")):
        with pytest.raises(InputError, match=match):
            md.parse_primer(bad, V)


def test_jsb_soprano_and_bad_files(tmp_path: Path):
    corpus = {"train": [[[64, 60, 55], [64, 60, 55], [], [67, 59]]], "valid": [], "test": []}
    path = tmp_path / "jsb.json"
    path.write_text(json.dumps(corpus))
    (melody,) = md.load_corpus(path, "train", V)
    assert md.tokens_to_steps(melody, V).tolist() == [64, 64, -1, 67]
    with pytest.raises(InputError, match="no 'dev' part"):
        md.load_jsb(path, "dev", V)
    path.write_text("{not json")
    with pytest.raises(InputError, match="jsb.json: not valid JSON"):
        md.load_corpus(path, "train", V)
    path.write_text(json.dumps({"train": [[["a"]]]}))
    with pytest.raises(InputError, match=r"jsb.json:train\[0\]"):
        md.load_corpus(path, "train", V)


def test_midi_written_with_tempo_program_and_read_back(tmp_path: Path):
    notes = [md.NoteEvent(60, 0, 4), md.NoteEvent(64, 4, 2), md.NoteEvent(67, 8, 8)]
    data = md.to_midi(notes, tempo_bpm=120, program=40)
    mid = mido.MidiFile(file=io.BytesIO(data))
    messages = list(mid.tracks[0])
    assert any(m.type == "set_tempo" and m.tempo == 500_000 for m in messages)
    assert any(m.type == "program_change" and m.program == 40 for m in messages)
    assert [m.note for m in messages if m.type == "note_on"] == [60, 64, 67]
    assert mid.length == pytest.approx(16 * 0.125)  # 16 steps of a 16th at 120 bpm
    tokens = md.read_midi_melody(data, V)
    assert md.tokens_to_notes(tokens, V) == notes
    # A folder of under 10 files: every part is all of them (too few to hold out).
    for i in range(3):
        (tmp_path / f"{i}.mid").write_bytes(data)
    assert len(md.load_corpus(tmp_path, "valid", V)) == 3
    (tmp_path / "broken.mid").write_bytes(b"MThd garbage")
    with pytest.raises(InputError, match="broken.mid"):
        md.load_corpus(tmp_path, "train", V)


def test_midi_top_line_of_chords_and_bad_args():
    track = mido.MidiTrack()
    for note in (48, 55, 64):  # a chord; the top line is 64
        track.append(mido.Message("note_on", note=note, velocity=80, time=0))
    track.append(mido.Message("note_off", note=64, velocity=0, time=480))
    mid = mido.MidiFile(ticks_per_beat=480)
    mid.tracks.append(track)
    buffer = io.BytesIO()
    mid.save(file=buffer)
    tokens = md.read_midi_melody(buffer.getvalue(), V)
    assert md.tokens_to_steps(tokens, V).tolist()[0] == 64
    with pytest.raises(InputError, match="tempo"):
        md.to_midi([], tempo_bpm=5)


def test_keys():
    assert md.parse_key("F#m") == (6, "minor")
    assert md.parse_key("Bb") == (10, "major")
    assert md.parse_key("d minor") == (2, "minor")
    with pytest.raises(InputError, match="unknown key"):
        md.parse_key("H")
    c_major = [
        md.NoteEvent(p, 4 * i, 4) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72, 67, 60])
    ]
    assert md.estimate_key(c_major) == (0, "major")
    moved, shift = md.transpose_to_key(c_major, "G", V)
    assert shift == -5 and md.estimate_key(moved) == (7, "major")


def test_render_is_a_valid_wav_of_the_right_length():
    notes = [md.NoteEvent(69, 0, 4), md.NoteEvent(72, 4, 4)]
    samples = md.render(notes, tempo_bpm=120, sample_rate=16000)
    assert samples.dtype == np.float32 and np.abs(samples).max() <= 1.0
    assert len(samples) == pytest.approx(16000 * (8 * 0.125 + 0.1), abs=2)
    y, rate = audio_io.read_wav(audio_io.wav_bytes(samples, 16000))
    first = y[:2000]
    peak = np.argmax(np.abs(np.fft.rfft(first))) * 16000 / len(first)
    assert rate == 16000 and abs(peak - 440) < 10
