"""A small decoder-only character transformer in torch (nanoGPT-like), as a pipeline.

Pre-LayerNorm blocks, causal attention through ``scaled_dot_product_attention``, learned
positions, the output layer tied to the embedding. Training follows the torch contract
(``entertainai.torch_utils.TorchTrainable``) with an "epoch" of ``log_every`` steps, so a Ray
``TorchTrainer`` worker (``train/text_transformer.py`` through ``train/torch_runner.py``) and
``train_locally`` run the same ``train_steps``; :meth:`TextTransformer.fit` drives those same
steps with a wall-clock budget and progress calls. Validation loss is reported in nats per
character over the whole held-out tail.

On a GPU the loop keeps the host out of the way, as nanoGPT does: the encoded corpus lives on
the device and batches are cut there, the loss is summed on the device and read once per
``train_steps`` call (every ``log_every`` steps in ``fit``), bf16 autocast where the GPU has it,
fused AdamW, optionally ``torch.compile``; validation runs on the training device.

The directory (``model.json`` + ``tokenizer.json`` + ``weights.safetensors``) is at once the
Model artifact, the Train checkpoint and what ``from_pretrained`` reads.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from entertainai.errors import InputError
from entertainai.generate.text_corpus import CharTokenizer, TextGenerator, load_corpus, split_tail
from entertainai.model import Model
from entertainai.torch_utils import (
    PRECISIONS,
    TorchJob,
    TorchTraining,
    autocast,
    autocast_dtype,
    module_device,
    seed_everything,
    select_device,
    unwrap,
)

log = logging.getLogger(__name__)

WEIGHTS = "weights.safetensors"


@dataclass(frozen=True)
class TextTransformerConfig:
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 128
    dropout: float = 0.0
    batch_size: int = 32
    max_steps: int = 3000
    lr: float = 2e-3  # AdamW peak; warmup, then cosine down to lr * min_lr_ratio
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    # Wall-clock budget for fit(): the cosine schedule follows whichever of steps or time runs
    # out first. Single-process only: DDP ranks must agree on the step count.
    time_budget_s: float | None = None
    val_fraction: float = 0.1
    eval_every: int = 500
    log_every: int = 10  # fit(): steps per host sync (loss read, on_step, time-budget check)
    # "auto": bf16 autocast on CUDA devices with bf16, full precision elsewhere; "fp32", "bf16".
    precision: str = "auto"
    compile: bool = False  # fit(): train through torch.compile (pays a compile of ~1 min once)
    # torch intra-op threads on CPU. 1 by default: on a shared, oversubscribed machine two
    # threads spin at every barrier and ran 3x slower than one (measured under load 13).
    threads: int = 1
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise InputError(f"n_embd {self.n_embd} must be a multiple of n_head {self.n_head}")
        if min(self.n_layer, self.n_head, self.block_size, self.batch_size, self.max_steps) < 1:
            raise InputError("n_layer, n_head, block_size, batch_size, max_steps must be >= 1")
        if self.log_every < 1:
            raise InputError(f"log_every must be >= 1, got {self.log_every}")
        if self.precision not in PRECISIONS:
            raise InputError(f"precision must be one of {', '.join(PRECISIONS)}")


@dataclass(frozen=True)
class TextData:
    """A corpus encoded for training: its head, its held-out tail and the tokenizer of both."""

    ids: np.ndarray
    val_ids: np.ndarray
    tokenizer: CharTokenizer

    @classmethod
    def from_text(cls, text: str, val_fraction: float) -> TextData:
        train_text, val_text = split_tail(text, val_fraction)
        tokenizer = CharTokenizer.fit(text)
        return cls(tokenizer.encode(train_text), tokenizer.encode(val_text), tokenizer)


def load_text_data(path: str, config: TextTransformerConfig | None = None) -> TextData:
    """A corpus (file, folder of .txt or dataset) minus its ``val_fraction`` tail, encoded."""
    return TextData.from_text(load_corpus(path), (config or TextTransformerConfig()).val_fraction)


class Block(nn.Module):
    def __init__(self, c: TextTransformerConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(c.n_embd)
        self.qkv = nn.Linear(c.n_embd, 3 * c.n_embd)
        self.proj = nn.Linear(c.n_embd, c.n_embd)
        self.ln2 = nn.LayerNorm(c.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(c.n_embd, 4 * c.n_embd), nn.GELU(), nn.Linear(4 * c.n_embd, c.n_embd)
        )
        self.n_head = c.n_head
        self.dropout = c.dropout
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.n_head, d // self.n_head).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(
            q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0
        )
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(b, t, d)))
        return x + self.drop(self.mlp(self.ln2(x)))


class GPT(nn.Module):
    def __init__(self, vocab_size: int, c: TextTransformerConfig) -> None:
        super().__init__()
        self.block_size = c.block_size
        self.tok = nn.Embedding(vocab_size, c.n_embd)
        self.pos = nn.Embedding(c.block_size, c.n_embd)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layer))
        self.ln_f = nn.LayerNorm(c.n_embd)
        self.head = nn.Linear(c.n_embd, vocab_size, bias=False)
        self.head.weight = self.tok.weight  # weight tying (saved once, re-tied at load)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2: scaled init of residual projections
            if name.endswith(("proj.weight", "mlp.2.weight")):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * c.n_layer))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits (batch, time, vocab) for ids (batch, time <= block_size)."""
        t = ids.shape[1]
        x = self.drop(self.tok(ids) + self.pos(torch.arange(t, device=ids.device)))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def lr_at(config: TextTransformerConfig, progress: float, step: int) -> float:
    """Linear warmup over ``warmup_steps``, then cosine from ``lr`` to ``lr * min_lr_ratio``."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
    return config.lr * (config.min_lr_ratio + (1.0 - config.min_lr_ratio) * cosine)


def corpus_tensor(ids: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """The encoded corpus as an int64 tensor on ``device`` (no copy if it already is one)."""
    if isinstance(ids, torch.Tensor):
        return ids.to(device=device, dtype=torch.long)
    return torch.from_numpy(np.asarray(ids, dtype=np.int64)).to(device)


def step_seed(seed: int, step: int, world_rank: int) -> int:
    """A 63-bit seed for one (step, rank)'s batch, independent of every other pair's."""
    return int(
        np.random.SeedSequence([seed, step, world_rank]).generate_state(1, np.uint64)[0] >> 1
    )


def sample_batch(
    ids: torch.Tensor, block_size: int, batch_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows of ``block_size`` inputs and their next-character targets.

    Drawn and gathered on the corpus' device with ``generator`` (on that device too), so a GPU
    step needs no host-to-device copy and no wait for one.
    """
    if len(ids) <= block_size:
        raise InputError(f"training text ({len(ids)} chars) shorter than block_size {block_size}")
    starts = torch.randint(
        0, len(ids) - block_size, (batch_size,), device=ids.device, generator=generator
    )
    chunk = ids[starts[:, None] + torch.arange(block_size + 1, device=ids.device)]
    return chunk[:, :-1], chunk[:, 1:]


