"""POST /v1/generate/melody and /v1/generate/audio over the real deployment, in-process and in
Serve local testing mode."""

from __future__ import annotations

import base64
import io
import shutil
import wave
from collections.abc import Iterator
from pathlib import Path

import mido
import numpy as np
import pytest
from fastapi.testclient import TestClient

from deployments.api import create_app
from deployments.capability import InProcessHandle
from deployments.generate_music import MusicGenerator
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.generate import audio_io
from entertainai.generate import music_data as md
from entertainai.generate.melody import MelodyConfig, MelodyData, MelodyGenerator
from entertainai.generate.wavenet import AudioData, WaveNet, WaveNetConfig
from entertainai.registry import Registry
from tests.deployments.conftest import READ_KEY

R = {"x-api-key": READ_KEY}


@pytest.fixture(scope="module")
def music_registry(served_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the served registry plus a tiny melody LSTM; no WaveNet yet."""
    root = tmp_path_factory.mktemp("music") / "registry"
    shutil.copytree(served_registry, root)
    vocab = md.Vocab()
    melodies = [md.steps_to_tokens([60 + (i % 8)] * 4 * 8, vocab) for i in range(4)]
    config = MelodyConfig(embed_dim=4, hidden=8, layers=1, epochs=1, batch_size=4)
    model = MelodyGenerator(config).fit(MelodyData(train=melodies))
    Registry(str(root)).register(
        "melody_lstm",
        model.save(root.parent / "melody"),
        kind=model.kind,
        aliases=("production",),
    )
    return root


def add_wavenet(root: Path) -> None:
    t = np.arange(800) / 8000
    codes = [audio_io.mu_law_encode(0.5 * np.sin(2 * np.pi * 300 * t))]
    config = WaveNetConfig(
        residual_channels=4,
        skip_channels=8,
        layers_per_stack=3,
        stacks=1,
        epochs=1,
        steps_per_epoch=2,
        batch_size=2,
        crop=64,
    )
    model = WaveNet(config).fit(AudioData(train=codes))
    Registry(str(root)).register(
        "wavenet", model.save(root.parent / "wavenet"), kind=model.kind, aliases=("production",)
    )


@pytest.fixture()
def args(music_registry: Path, tmp_path: Path) -> AppArgs:
    return AppArgs(
        registry=str(music_registry), event_dir=str(tmp_path / "events"), reload_interval_s=0.0
    )


@pytest.fixture()
def client(args: AppArgs, api_keys) -> Iterator[TestClient]:
    app = create_app(args.max_body_bytes)
    app.state.gateway = GatewayState.build(args)
    deployment = MusicGenerator.func_or_class(args.model_dump())
    app.state.gateway.capabilities["generate_music"] = InProcessHandle(deployment)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_melody_midi_wav_and_json(client: TestClient) -> None:
    body = {"primer": "60,62,64", "length_steps": 16, "seed": 3, "tempo_bpm": 120, "key": "G"}
    r = client.post("/v1/generate/melody", json=body, headers=R)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/midi" and r.headers["x-model"] == "melody_lstm@1"
    mid = mido.MidiFile(file=io.BytesIO(r.content))
    assert any(m.type == "set_tempo" and m.tempo == 500_000 for m in mid.tracks[0])
    assert client.post("/v1/generate/melody", json=body, headers=R).content == r.content
    w = client.post("/v1/generate/melody", json={**body, "format": "wav"}, headers=R)
    assert w.status_code == 200 and w.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(w.content)) as f:
        assert f.getnframes() > 0
    j = client.post("/v1/generate/melody", json={**body, "format": "json"}, headers=R).json()
    assert base64.b64decode(j["midi_base64"]) == r.content
    assert j["steps"] == 12 + 16 and j["primer_steps"] == 12 and j["notes"]


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("melody", {"length_steps": 513}, "length_steps"),
        ("melody", {"length_steps": 0}, "length_steps"),
        ("melody", {"temperature": 9}, "temperature"),
        ("melody", {"primer": "60,do"}, "primer item 2"),
        ("melody", {"primer": "200"}, "outside"),
        ("melody", {"key": "H"}, "unknown key"),
        ("melody", {"format": "mp3"}, "format"),
        ("melody", {"nope": 1}, "nope"),
        ("audio", {"seconds": 2.5}, "seconds"),
        ("audio", {"seconds": 0}, "seconds"),
    ],
)
def test_bad_requests_are_422(client: TestClient, path: str, body: dict, fragment: str) -> None:
    r = client.post(f"/v1/generate/{path}", json=body, headers=R)
    assert r.status_code == 422 and fragment in r.text, r.text


def test_audio_503_until_trained_then_wav_and_time_budget(
    client: TestClient, music_registry: Path
) -> None:
    r = client.post("/v1/generate/audio", json={"seconds": 0.1}, headers=R)
    assert r.status_code == 503 and "wavenet@production" in r.json()["detail"]
    add_wavenet(music_registry)
    r = client.post("/v1/generate/audio", json={"seconds": 0.05, "seed": 2}, headers=R)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav" and r.headers["x-sample-rate"] == "8000"
    samples, rate = audio_io.read_wav(r.content)
    assert rate == 8000 and len(samples) == 400
    r = client.post("/v1/generate/audio", json={"seconds": 2, "time_budget_s": 0.001}, headers=R)
    assert r.status_code == 422 and "longer than" in r.json()["detail"]
    assert client.post("/v1/generate/audio", json={}).status_code == 401


def test_serve_local_testing_mode(args: AppArgs) -> None:
    from ray import serve

    handle = serve.run(MusicGenerator.bind(args.model_dump()), _local_testing_mode=True)
    out = handle.melody.remote({"primer": "60", "length_steps": 8, "seed": 1}).result()
    assert out["model"] == "melody_lstm@1" and out["midi"].startswith(b"MThd")
    assert out["steps"] == 4 + 8 and out["wav"] is None
