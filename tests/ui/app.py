"""The whole web app over the real service, without Ray: a registry of tiny models (two
hybrid versions, DCGAN, melody LSTM, WaveNet, segments, an image-safety CNN) and the API app
with the web app installed and every capability deployment in-process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fastapi import FastAPI

from deployments.api import create_app
from deployments.capability import InProcessHandle
from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.registry import Registry

READ_KEY, WRITE_KEY, ADMIN_KEY = (
    "web-reader-key-0123456789",
    "web-writer-key-0123456789",
    "web-admin-key-0123456789",
)
KEYS_ENV = (
    f"viewer:read:plain={READ_KEY},fan:read+write-events:plain={WRITE_KEY},"
    f"ops:admin:plain={ADMIN_KEY}"
)


def train_registry(root: Path, demo_dir: Path) -> Path:
    """Every model the pages use, tiny (about 15 s on 2 cores)."""
    from entertainai.analytics.segments import Segments, SegmentsConfig, user_features
    from entertainai.data.dataset import Dataset
    from entertainai.generate import audio_io
    from entertainai.generate import music_data as md
    from entertainai.generate.dcgan import DCGAN
    from entertainai.generate.images import ImageData
    from entertainai.generate.melody import MelodyConfig, MelodyData, MelodyGenerator
    from entertainai.generate.wavenet import AudioData, WaveNet, WaveNetConfig
    from entertainai.moderation.image import train_from_folder, write_demo_images
    from entertainai.recommend.training import TrainSpec, fit_and_evaluate, prepare, register

    registry = Registry(str(root))
    prepared = prepare(str(demo_dir), "random:0.2:42")
    for params in ({}, {"weights": [1.0, 0.5, 0.5]}):  # two versions, for promote
        spec = TrainSpec("hybrid", params, eval_users=200)
        model, result = fit_and_evaluate(prepared, spec)
        register(registry, model, result, prepared, spec, refit_on_full=False)
    registry.set_alias("hybrid", "production", 1)

    scratch = root.parent / "scratch"
    images = np.random.default_rng(0).integers(0, 255, (64, 8, 8, 1)).astype(np.uint8)
    gan = DCGAN.from_params(latent_dim=4, g_width=4, d_width=4, epochs=1, device="cpu")
    gan.fit(ImageData(images, None, (), "noise"))
    gan.save(scratch / "gan")
    registry.register("dcgan", scratch / "gan", kind="dcgan", aliases=("production",))

    vocab = md.Vocab()
    melodies = [md.steps_to_tokens([60 + (i % 8)] * 4 * 8, vocab) for i in range(4)]
    config = MelodyConfig(embed_dim=4, hidden=8, layers=1, epochs=1, batch_size=4)
    melody = MelodyGenerator(config).fit(MelodyData(train=melodies))
    registry.register(
        "melody_lstm", melody.save(scratch / "melody"), kind=melody.kind, aliases=("production",)
    )

    t = np.arange(800) / 8000
    codes = [audio_io.mu_law_encode(0.5 * np.sin(2 * np.pi * 300 * t))]
    wave_config = WaveNetConfig(
        residual_channels=4,
        skip_channels=8,
        layers_per_stack=3,
        stacks=1,
        epochs=1,
        steps_per_epoch=2,
        batch_size=2,
        crop=64,
    )
    wavenet = WaveNet(wave_config).fit(AudioData(train=codes))
    registry.register(
        "wavenet", wavenet.save(scratch / "wavenet"), kind=wavenet.kind, aliases=("production",)
    )

    ds = Dataset.open(str(demo_dir))
    segments = Segments(SegmentsConfig(k=4)).fit(user_features(ds.interactions, ds.items))
    registry.register_model(segments, "segments", metrics={"k": 4})

    folder = write_demo_images(scratch / "safety", per_class=8, size=16)
    params = {"image_size": 16, "filters": (4,), "hidden": 8, "epochs": 1}  # nothing unsafe
    train_from_folder(folder, registry, "image_classifier", params)
    return root


def build_app(registry: Path, event_dir: Path, **overrides: object) -> FastAPI:
    """create_app + the web app, over ``registry``, with every capability in-process.

    Needs ``$ENTERTAINAI_API_KEYS`` (``KEYS_ENV``) unless ``require_api_key=False``, and
    ``$ENTERTAINAI_WEB_DATA`` for the dataset features."""
    from deployments.generate_image import ImageGenerator
    from deployments.generate_music import MusicGenerator
    from deployments.insights import Insights
    from deployments.moderation import Moderator
    from deployments.text_analytics import TextAnalyzer

    settings: dict[str, object] = {
        "registry": str(registry),
        "event_dir": str(event_dir),
        "reload_interval_s": 0.0,
        "rate_limit_per_s": 1000.0,
        "rate_limit_burst": 1000,
        **overrides,
    }
    args = AppArgs(**settings)
    app = create_app(args.max_body_bytes, web_app=args.web_app)
    app.state.gateway = GatewayState.build(args)
    for name, deployment in (
        ("generate_image", ImageGenerator),
        ("generate_music", MusicGenerator),
        ("analyze_text", TextAnalyzer),
        ("insights", Insights),
        ("moderate", Moderator),
    ):
        target = deployment.func_or_class(args.model_dump())
        app.state.gateway.capabilities[name] = InProcessHandle(target)
    return app
