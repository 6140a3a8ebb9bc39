"""``entertainai train melody`` / ``generate melody|audio``: files written, one-line errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import mido

from entertainai.cli.main import main
from entertainai.generate import audio_io


def test_train_then_generate_melody_and_audio(tmp_path: Path, capsys):
    chorale = [[60 + [0, 2, 4, 5, 7][i % 5]] for i in range(40) for _ in range(4)]
    corpus = tmp_path / "jsb.json"
    corpus.write_text(json.dumps({"train": [chorale] * 3, "valid": [chorale], "test": []}))
    registry = str(tmp_path / "reg")
    rc = main(
        [
            "train",
            "melody",
            "--data",
            str(corpus),
            "--epochs",
            "1",
            "--param",
            "hidden=8",
            "--param",
            "embed_dim=4",
            "--alias",
            "production",
            "--registry",
            registry,
        ]
    )
    assert rc == 0 and "registered melody_lstm@1" in capsys.readouterr().out
    out, wav = tmp_path / "x.mid", tmp_path / "x.wav"
    rc = main(
        [
            "generate",
            "melody",
            "--primer",
            "60,62",
            "--length",
            "16",
            "--seed",
            "1",
            "--tempo",
            "90",
            "--out",
            str(out),
            "--wav",
            str(wav),
            "--registry",
            registry,
        ]
    )
    assert rc == 0
    assert mido.MidiFile(file=io.BytesIO(out.read_bytes())).length > 0
    assert audio_io.read_wav(wav)[1] == 16000

    folder = tmp_path / "wavs"
    folder.mkdir()
    for take in range(5, 8):
        tone = audio_io.mu_law_decode(
            audio_io.mu_law_encode([0.3 * ((i // 10) % 2 - 0.5) for i in range(600)])
        )
        audio_io.write_wav(folder / f"0_x_{take}.wav", tone, 8000)
    rc = main(
        [
            "train",
            "wavenet",
            "--data",
            str(folder),
            "--epochs",
            "1",
            "--registry",
            registry,
            "--param",
            "steps_per_epoch=2",
            "--param",
            "residual_channels=4",
            "--param",
            "skip_channels=4",
            "--param",
            "layers_per_stack=2",
            "--param",
            "stacks=1",
            "--param",
            "crop=64",
            "--name",
            "wn",
        ]
    )
    assert rc == 0
    rc = main(
        [
            "generate",
            "audio",
            "--model",
            "wn",
            "--seconds",
            "0.02",
            "--out",
            str(tmp_path / "a.wav"),
            "--registry",
            registry,
        ]
    )
    assert rc == 0 and len(audio_io.read_wav(tmp_path / "a.wav")[0]) == 160


def test_errors_are_one_line(tmp_path: Path, capsys):
    assert main(["generate", "melody", "--model", str(tmp_path), "--out", "x.mid"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("entertainai: error:") and "not a model directory" in err
    assert err.count("\n") == 1
    assert main(["train", "wavenet", "--data", str(tmp_path / "none")]) == 2
    assert "not a directory of WAV files" in capsys.readouterr().err
