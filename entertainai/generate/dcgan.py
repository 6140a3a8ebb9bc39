"""DCGAN (Radford et al. 2015) in torch: seeded image sampling to PNG (single images or grids).

The generator maps a Gaussian latent to an image through transposed convolutions with batch
norm; the discriminator is a strided conv net. Training uses the non-saturating loss and keeps
an exponential moving average of the generator's weights, which is what is saved and sampled
(EMA weights give markedly steadier samples than the last step's).

Training is exposed as ``build_modules`` / ``build_optimizers`` / ``train_epoch`` /
``from_modules`` so that ``fit`` (one process) and a Ray ``TorchTrainer`` worker
(``train/image_gan.py``) run the very same loop.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from entertainai.errors import InputError, LimitExceeded
from entertainai.generate.images import (
    ImageData,
    encode_png,
    make_grid,
    to_float,
    to_uint8,
    upscale,
)
from entertainai.model import Model
from entertainai.torch_utils import module_device, seed_everything, select_device, shard, unwrap

log = logging.getLogger(__name__)

GENERATOR_FILE = "generator.safetensors"
META_FILE = "dcgan.json"
MAX_IMAGES = 256  # per call: a request cannot ask for unbounded work
MAX_SCALE = 16


@dataclass(frozen=True)
class DCGANConfig:
    latent_dim: int = 32
    g_width: int = 32  # channels of the generator's last block (doubled per block before it)
    d_width: int = 32  # channels of the discriminator's first block (doubled per block after)
    epochs: int = 150
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    real_label: float = 0.9  # one-sided label smoothing: keeps D from growing overconfident
    ema_decay: float = 0.995  # generator weight average that is saved and sampled
    seed: int = 0
    device: str = "auto"


@dataclass(frozen=True)
class ImageGenerationOutput:
    """``images``: uint8 ``(N, H, W, C)``; ``png``: one PNG per image; ``grid_png`` when asked."""

    images: np.ndarray
    png: list[bytes]
    grid_png: bytes | None
    seed: int


@dataclass
class GANModules:
    generator: nn.Module
    discriminator: nn.Module
    ema: nn.Module  # never trained directly: follows the generator's weights
    losses: list[dict[str, float]] = field(default_factory=list)


def _blocks(size: int) -> int:
    """Number of 2x up/down-sampling blocks between 4x4 and ``size`` x ``size``."""
    k = math.log2(size / 4) if size >= 8 else -1
    if k < 1 or k != int(k):
        raise InputError(f"DCGAN image size must be 8, 16, 32, 64 or 128 (square); got {size}")
    return int(k)


class Generator(nn.Module):
    def __init__(self, latent_dim: int, size: int, channels: int, width: int) -> None:
        super().__init__()
        k = _blocks(size)
        c0 = width * 2**k
        self.c0 = c0
        self.project = nn.Sequential(
            nn.Linear(latent_dim, c0 * 16, bias=False), nn.BatchNorm1d(c0 * 16), nn.ReLU()
        )
        layers: list[nn.Module] = []
        c = c0
        for _ in range(k):
            layers += [
                nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c // 2),
                nn.ReLU(),
            ]
            c //= 2
        layers += [nn.Conv2d(c, channels, 3, padding=1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(self.project(z).view(len(z), self.c0, 4, 4))


class Discriminator(nn.Module):
    def __init__(self, size: int, channels: int, width: int) -> None:
        super().__init__()
        k = _blocks(size)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=1), nn.LeakyReLU(0.2)]
        c = width
        for _ in range(k):
            # No batch norm: real and fake go through in one batch (one DDP forward per step).
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1), nn.LeakyReLU(0.2)]
            c *= 2
        layers += [nn.Flatten(), nn.Linear(c * 16, 1)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).squeeze(1)


class DCGAN(Model):
    kind = "dcgan"
    Config = DCGANConfig
    config: DCGANConfig

    # ---- training, one worker's view -----------------------------------------------------

    def build_modules(self, data: ImageData) -> GANModules:
        h, w, c = data.shape
        if h != w:
            raise InputError(f"{data.source}: DCGAN needs square images, got {w}x{h}")
        seed_everything(self.config.seed)  # identical initial weights on every rank
        cfg = self.config
        generator = Generator(cfg.latent_dim, h, c, cfg.g_width)
        discriminator = Discriminator(h, c, cfg.d_width)
        for module in (generator, discriminator):
            module.apply(_dcgan_init)
        return GANModules(generator, discriminator, copy.deepcopy(generator).eval())

    def build_optimizers(
        self, modules: GANModules
    ) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        cfg = self.config
        betas = (cfg.beta1, 0.999)
        return (
            torch.optim.Adam(modules.generator.parameters(), lr=cfg.lr_g, betas=betas),
            torch.optim.Adam(modules.discriminator.parameters(), lr=cfg.lr_d, betas=betas),
        )

    def train_epoch(
        self,
        modules: GANModules,
        images: np.ndarray,
        optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
        epoch: int,
        world_rank: int = 0,
        world_size: int = 1,
    ) -> dict[str, float]:
        """One pass over this rank's shard of ``images`` (float (N, C, H, W) in [-1, 1])."""
        cfg = self.config
        opt_g, opt_d = optimizers
        generator, discriminator = modules.generator, modules.discriminator
        device = module_device(generator)
        mine = shard(len(images), cfg.seed, epoch, world_rank, world_size)
        noise = torch.Generator().manual_seed(int(cfg.seed * 1_000_003 + epoch * 1009 + world_rank))
        generator.train()
        discriminator.train()
        sums = {"loss_d": 0.0, "loss_g": 0.0, "d_real": 0.0, "d_fake": 0.0}
        steps = 0
        # Equal batch counts on every rank (DDP all-reduces once per step on each).
        for start in range(0, len(mine) - cfg.batch_size + 1, cfg.batch_size):
            real = torch.as_tensor(images[mine[start : start + cfg.batch_size]], device=device)
            n = len(real)
            z = torch.randn(n, cfg.latent_dim, generator=noise).to(device)
            fake = generator(z)
            # Discriminator: real and fake in one forward.
            logits = discriminator(torch.cat([real, fake.detach()]))
            targets = torch.cat(
                [torch.full((n,), cfg.real_label, device=device), torch.zeros(n, device=device)]
            )
            loss_d = F.binary_cross_entropy_with_logits(logits, targets)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            # Generator: non-saturating loss -log D(G(z)).
            loss_g = F.binary_cross_entropy_with_logits(
                discriminator(fake), torch.ones(n, device=device)
            )
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            _ema_update(modules.ema, unwrap(generator), cfg.ema_decay)
            with torch.no_grad():
                sums["d_real"] += float(torch.sigmoid(logits[:n]).mean())
                sums["d_fake"] += float(torch.sigmoid(logits[n:]).mean())
            sums["loss_d"] += float(loss_d.detach())
            sums["loss_g"] += float(loss_g.detach())
            steps += 1
        result = {k: v / max(steps, 1) for k, v in sums.items()}
        modules.losses.append(result)
        return result

    def from_modules(self, modules: GANModules, image_shape: tuple[int, int, int]) -> Self:
        """Adopt an (EMA) generator trained elsewhere, e.g. by a Ray TorchTrainer."""
        self.image_shape_ = tuple(int(v) for v in image_shape)
        generator = copy.deepcopy(unwrap(modules.ema)).cpu().eval()
        self.generator_ = generator
        self.fitted_ = True
        return self

    def fit(
        self,
        data: ImageData,
        callback: Callable[[int, dict[str, float]], None] | None = None,
    ) -> Self:
        """Train in this process for ``config.epochs`` epochs (``callback(epoch, losses)``)."""
        modules = self.build_modules(data)
        device = select_device(self.config.device)
        for module in (modules.generator, modules.discriminator, modules.ema):
            module.to(device)
        optimizers = self.build_optimizers(modules)
        images = to_float(data.images)
        for epoch in range(self.config.epochs):
            stats = self.train_epoch(modules, images, optimizers, epoch)
            log.debug("dcgan epoch %d/%d %s", epoch + 1, self.config.epochs, stats)
            if callback is not None:
                callback(epoch + 1, stats)
        self.loss_history_ = modules.losses
        return self.from_modules(modules, data.shape)

    # ---- sampling ------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, num_images: int, seed: int = 0, batch_size: int = 256) -> np.ndarray:
        """uint8 ``(num_images, H, W, C)``; the same seed gives the same images.

        Unbounded (evaluation draws thousands); requests go through ``__call__``'s limits.
        """
        self.check_fitted()
        if num_images < 1:
            raise InputError(f"num_images must be >= 1, got {num_images}")
        if seed < 0:
            raise InputError(f"seed must be >= 0, got {seed}")
        z = torch.randn(
            num_images, self.config.latent_dim, generator=torch.Generator().manual_seed(seed)
        )
        parts = [
            self.generator_(z[i : i + batch_size]).numpy() for i in range(0, num_images, batch_size)
        ]
        return to_uint8(np.concatenate(parts))

    def __call__(
        self,
        num_images: int = 1,
        seed: int = 0,
        grid: bool = False,
        nrow: int | None = None,
        scale: int = 1,
    ) -> ImageGenerationOutput:
        """Sample ``num_images`` images as PNGs (and one grid PNG when ``grid``)."""
        if not 1 <= num_images <= MAX_IMAGES:
            raise LimitExceeded(f"num_images must be in 1..{MAX_IMAGES}, got {num_images}")
        if not 1 <= scale <= MAX_SCALE:
            raise LimitExceeded(f"scale must be in 1..{MAX_SCALE}, got {scale}")
        images = self.sample(num_images, seed)
        png = [encode_png(upscale(image, scale)) for image in images]
        grid_png = encode_png(upscale(make_grid(images, nrow), scale)) if grid else None
        return ImageGenerationOutput(images, png, grid_png, seed)

    # diffusers-style names for the same directory format
    def save_pretrained(self, path: str | Path) -> Path:
        return self.save(path)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> DCGAN:
        return cls.load(path)

    def _save_state(self, directory: Path) -> None:
        from safetensors.torch import save_file

        state = {k: v.detach().cpu().contiguous() for k, v in self.generator_.state_dict().items()}
        save_file(state, directory / GENERATOR_FILE)
        (directory / META_FILE).write_text(json.dumps({"image_shape": list(self.image_shape_)}))

    def _load_state(self, directory: Path) -> None:
        from safetensors.torch import load_file

        meta = json.loads((directory / META_FILE).read_text())
        self.image_shape_ = tuple(int(v) for v in meta["image_shape"])
        h, _, c = self.image_shape_
        self.generator_ = Generator(self.config.latent_dim, h, c, self.config.g_width)
        self.generator_.load_state_dict(load_file(directory / GENERATOR_FILE))
        self.generator_.eval()


def _dcgan_init(module: nn.Module) -> None:
    # N(0, 0.02) weights, as in the DCGAN paper; BN scales around 1.
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


@torch.no_grad()
def _ema_update(ema: nn.Module, source: nn.Module, decay: float) -> None:
    for e, s in zip(ema.parameters(), source.parameters(), strict=True):
        e.lerp_(s.detach(), 1.0 - decay)
    for e, s in zip(ema.buffers(), source.buffers(), strict=True):
        e.copy_(s)
