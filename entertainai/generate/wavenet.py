"""Audio generation: a small WaveNet (van den Oord et al. 2016) over 8-bit mu-law samples.

Stacks of dilated causal convolutions (kernel 2, dilations 1, 2, 4, ... per stack) with gated
activations (tanh * sigmoid), residual and skip connections, and a 256-way softmax over the
next mu-law class. Every file is treated as preceded by silence (class 128) for one receptive
field, in training, in evaluation and in generation alike, so scores are per *every* sample.

Generation is the queue-based "fast WaveNet" recurrence in numpy: each layer keeps a ring
buffer of its last ``dilation`` inputs, so a new sample costs one matrix-vector product per
layer instead of a convolution over the receptive field (a few ms of audio per ms on CPU).
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from entertainai.errors import InputError, LimitExceeded
from entertainai.generate import audio_io
from entertainai.generate.sampling import SamplingConfig, next_token_probs
from entertainai.model import Model
from entertainai.torch_utils import (
    TorchJob,
    TorchTraining,
    module_device,
    seed_everything,
    set_threads,
    train_locally,
    unwrap,
)

log = logging.getLogger(__name__)

WEIGHTS = "weights.safetensors"
CLASSES = audio_io.MU + 1
SILENCE = CLASSES // 2  # mu-law class of a zero sample
MAX_SECONDS = 30.0


@dataclass(frozen=True)
class WaveNetConfig:
    sample_rate: int = 8000
    residual_channels: int = 32
    skip_channels: int = 64
    layers_per_stack: int = 8  # dilations 1 .. 2**(layers_per_stack - 1)
    # One stack (receptive field 256 samples = 32 ms at 8 kHz): generation costs one
    # matrix-vector chain per layer and sample, so a second stack would halve the speed.
    stacks: int = 1
    lr: float = 2e-3
    epochs: int = 10
    steps_per_epoch: int = 200
    batch_size: int = 8
    crop: int = 2000  # predicted samples per training example (plus one receptive field)
    valid_samples: int = 200_000  # cap on validation samples scored per epoch
    max_train_seconds: float | None = None  # stop training after this wall time
    seed: int = 0
    device: str = "auto"
    threads: int = 1  # see MelodyConfig.threads

    @property
    def dilations(self) -> tuple[int, ...]:
        return tuple(2**i for i in range(self.layers_per_stack)) * self.stacks

    @property
    def receptive_field(self) -> int:
        return sum(self.dilations) + 1


@dataclass
class AudioData:
    """Mu-law codes (int64, one array per recording) of the train and validation parts."""

    train: list[np.ndarray]
    valid: list[np.ndarray] = field(default_factory=list)


@dataclass(frozen=True)
class AudioOutput:
    samples: np.ndarray  # float32 in [-1, 1], primer excluded
    codes: np.ndarray  # mu-law classes of ``samples``
    wav: bytes
    sample_rate: int


class WaveNetModule(nn.Module):
    def __init__(self, residual: int, skip: int, dilations: Sequence[int]) -> None:
        super().__init__()
        self.dilations = tuple(dilations)
        self.embed = nn.Embedding(CLASSES, residual)
        self.filters = nn.ModuleList(
            nn.Conv1d(residual, 2 * residual, 2, dilation=d) for d in self.dilations
        )
        # One 1x1 conv gives both the residual and the skip output of a layer.
        self.outputs = nn.ModuleList(
            nn.Conv1d(residual, residual + skip, 1) for _ in self.dilations
        )
        self.head1 = nn.Conv1d(skip, skip, 1)
        self.head2 = nn.Conv1d(skip, CLASSES, 1)
        self.residual = residual

    def forward(self, inputs: torch.Tensor, return_layers: bool = False):  # noqa: ANN201
        """Logits (B, 256, T) of sample t+1 given input codes (B, T) up to t."""
        h = self.embed(inputs).transpose(1, 2)
        skip = None
        layers = []
        for d, conv, out in zip(self.dilations, self.filters, self.outputs, strict=True):
            layers.append(h)
            z = conv(F.pad(h, (d, 0)))
            g = torch.tanh(z[:, : self.residual]) * torch.sigmoid(z[:, self.residual :])
            o = out(g)
            h = h + o[:, : self.residual]
            skip = o[:, self.residual :] if skip is None else skip + o[:, self.residual :]
        assert skip is not None  # at least one layer (the config refuses none)
        logits = self.head2(F.relu(self.head1(F.relu(skip))))
        return (logits, layers) if return_layers else logits


class _Incremental:
    """The fast-WaveNet recurrence in numpy over a trained module's weights."""

    def __init__(self, module: WaveNetModule) -> None:
        def arr(t: torch.Tensor | None) -> np.ndarray:
            assert t is not None  # every conv here has a bias
            return t.detach().cpu().numpy().astype(np.float32)

        filters = cast(list[nn.Conv1d], list(module.filters))
        outputs = cast(list[nn.Conv1d], list(module.outputs))

        self.embed = arr(module.embed.weight)
        self.c = module.residual
        # Conv1d tap 0 multiplies x[t - d], tap 1 multiplies x[t]: one matrix over [old; new].
        self.w = [
            np.concatenate([arr(f.weight[:, :, 0]), arr(f.weight[:, :, 1])], axis=1)
            for f in filters
        ]
        self.b = [arr(f.bias) for f in filters]
        self.wo = [arr(o.weight[:, :, 0]) for o in outputs]
        self.bo = [arr(o.bias) for o in outputs]
        self.h1, self.b1 = arr(module.head1.weight[:, :, 0]), arr(module.head1.bias)
        self.h2, self.b2 = arr(module.head2.weight[:, :, 0]), arr(module.head2.bias)
        self.dilations = module.dilations

    def start(self, layers: list[np.ndarray]) -> None:
        """Fill each layer's queue with its last ``d`` inputs (from a batched forward)."""
        self.queues = [
            layer[:, -d:].T.copy() for layer, d in zip(layers, self.dilations, strict=True)
        ]
        self.heads = [0] * len(self.dilations)

    def step(self, code: int) -> np.ndarray:
        """Consume one input code; logits of the next sample."""
        h = self.embed[code]
        skip = None
        c = self.c
        for i, d in enumerate(self.dilations):
            queue, head = self.queues[i], self.heads[i]
            z = self.w[i] @ np.concatenate([queue[head], h]) + self.b[i]
            queue[head] = h
            self.heads[i] = (head + 1) % d
            g = np.tanh(z[:c]) * (1.0 / (1.0 + np.exp(-z[c:])))
            o = self.wo[i] @ g + self.bo[i]
            h = h + o[:c]
            skip = o[c:] if skip is None else skip + o[c:]
        assert skip is not None
        hidden = np.maximum(self.h1 @ np.maximum(skip, 0.0) + self.b1, 0.0)
        return self.h2 @ hidden + self.b2


