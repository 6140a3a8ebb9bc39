"""The synthetic ``demo`` melodies and recordings: their planted grammar, checked model-free."""

from __future__ import annotations

import numpy as np
import pytest

from entertainai.errors import InputError
from entertainai.generate import audio_io
from entertainai.generate import music_data as md

V = md.Vocab()


def key_of(melody: list[md.NoteEvent]) -> int:
    return melody[-1].pitch % 12  # the grammar ends every melody on its tonic


def test_demo_melodies_follow_the_planted_grammar():
    melodies = md.demo_melodies("train")
    assert len(melodies) == 96 and len(md.demo_melodies("valid")) == 12
    scale = set(md.MAJOR_SCALE)
    for melody in melodies:
        tonic = key_of(melody)
        assert {(n.pitch - tonic) % 12 for n in melody} <= scale  # every note in the key
        assert {n.duration for n in melody} <= {2, 4, 8, 16}
        assert melody[-1].duration == 16 and melody[-1].start == 16 * (md.DEMO_BARS - 1)
        for bar in range(md.DEMO_BARS - 1):
            first = next(n for n in melody if n.start == 16 * bar)
            root = md.DEMO_PROGRESSION[bar % 4]
            chord = {md.MAJOR_SCALE[(root + d) % 7] for d in (0, 2, 4)}
            assert (first.pitch - tonic) % 12 in chord  # bars start on their chord
        # Contiguous: the notes tile the 128 steps.
        assert [n.start for n in melody[1:]] == [n.start + n.duration for n in melody[:-1]]
    # Transposed by the model's default +-6, every note stays in the vocabulary.
    pitches = [n.pitch for m in melodies for n in m]
    assert V.low <= min(pitches) - 6 and max(pitches) + 6 <= V.high


def test_demo_parts_are_seeded_and_distinct():
    assert md.demo_melodies("train") == md.demo_melodies("train")
    assert md.demo_melodies("valid") != md.demo_melodies("test")
    tokens = md.load_corpus(md.DEMO, "valid", V)
    assert len(tokens) == 12 and all(t.shape == (128,) for t in tokens)
    assert md.tokens_to_notes(tokens[0], V) == md.demo_melodies("valid")[0]
    with pytest.raises(InputError, match="unknown part"):
        md.demo_melodies("dev")


def test_demo_recordings_are_tones_as_mu_law():
    recordings = md.demo_recordings(8000, "train")
    assert len(recordings) == 48 and len(md.demo_recordings(8000, "all")) == 96
    assert all(r.dtype == np.float32 and 8000 <= len(r) <= 10000 for r in recordings)
    codes = audio_io.load_folder(md.DEMO, 8000, "train")
    assert np.array_equal(codes[0], audio_io.mu_law_encode(recordings[0]))
    # A tone is periodic: the autocorrelation at its period is high; noise's would not be.
    x = recordings[0][:2000] - recordings[0][:2000].mean()
    period = round(8000 / (440.0 * 2 ** ((md.demo_melodies("train")[0][0].pitch - 69) / 12)))
    assert np.dot(x[:-period], x[period:]) / np.dot(x, x) > 0.5
