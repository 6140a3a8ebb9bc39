"""Style transfer (Gatys et al. 2016) with a random-feature encoder instead of downloaded VGG.

Texture statistics (Gram matrices) of a multi-scale conv net with *random* filters already
capture style well (Ustyuzhaninov et al. 2017, "What does it take to generate natural
textures?"), so the encoder needs no training and no weights from the internet: it is fully
determined by its seed, and saved anyway so that an artifact reproduces exactly. The output
image's pixels are optimised with Adam to match the style image's Gram matrices at every scale
and the content image's features at one deeper scale.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from entertainai.errors import InputError, LimitExceeded
from entertainai.generate.images import encode_png
from entertainai.imaging import decode_image
from entertainai.model import Model
from entertainai.torch_utils import seed_everything

log = logging.getLogger(__name__)

ENCODER_FILE = "encoder.safetensors"


@dataclass(frozen=True)
class StyleTransferConfig:
    channels: tuple[int, ...] = (16, 32, 64, 64)  # one conv block per scale, 2x pooled each
    kernel_size: int = 3
    content_layer: int = 2  # which block's features carry the content (0-based)
    encoder_seed: int = 0  # the random filters; saved with the artifact
    lr: float = 0.03  # Adam on pixels in [0, 1]
    max_size: int = 256  # longest side, pixels
    max_steps: int = 300
    time_budget_s: float = 60.0  # optimisation stops (and says so) when the budget is spent


@dataclass(frozen=True)
class StyleTransferOutput:
    image: np.ndarray  # uint8 (H, W, 3)
    png: bytes
    steps_run: int
    stopped_early: bool  # the time budget ran out before ``steps``
    style_loss: float
    content_loss: float
    seed: int


class RandomEncoder(nn.Module):
    """Conv -> ReLU -> 2x average pool per block; returns every block's activations."""

    def __init__(self, channels: tuple[int, ...], kernel_size: int) -> None:
        super().__init__()
        c_in = 3
        self.blocks = nn.ModuleList()
        for c in channels:
            conv = nn.Conv2d(c_in, c, kernel_size, padding=kernel_size // 2, padding_mode="reflect")
            self.blocks.append(conv)
            c_in = c

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for i, conv in enumerate(self.blocks):
            if i > 0:
                x = F.avg_pool2d(x, 2)
            x = F.relu(conv(x))
            outputs.append(x)
        return outputs


def gram(features: torch.Tensor) -> torch.Tensor:
    """Channel correlations of ``(1, C, H, W)`` features, normalised by the position count."""
    _, c, h, w = features.shape
    flat = features.reshape(c, h * w)
    return flat @ flat.T / (h * w)


class StyleTransfer(Model[StyleTransferConfig]):
    kind = "style_transfer"
    Config = StyleTransferConfig
    config: StyleTransferConfig

    def build(self) -> StyleTransfer:
        """Draw the random encoder from ``config.encoder_seed`` (there is nothing to train)."""
        cfg = self.config
        if not cfg.channels or not 0 <= cfg.content_layer < len(cfg.channels):
            raise InputError(
                f"content_layer {cfg.content_layer} is not one of the {len(cfg.channels)} blocks"
            )
        seed_everything(cfg.encoder_seed)
        self.encoder_ = RandomEncoder(cfg.channels, cfg.kernel_size)
        for conv in self.encoder_.blocks:
            assert isinstance(conv, nn.Conv2d) and conv.bias is not None
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            # Zero-mean input plus zero bias would make half the units dead on every image.
            nn.init.uniform_(conv.bias, -0.5, 0.5)
        self.encoder_.requires_grad_(False).eval()
        self.fitted_ = True
        return self

    def fit(self, data: object = None) -> StyleTransfer:
        """The model contract's ``fit``: random features need no data."""
        return self.build()

    # ---- the pipeline ----------------------------------------------------------------------

    def __call__(
        self,
        content: np.ndarray | bytes,
        style: np.ndarray | bytes,
        size: int = 128,
        steps: int = 100,
        style_weight: float = 10.0,
        content_weight: float = 1.0,
        seed: int = 0,
        callback: Callable[[int, int], None] | None = None,
        time_budget_s: float | None = None,
    ) -> StyleTransferOutput:
        """Render ``content`` in the texture of ``style``; images are uint8 RGB or PNG/JPEG bytes.

        ``size`` is the output's longest side. Losses are relative (normalised by the target's
        magnitude), so weights of 1-100 are meaningful whatever the image. Optimisation stops
        early (``stopped_early``) after ``time_budget_s``, capped by the config's budget.
        """
        self.check_fitted()
        cfg = self.config
        if not 16 <= size <= cfg.max_size:
            raise LimitExceeded(f"size must be in 16..{cfg.max_size}, got {size}")
        if not 1 <= steps <= cfg.max_steps:
            raise LimitExceeded(f"steps must be in 1..{cfg.max_steps}, got {steps}")
        for name, weight in (("style_weight", style_weight), ("content_weight", content_weight)):
            if not (np.isfinite(weight) and 0.0 <= weight <= 1e6):
                raise InputError(f"{name} must be in [0, 1e6], got {weight}")
        if style_weight == 0 and content_weight == 0:
            raise InputError("style_weight and content_weight cannot both be 0")
        if seed < 0:
            raise InputError(f"seed must be >= 0, got {seed}")
        content_t = _as_tensor(content, size, "content")
        style_t = _as_tensor(style, size, "style")

        with torch.no_grad():
            style_grams = [gram(f) for f in self.encoder_(style_t)]
            content_target = self.encoder_(content_t)[cfg.content_layer]
        style_norms = [float(g.pow(2).mean()) + 1e-8 for g in style_grams]
        content_norm = float(content_target.pow(2).mean()) + 1e-8

        generator = torch.Generator().manual_seed(seed)
        noise = torch.randn(content_t.shape, generator=generator)
        pixels = (content_t + 0.1 * noise).clamp(0, 1).requires_grad_(True)
        optimizer = torch.optim.Adam([pixels], lr=cfg.lr)
        budget = (
            cfg.time_budget_s if time_budget_s is None else min(time_budget_s, cfg.time_budget_s)
        )
        deadline = time.monotonic() + budget
        steps_run, stopped_early = 0, False
        style_loss = content_loss = torch.zeros(())
        for step in range(steps):
            if time.monotonic() > deadline:
                stopped_early = True
                log.warning("style transfer stopped at step %d of %d: time budget", step, steps)
                break
            style_loss, content_loss = self._losses(
                pixels, style_grams, style_norms, content_target, content_norm
            )
            loss = style_weight * style_loss + content_weight * content_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                pixels.clamp_(0, 1)
            steps_run = step + 1
            if callback is not None:
                callback(steps_run, steps)
        with torch.no_grad():
            style_loss, content_loss = self._losses(
                pixels, style_grams, style_norms, content_target, content_norm
            )
        image = np.rint(pixels.detach()[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        return StyleTransferOutput(
            image,
            encode_png(image),
            steps_run,
            stopped_early,
            float(style_loss),
            float(content_loss),
            seed,
        )

    def _losses(
        self,
        pixels: torch.Tensor,
        style_grams: list[torch.Tensor],
        style_norms: list[float],
        content_target: torch.Tensor,
        content_norm: float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.encoder_(pixels)
        style = sum(
            (
                (gram(f) - g).pow(2).mean() / n
                for f, g, n in zip(features, style_grams, style_norms, strict=True)
            ),
            pixels.new_zeros(()),
        ) / len(features)
        content = (features[self.config.content_layer] - content_target).pow(
            2
        ).mean() / content_norm
        return style, content

    def style_distance(
        self, image: np.ndarray | bytes, style: np.ndarray | bytes, size: int = 128
    ) -> float:
        """The (relative) Gram-matrix style loss between two images, for evaluation."""
        self.check_fitted()
        with torch.no_grad():
            a = self.encoder_(_as_tensor(image, size, "image"))
            b = self.encoder_(_as_tensor(style, size, "style"))
            return float(
                sum(
                    (gram(x) - gram(y)).pow(2).mean() / (gram(y).pow(2).mean() + 1e-8)
                    for x, y in zip(a, b, strict=True)
                )
                / len(a)
            )

    def _save_state(self, directory: Path) -> None:
        from safetensors.torch import save_file

        save_file(
            {k: v.contiguous() for k, v in self.encoder_.state_dict().items()},
            directory / ENCODER_FILE,
        )

    def _load_state(self, directory: Path) -> None:
        from safetensors.torch import load_file

        self.encoder_ = RandomEncoder(self.config.channels, self.config.kernel_size)
        self.encoder_.load_state_dict(load_file(directory / ENCODER_FILE))
        self.encoder_.requires_grad_(False).eval()


def _as_tensor(image: np.ndarray | bytes, size: int, name: str) -> torch.Tensor:
    """uint8 RGB (or PNG/JPEG bytes) -> (1, 3, h, w) floats in [0, 1], longest side ``size``."""
    from PIL import Image

    array = (
        decode_image(image, name=name)
        if isinstance(image, bytes | bytearray)
        else np.asarray(image)
    )
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] != 3 or array.dtype != np.uint8:
        raise InputError(f"{name} must be uint8 RGB (H, W, 3), got {array.dtype} {array.shape}")
    h, w = array.shape[:2]
    if min(h, w) < 8:
        raise InputError(f"{name} is {w}x{h}; images must be at least 8x8", location=name)
    scale = size / max(h, w)
    new_w, new_h = max(8, round(w * scale)), max(8, round(h * scale))
    if (new_w, new_h) != (w, h):
        array = np.asarray(Image.fromarray(array).resize((new_w, new_h), Image.Resampling.BICUBIC))
    return torch.tensor(array, dtype=torch.float32).permute(2, 0, 1)[None] / 255.0
