"""DCGAN (Radford et al. 2015) in torch: seeded image sampling to PNG (single images or grids).

The generator maps a Gaussian latent to an image through transposed convolutions with batch
norm; the discriminator is a strided conv net. Training uses the non-saturating loss and keeps
an exponential moving average of the generator's weights, which is what is saved and sampled
(EMA weights give markedly steadier samples than the last step's).

Training follows the torch contract (``entertainai.torch_utils.TorchTrainable``): one
``nn.ModuleDict`` holds generator, discriminator and the EMA copy, one
:class:`GANOptimizers` their two optimisers, so that ``fit`` (one process) and a Ray
``TorchTrainer`` worker (``train/image_gan.py`` through ``train/torch_runner.py``) run the very
same loop and checkpoint it the same way as every other torch model.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, cast

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
from entertainai.torch_utils import (
    TorchTraining,
    module_device,
    seed_everything,
    shard,
    train_locally,
    unwrap,
)

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


class GANOptimizers:
    """The generator's and the discriminator's Adam, checkpointed together."""

    def __init__(self, generator: torch.optim.Optimizer, discriminator: torch.optim.Optimizer):
        self.generator = generator
        self.discriminator = discriminator

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.generator.load_state_dict(state_dict["generator"])
        self.discriminator.load_state_dict(state_dict["discriminator"])


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


class DCGAN(TorchTraining, Model[DCGANConfig]):
    kind = "dcgan"
    Config = DCGANConfig
    config: DCGANConfig

    # ---- training, one worker's view -----------------------------------------------------

    def build_module(self, data: ImageData) -> nn.ModuleDict:
        """``generator``, ``discriminator`` and ``ema`` (never trained directly: it follows the
        generator's weights, so it needs no gradients and DDP leaves it alone)."""
        h, w, c = data.shape
        if h != w:
            raise InputError(f"{data.source}: DCGAN needs square images, got {w}x{h}")
        seed_everything(self.config.seed)  # identical initial weights on every rank
        cfg = self.config
        generator = Generator(cfg.latent_dim, h, c, cfg.g_width)
        discriminator = Discriminator(h, c, cfg.d_width)
        for module in (generator, discriminator):
            module.apply(_dcgan_init)
        ema = copy.deepcopy(generator).eval().requires_grad_(False)
        return nn.ModuleDict({"generator": generator, "discriminator": discriminator, "ema": ema})

    def build_optimizer(self, module: nn.Module) -> GANOptimizers:
        cfg = self.config
        betas = (cfg.beta1, 0.999)
        return GANOptimizers(
            torch.optim.Adam(parts(module)["generator"].parameters(), lr=cfg.lr_g, betas=betas),
            torch.optim.Adam(parts(module)["discriminator"].parameters(), lr=cfg.lr_d, betas=betas),
        )

    def _float_images(self, data: ImageData) -> np.ndarray:
        """``data.images`` as float (N, C, H, W) in [-1, 1], converted once per data set."""
        cached = getattr(self, "_images", None)
        if cached is None or cached[0] is not data.images:
            cached = (data.images, to_float(data.images))
            self._images = cached
        return cached[1]

    def train_epoch(
        self,
        module: nn.Module,
        data: ImageData,
        optimizer: GANOptimizers,
        epoch: int,
        world_rank: int = 0,
        world_size: int = 1,
    ) -> dict[str, float]:
        """One pass over this rank's shard of the images; mean losses and D's outputs."""
        cfg = self.config
        images = self._float_images(data)
        generator, discriminator = parts(module)["generator"], parts(module)["discriminator"]
        ema = unwrap(parts(module)["ema"])
        opt_g, opt_d = optimizer.generator, optimizer.discriminator
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
            _ema_update(ema, unwrap(generator), cfg.ema_decay)
            with torch.no_grad():
                sums["d_real"] += float(torch.sigmoid(logits[:n]).mean())
                sums["d_fake"] += float(torch.sigmoid(logits[n:]).mean())
            sums["loss_d"] += float(loss_d.detach())
            sums["loss_g"] += float(loss_g.detach())
            steps += 1
        return {k: v / max(steps, 1) for k, v in sums.items()}

    def from_module(self, module: nn.Module, data: ImageData) -> Self:
        """Adopt the EMA generator trained elsewhere (e.g. by a Ray TorchTrainer)."""
        self.image_shape_ = tuple(int(v) for v in data.shape)
        generator = copy.deepcopy(unwrap(parts(unwrap(module))["ema"])).cpu().eval()
        self.generator_ = generator
        self.fitted_ = True
        return self

    def fit(
        self,
        data: ImageData,
        callback: Callable[[int, dict[str, float]], None] | None = None,
    ) -> Self:
        """Train in this process for ``config.epochs`` epochs (``callback(epoch, losses)``)."""

        def report(record: dict[str, float]) -> None:
            if callback is not None:
                callback(int(record["epoch"]), record)

        module, self.loss_history_ = train_locally(self, data, callback=report)
        self.__dict__.pop("_images", None)  # the float copy of the training images is not kept
        return self.from_module(module, data)

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


def training_images(
    source: str,
    size: int | None = None,
    channels: int | None = None,
    limit: int | None = None,
    held_out: float = 0.0,
    seed: int = 0,
    config: DCGANConfig | None = None,
) -> ImageData:
    """The images a DCGAN job trains on: the first ``limit``, minus a seeded ``held_out`` part.

    The data loader of every DCGAN job (``TorchJob.load``: the CLI and ``train.image_gan``).
    """
    from entertainai.generate.images import load_images

    data = load_images(source, size=size, channels=channels)
    if limit:
        data = data.subset(np.arange(min(limit, len(data.images))))
    return data.split(held_out, seed=seed)[0] if held_out else data


def parts(module: nn.Module) -> nn.ModuleDict:
    """The GAN's one module as what it is: generator, discriminator and EMA generator."""
    return cast(nn.ModuleDict, module)


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
    for eb, sb in zip(ema.buffers(), source.buffers(), strict=True):
        eb.copy_(sb)