class WaveNet(TorchTraining, Model[WaveNetConfig]):
    kind = "wavenet"
    validation_metric = "valid_bits"  # bits per sample
    Config = WaveNetConfig
    config: WaveNetConfig

    # ---- training, one worker's view ------------------------------------------------------

    def build_module(self, data: AudioData | None = None) -> WaveNetModule:
        seed_everything(self.config.seed)
        c = self.config
        return WaveNetModule(c.residual_channels, c.skip_channels, c.dilations)

    def build_optimizer(self, module: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.Adam(module.parameters(), lr=self.config.lr)

    def _crops(self, data: AudioData, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A batch of (input codes, targets): each target window of ``crop`` samples comes with
        one receptive field of real history (silence before the file starts)."""
        c, rf = self.config, self.config.receptive_field
        lengths = np.array([len(x) for x in data.train], dtype=np.float64)
        files = rng.choice(len(data.train), size=c.batch_size, p=lengths / lengths.sum())
        inputs = np.full((c.batch_size, rf + c.crop - 1), SILENCE, dtype=np.int64)
        targets = np.full((c.batch_size, c.crop), -100, dtype=np.int64)
        for row, f in enumerate(files):
            x = data.train[f]
            ext = np.concatenate([np.full(rf, SILENCE, np.int64), x])
            start = int(rng.integers(0, max(1, len(x) - c.crop + 1)))
            window = ext[start : start + rf + c.crop]
            inputs[row, : len(window) - 1] = window[:-1]
            targets[row, : len(window) - rf] = window[rf:]
        return inputs, targets

    def train_epoch(
        self,
        module: nn.Module,
        data: AudioData,
        optimizer: torch.optim.Optimizer,
        epoch: int,
        world_rank: int = 0,
        world_size: int = 1,
    ) -> float:
        """``steps_per_epoch`` batches of random crops; mean loss in nats per sample."""
        from entertainai.torch_utils import epoch_rng

        if not data.train:
            raise InputError("no training recordings")
        rng = epoch_rng(self.config.seed, epoch, world_rank)  # each rank draws its own crops
        device = module_device(module)
        rf = self.config.receptive_field
        module.train()
        total, n = 0.0, 0
        deadline = getattr(self, "_deadline", None)
        for _ in range(max(1, self.config.steps_per_epoch // world_size)):
            if deadline is not None and time.monotonic() > deadline:
                break
            inputs, targets = (torch.as_tensor(a, device=device) for a in self._crops(data, rng))
            logits = module(inputs)[:, :, rf - 1 :]
            loss = F.cross_entropy(logits, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(module.parameters(), 1.0)
            optimizer.step()
            count = int((targets >= 0).sum())
            total += float(loss.detach()) * count
            n += count
        return total / max(n, 1)

    def from_module(self, module: nn.Module, data: AudioData | None = None) -> Self:
        c = self.config
        self.module_ = WaveNetModule(c.residual_channels, c.skip_channels, c.dilations)
        self.module_.load_state_dict(
            {k: v.detach().cpu().clone() for k, v in unwrap(module).state_dict().items()}
        )
        self.module_.eval()
        self.fitted_ = True
        return self

    def validate(self, module: nn.Module, data: AudioData) -> float | None:
        """Bits per sample of (the first ``valid_samples`` of) the validation recordings."""
        valid = _cap(data.valid, self.config.valid_samples)
        return self._bits(unwrap(module), valid) if valid else None

    def fit(
        self, data: AudioData, progress: Callable[[int, float, float | None], None] | None = None
    ) -> Self:
        """Train; with validation recordings keep the weights of the best epoch."""
        if not data.train:
            raise InputError("no training recordings")
        set_threads(self.config)
        budget = self.config.max_train_seconds
        # train_epoch also stops mid-epoch at the deadline (an epoch can be long).
        self._deadline = time.monotonic() + budget if budget else None

        def report(record: dict[str, float]) -> None:
            record["loss_bits"] = record["loss"] / math.log(2)
            log.info("wavenet epoch %d: %s", record["epoch"], record)
            if progress:
                progress(int(record["epoch"]), record["loss_bits"], record.get("valid_bits"))

        try:
            module, self.history_ = train_locally(
                self, data, keep_best=True, budget_s=budget, callback=report
            )
        finally:
            self._deadline = None
        return self.from_module(module)

    def bits_per_sample(self, recordings: Sequence[np.ndarray], batch_size: int = 16) -> float:
        """Mean NLL in bits per sample over every sample of ``recordings`` (mu-law codes)."""
        self.check_fitted()
        return self._bits(self.module_, recordings, batch_size)

    @torch.no_grad()
    def _bits(
        self, module: nn.Module, recordings: Sequence[np.ndarray], batch_size: int = 16
    ) -> float:
        was_training = module.training
        module.eval()
        device = module_device(module)
        rf = self.config.receptive_field
        total, n = 0.0, 0
        order = sorted(range(len(recordings)), key=lambda i: len(recordings[i]))
        for start in range(0, len(order), batch_size):
            batch = [np.asarray(recordings[i], np.int64) for i in order[start : start + batch_size]]
            length = max(len(x) for x in batch)
            inputs = np.full((len(batch), rf + length - 1), SILENCE, dtype=np.int64)
            targets = np.full((len(batch), length), -100, dtype=np.int64)
            for row, x in enumerate(batch):
                inputs[row, rf : rf + len(x) - 1] = x[:-1]
                targets[row, : len(x)] = x
            logits = module(torch.as_tensor(inputs, device=device))[:, :, rf - 1 :]
            total += float(
                F.cross_entropy(logits, torch.as_tensor(targets, device=device), reduction="sum")
            )
            n += int((targets >= 0).sum())
        module.train(was_training)
        if n == 0:
            raise InputError("no samples to evaluate")
        return total / n / math.log(2)

    # ---- the pipeline ------------------------------------------------------------------------

    def _save_state(self, directory: Path) -> None:
        from safetensors.torch import save_file

        save_file(
            {k: v.contiguous() for k, v in self.module_.state_dict().items()},
            str(directory / WEIGHTS),
        )

    def _load_state(self, directory: Path) -> None:
        from safetensors.torch import load_file

        c = self.config
        self.module_ = WaveNetModule(c.residual_channels, c.skip_channels, c.dilations)
        try:
            self.module_.load_state_dict(load_file(str(directory / WEIGHTS)))
        except Exception as exc:  # truncated file or shape mismatch: corrupt artifact
            raise ValueError(str(exc)) from None
        self.module_.eval()

    @torch.no_grad()
    def __call__(
        self,
        seconds: float | None = None,
        num_samples: int | None = None,
        seed: int = 0,
        temperature: float = 1.0,
        primer: np.ndarray | bytes | None = None,
        top_k: int | None = None,
        max_time_s: float | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> AudioOutput:
        """Generate ``seconds`` (or ``num_samples``) of audio, optionally continuing ``primer``
        (float samples at the model's rate, or WAV bytes, resampled if needed)."""
        self.check_fitted()
        rate = self.config.sample_rate
        if seconds is not None and num_samples is None:
            total = int(round(seconds * rate))
        elif num_samples is not None and seconds is None:
            total = int(num_samples)
        else:
            raise InputError("give exactly one of seconds or num_samples")
        if not 1 <= total <= MAX_SECONDS * rate:
            raise LimitExceeded(
                f"length must be 1 sample .. {MAX_SECONDS:g} s, got {total} samples"
            )
        sampling = SamplingConfig(temperature=temperature, top_k=top_k)
        if isinstance(primer, bytes):
            primer = audio_io.load_wav(primer, rate, name="primer WAV")
        primer_codes = (
            audio_io.mu_law_encode(primer) if primer is not None else np.zeros(0, np.int64)
        )
        if len(primer_codes) > MAX_SECONDS * rate:
            raise LimitExceeded(f"primer longer than {MAX_SECONDS:g} s")
        rf = self.config.receptive_field
        # Warm the queues with one batched pass over silence + primer (all but its last code).
        history = np.concatenate([np.full(rf, SILENCE, np.int64), primer_codes])
        _, layers = self.module_(torch.as_tensor(history[None, :-1]), return_layers=True)
        fast = _Incremental(self.module_)
        fast.start([layer[0].numpy() for layer in layers])
        rng = np.random.default_rng(seed)
        deadline = time.monotonic() + max_time_s if max_time_s else None
        codes = np.empty(total, dtype=np.int64)
        code = int(history[-1])
        for i in range(total):
            logits = fast.step(code)
            code = int(rng.choice(CLASSES, p=next_token_probs(logits, sampling)))
            codes[i] = code
            if progress and (i + 1) % 1000 == 0 or progress and i + 1 == total:
                progress(i + 1, total)
            if deadline is not None and i % 256 == 0 and time.monotonic() > deadline:
                raise LimitExceeded(f"audio generation took longer than {max_time_s:g} s")
        samples = audio_io.mu_law_decode(codes)
        return AudioOutput(samples, codes, audio_io.wav_bytes(samples, rate), rate)


def _cap(recordings: Sequence[np.ndarray], limit: int) -> list[np.ndarray]:
    """The first recordings up to ``limit`` samples in all (a fixed, cheap validation set)."""
    out, n = [], 0
    for x in recordings:
        if n >= limit:
            break
        out.append(x)
        n += len(x)
    return out


def load_audio_data(folder: str | Path, config: WaveNetConfig | None = None) -> AudioData:
    """The train part of a WAV folder (standard split), every 20th file held out as validation."""
    rate = (config or WaveNetConfig()).sample_rate
    train = audio_io.load_folder(folder, rate, "train")
    if len(train) < 4:
        return AudioData(train=train, valid=train)  # too few files to hold any out
    return AudioData(
        train=[x for i, x in enumerate(train) if i % 20 != 7],
        valid=[x for i, x in enumerate(train) if i % 20 == 7],
    )


def training_job(data: str, params: Mapping[str, Any], every: int = 1) -> TorchJob:
    """The wavenet training job: ``entertainai train`` runs it here, ``train.wavenet`` on Ray.

    The best validation epoch's weights are the result.
    """
    return TorchJob(
        "wavenet",
        dict(params),
        load=functools.partial(load_audio_data, data),
        every=every,
        keep_best=True,
    )