def validation_nats_per_char(module: nn.Module, ids: np.ndarray, batch_size: int = 64) -> float:
    """Mean negative log-likelihood of every character of ``ids`` after the first.

    Sliding windows of ``block_size`` with half-window stride: each window scores only its
    second half (the first window scores all), so every character but the first few sees at
    least half a window of context, as it would when generating. Runs on the module's device,
    in full precision, and reads the sum back once.
    """
    total, count = validation_sums(module, ids, batch_size)
    return float(total) / count


@torch.inference_mode()
def validation_sums(
    module: nn.Module, ids: np.ndarray, batch_size: int = 64
) -> tuple[torch.Tensor, int]:
    """The summed loss (a tensor on the module's device) and the number of scored characters."""
    inner: Any = unwrap(module)
    was_training = inner.training
    inner.eval()
    device = module_device(inner)
    block = inner.block_size
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) < 2:
        raise InputError("validation text needs at least 2 characters")
    stride = max(block // 2, 1)
    windows: list[tuple[int, int]] = []  # (start, first scored offset inside the window)
    start = 0
    while True:
        end = min(start + block, len(ids) - 1)
        windows.append((start, 0 if start == 0 else block - stride))
        if end >= len(ids) - 1:
            break
        start += stride
    total, count = torch.zeros((), device=device), 0
    for b in range(0, len(windows), batch_size):
        group = windows[b : b + batch_size]
        length = min(block, len(ids) - 1 - group[0][0])
        lengths = [min(block, len(ids) - 1 - s) for s, _ in group]
        x = np.zeros((len(group), length), dtype=np.int64)
        y = np.full((len(group), length), -100, dtype=np.int64)
        for r, ((s, first), n) in enumerate(zip(group, lengths, strict=True)):
            n = min(n, length)
            x[r, :n] = ids[s : s + n]
            y[r, first:n] = ids[s + 1 + first : s + 1 + n]
        logits = inner(torch.as_tensor(x, device=device))
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            torch.as_tensor(y, device=device).reshape(-1),
            ignore_index=-100,
            reduction="sum",
        )
        total += loss
        count += int((y != -100).sum())
    inner.train(was_training)
    return total, count


class _GPTStepper:
    """Incremental decoding: re-run the last ``block_size`` tokens each step (no KV cache)."""

    def __init__(self, module: GPT) -> None:
        self.module = module
        self.ids: torch.Tensor | None = None

    @torch.inference_mode()
    def _logits(self) -> np.ndarray:
        assert self.ids is not None
        window = self.ids[:, -self.module.block_size :]
        return self.module(window)[:, -1, :].double().cpu().numpy()

    def start(self, prompt_ids: np.ndarray, n: int) -> np.ndarray:
        device = module_device(self.module)
        self.ids = torch.as_tensor(prompt_ids, device=device).view(1, -1).repeat(n, 1)
        return self._logits()

    def advance(self, tokens: np.ndarray) -> np.ndarray:
        assert self.ids is not None
        new = torch.as_tensor(tokens, dtype=torch.long, device=self.ids.device).view(-1, 1)
        self.ids = torch.cat([self.ids, new], dim=1)[:, -self.module.block_size :]
        return self._logits()


class TextTransformer(TorchTraining, TextGenerator, Model[TextTransformerConfig]):
    """Character-level GPT; ``fit(text)`` then ``model(prompt, ...)`` or ``model.stream(...)``."""

    kind = "text_transformer"
    Config = TextTransformerConfig
    config: TextTransformerConfig
    validation_metric = "val_nats_per_char"
    _corpus: tuple[np.ndarray, torch.device, torch.Tensor] | None = None

    # ---- training, one worker's view -------------------------------------------------------

    def n_epochs(self) -> int:
        """Epochs of ``log_every`` steps: one host sync (the loss read) per epoch."""
        return math.ceil(self.config.max_steps / self.config.log_every)

    def build_module(self, data: TextData | int) -> GPT:
        vocab_size = data if isinstance(data, int) else data.tokenizer.vocab_size
        seed_everything(self.config.seed)  # identical initial weights on every rank
        return GPT(vocab_size, self.config)

    def build_optimizer(self, module: nn.Module) -> torch.optim.Optimizer:
        # No weight decay on biases, norms and embeddings' 1-D parameters (as nanoGPT).
        params = [p for p in module.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        # Fused on CUDA: one kernel for all parameters instead of a dozen per tensor.
        fused = {"fused": True} if module_device(module).type == "cuda" else {}
        return torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": self.config.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=self.config.lr,
            betas=(0.9, 0.99),
            **fused,
        )

    def for_training(self, module: nn.Module) -> nn.Module:
        """What ``train_steps`` should step: ``torch.compile(module)`` if ``config.compile``.

        The compiled wrapper shares its parameters with ``module``; validate and adopt
        ``module`` itself (evaluation shapes would only trigger recompiles).
        """
        if not self.config.compile:
            return module
        compiled: nn.Module = torch.compile(module)  # type: ignore[assignment]
        return compiled

    def train_steps(
        self,
        module: nn.Module,
        ids: np.ndarray | torch.Tensor,
        optimizer: torch.optim.Optimizer,
        steps: range,
        world_rank: int = 0,
        world_size: int = 1,
        progress: Callable[[int], float] | None = None,
    ) -> float:
        """Run ``steps`` optimiser steps on random windows; returns their mean loss.

        ``ids`` is the encoded corpus, best already a tensor on the module's device
        (:func:`corpus_tensor`); a NumPy array is copied there once per call. Each (step, rank)
        draws its own batch from a device generator seeded by (seed, step, rank), so resuming at
        a step reproduces the run on the same kind of device. ``progress(step)`` gives the
        schedule's position in [0, 1] (default ``step / max_steps``). The loss is summed on the
        device and read once, at the end: no step waits for the GPU.
        """
        c = self.config
        device = module_device(module)
        corpus = corpus_tensor(ids, device)
        dtype = autocast_dtype(device, c.precision)
        generator = torch.Generator(device=device)
        params = [p for p in module.parameters() if p.requires_grad]
        module.train()
        total = torch.zeros((), device=device)
        for step in steps:
            fraction = progress(step) if progress else step / c.max_steps
            for group in optimizer.param_groups:
                group["lr"] = lr_at(c, fraction, step)
            generator.manual_seed(step_seed(c.seed, step, world_rank))
            x, y = sample_batch(corpus, c.block_size, c.batch_size, generator)
            with autocast(device, dtype):
                logits = module(x)
                loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if c.grad_clip:
                nn.utils.clip_grad_norm_(params, c.grad_clip)
            optimizer.step()
            total += loss.detach()
        return float(total) / max(len(steps), 1)  # the call's one host sync

    def train_epoch(
        self,
        module: nn.Module,
        data: TextData,
        optimizer: torch.optim.Optimizer,
        epoch: int,
        world_rank: int = 0,
        world_size: int = 1,
    ) -> dict[str, float]:
        """Steps ``epoch * log_every`` up to the next ``log_every`` (or ``max_steps``): their
        mean loss and the step count reached."""
        c = self.config
        steps = range(epoch * c.log_every, min((epoch + 1) * c.log_every, c.max_steps))
        device = module_device(module)
        cached = self._corpus
        # The corpus is copied to the device once per data set, not once per epoch.
        if cached is None or cached[0] is not data.ids or cached[1] != device:
            cached = (data.ids, device, corpus_tensor(data.ids, device))
            self._corpus = cached
        loss = self.train_steps(module, cached[2], optimizer, steps, world_rank, world_size)
        return {"loss": loss, "step": steps.stop}

    def budget_s(self) -> float | None:
        return self.config.time_budget_s

    def validate(self, module: nn.Module, data: TextData) -> float | None:
        """Nats per character of the whole held-out tail, on the module's device."""
        return validation_nats_per_char(module, data.val_ids)

    def from_module(self, module: nn.Module, data: TextData | CharTokenizer) -> Self:
        """Adopt weights trained elsewhere (e.g. by a Ray TorchTrainer) as the fitted state."""
        tokenizer = data if isinstance(data, CharTokenizer) else data.tokenizer
        self._corpus = None
        inner = unwrap(module)
        assert isinstance(inner, GPT)
        fresh = GPT(tokenizer.vocab_size, self.config)
        fresh.load_state_dict({k: v.detach().cpu() for k, v in inner.state_dict().items()})
        self.module_ = fresh.eval()
        self.tokenizer_ = tokenizer
        self.fitted_ = True
        return self

    # ---- the local loop -------------------------------------------------------------------

    def fit(
        self,
        text: str,
        *,
        val_text: str | None = None,
        tokenizer: CharTokenizer | None = None,
        on_step: Callable[[int, float], None] | None = None,
    ) -> Self:
        """Train on ``text`` (its tail held out unless ``val_text`` is given) in this process.

        ``metrics_`` holds ``val_nats_per_char`` (and its history every ``eval_every`` steps),
        measured on the training device. ``on_step(step, loss)`` is called every ``log_every``
        steps (a progress bar); only then does the host wait for the device.
        """
        c = self.config
        torch.set_num_threads(max(1, c.threads))
        if val_text is None:
            text, val_text = split_tail(text, c.val_fraction)
        tokenizer = tokenizer or CharTokenizer.fit(text + val_text)
        ids, val_ids = tokenizer.encode(text), tokenizer.encode(val_text, what="validation text")
        device = select_device(c.device)
        module = self.build_module(tokenizer.vocab_size).to(device)
        optimizer = self.build_optimizer(module)
        corpus = corpus_tensor(ids, device)  # copied to the device once, cut into batches there
        trained = self.for_training(module)
        started = time.monotonic()

        def progress(step: int) -> float:
            by_steps = step / c.max_steps
            if c.time_budget_s:
                return max(by_steps, (time.monotonic() - started) / c.time_budget_s)
            return by_steps

        history: list[dict[str, float]] = []
        step = 0
        while step < c.max_steps and progress(step) < 1.0:
            stop = min(step + c.log_every, c.max_steps)
            if c.eval_every:  # end chunks at evaluation points
                stop = min(stop, (step // c.eval_every + 1) * c.eval_every)
            chunk = range(step, stop)
            loss = self.train_steps(trained, corpus, optimizer, chunk, progress=progress)
            step = chunk.stop
            if on_step:
                on_step(step, loss)
            if c.eval_every and step % c.eval_every == 0 and step < c.max_steps:
                history.append(
                    {"step": step, "val_nats_per_char": self._quick_val(module, val_ids)}
                )
                log.info("step %d val %.4f nats/char", step, history[-1]["val_nats_per_char"])
        val = validation_nats_per_char(module, val_ids)  # on the training device
        self.from_module(module, tokenizer)
        self.metrics_ = {
            "val_nats_per_char": val,
            "steps": step,
            "train_seconds": time.monotonic() - started,
            "history": history,
        }
        return self

    @staticmethod
    def _quick_val(module: nn.Module, val_ids: np.ndarray) -> float:
        return validation_nats_per_char(module, val_ids[:20_000])

    def validation_nats_per_char(self, text: str) -> float:
        """This model's loss on ``text`` in nats per character."""
        self.check_fitted()
        return validation_nats_per_char(self.module_, self.tokenizer_.encode(text))

    # ---- generation -----------------------------------------------------------------------

    def stepper(self) -> _GPTStepper:
        self.check_fitted()
        return _GPTStepper(self.module_)

    # ---- persistence ----------------------------------------------------------------------

    def _save_state(self, directory: Path) -> None:
        from safetensors.torch import save_file

        state = {
            k: v.contiguous() for k, v in self.module_.state_dict().items() if k != "head.weight"
        }
        save_file(state, str(directory / WEIGHTS))
        self.tokenizer_.save(directory)

    def _load_state(self, directory: Path) -> None:
        from safetensors.torch import load_file

        self.tokenizer_ = CharTokenizer.load(directory)
        module = GPT(self.tokenizer_.vocab_size, self.config)
        state = load_file(str(directory / WEIGHTS))
        state["head.weight"] = state["tok.weight"]
        try:
            module.load_state_dict(state)
        except RuntimeError as exc:
            raise ValueError(f"weights do not match the config: {exc}") from None
        self.module_ = module.eval()


def training_job(data: str, params: Mapping[str, Any], every: int = 1) -> TorchJob:
    """The transformer's training job: ``train.text_transformer`` runs it on Ray, ``entertainai
    train text-transformer`` here. An epoch is ``log_every`` steps; ``every`` epochs between
    validations (and, on Ray, reports)."""
    return TorchJob(
        "text_transformer",
        dict(params),
        load=functools.partial(load_text_data, data),
        every=every,
    )
