"""Melody generation: a torch LSTM over 16th-note step tokens (see ``music_data``).

At step t the network sees the previous token, the pitch sounding after it and the position
in the bar (t mod 16), and predicts token t; its cross-entropy per token is the NLL per
16th-note step. Training transposes each melody by a random shift every epoch (key-invariant
data, 12x more of it) and keeps the weights of the epoch with the best validation NLL.

Pipeline API (diffusers style): ``MelodyGenerator.from_pretrained(dir)`` then
``gen(primer="60,62,64", length_steps=64, temperature=0.9, key="G", tempo_bpm=96, seed=1)``
-> ``MelodyOutput`` with note events, MIDI bytes and optional WAV bytes.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from entertainai.errors import InputError, LimitExceeded
from entertainai.generate import music_data as md
from entertainai.generate.audio_io import wav_bytes
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
BAR = 16  # 16th-note steps per 4/4 bar: the position feature
MAX_STEPS = 4096
WAV_RATE = 16000


@dataclass(frozen=True)
class MelodyConfig:
    low: int = md.LOW
    high: int = md.HIGH
    embed_dim: int = 64
    hidden: int = 128
    layers: int = 2
    dropout: float = 0.2
    lr: float = 3e-3
    epochs: int = 30
    # Small batches of short crops: JSB has only 229 chorales, and the number of updates, not
    # of epochs, is what limits a short training run (batch 16 of whole chorales: 15 per epoch).
    batch_size: int = 8
    window: int = 128  # training crop, in steps
    transpose: int = 6  # random shift in [-transpose, transpose] per melody and epoch
    clip: float = 1.0
    max_train_seconds: float | None = None  # stop training after this wall time
    seed: int = 0
    device: str = "auto"
    # One thread: on a shared CPU a second OpenMP thread mostly spin-waits (measured 8x the
    # CPU time per LSTM batch under load for no wall-time gain).
    threads: int = 1

    @property
    def vocab(self) -> md.Vocab:
        return md.Vocab(self.low, self.high)


@dataclass
class MelodyData:
    """Token sequences (one per melody) of the train and validation parts."""

    train: list[np.ndarray]
    valid: list[np.ndarray] = field(default_factory=list)


@dataclass(frozen=True)
class MelodyOutput:
    tokens: np.ndarray  # primer + continuation, one per 16th-note step
    notes: list[md.NoteEvent]
    midi: bytes
    wav: bytes | None
    key: str  # estimated key of the output
    tempo_bpm: float
    primer_steps: int


class MelodyLSTM(nn.Module):
    def __init__(self, vocab_size: int, embed: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        self.bos = vocab_size  # an input-only token that starts every melody
        self.tokens = nn.Embedding(vocab_size + 1, embed)
        self.sounding = nn.Embedding(vocab_size, embed)
        self.position = nn.Embedding(BAR, embed)
        self.lstm = nn.LSTM(
            3 * embed, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(
        self,
        tokens: torch.Tensor,
        sounding: torch.Tensor,
        position: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        x = torch.cat(
            [self.tokens(tokens), self.sounding(sounding), self.position(position % BAR)], -1
        )
        y, state = self.lstm(self.drop(x), state)
        return self.head(self.drop(y)), state


def model_inputs(
    tokens: np.ndarray, vocab: md.Vocab, bos: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs for predicting every token of a melody: previous token, sounding pitch, step."""
    previous = np.concatenate([[bos], tokens[:-1]])
    sound = np.concatenate([[md.REST], md.sounding(tokens, vocab)[:-1]])
    return previous, sound, np.arange(len(tokens))


def _batch(
    items: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]], device: torch.device
) -> tuple[torch.Tensor, ...]:
    """Pad (inputs..., targets) to one length; padded targets are ignored (-100)."""
    length = max(len(t) for *_, t in items)
    out = []
    for column, pad in zip(range(4), (0, md.REST, 0, -100), strict=True):
        rows = np.full((len(items), length), pad, dtype=np.int64)
        for i, item in enumerate(items):
            rows[i, : len(item[column])] = item[column]
        out.append(torch.as_tensor(rows, device=device))
    return tuple(out)


class MelodyGenerator(TorchTraining, Model[MelodyConfig]):
    kind = "melody_lstm"
    validation_metric = "valid_nll"  # nats per 16th-note step
    Config = MelodyConfig
    config: MelodyConfig

    # ---- training, one worker's view (same API as the torch recommenders) ------------------

    def build_module(self, data: MelodyData | None = None) -> MelodyLSTM:
        seed_everything(self.config.seed)  # identical initial weights on every rank
        c = self.config
        return MelodyLSTM(c.vocab.size, c.embed_dim, c.hidden, c.layers, c.dropout)

    def build_optimizer(self, module: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.Adam(module.parameters(), lr=self.config.lr)

    def _examples(
        self, melodies: Sequence[np.ndarray], rng: np.random.Generator | None
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """(previous, sounding, position, target) per melody; with ``rng``: a random
        transposition and a random ``window``-step crop (training)."""
        vocab, bos = self.config.vocab, self.config.vocab.size
        out = []
        for tokens in melodies:
            if rng is not None and self.config.transpose:
                shifted = md.transpose_tokens(
                    tokens,
                    int(rng.integers(-self.config.transpose, self.config.transpose + 1)),
                    vocab,
                )
                tokens = shifted if shifted is not None else tokens
            prev, sound, pos = model_inputs(tokens, vocab, bos)
            start, stop = 0, len(tokens)
            if rng is not None and len(tokens) > self.config.window:
                start = int(rng.integers(0, len(tokens) - self.config.window + 1))
                stop = start + self.config.window
            out.append((prev[start:stop], sound[start:stop], pos[start:stop], tokens[start:stop]))
        return out

    def train_epoch(
        self,
        module: nn.Module,
        data: MelodyData,
        optimizer: torch.optim.Optimizer,
        epoch: int,
        world_rank: int = 0,
        world_size: int = 1,
    ) -> float:
        """One pass over this rank's shard of the training melodies; mean loss per step."""
        from entertainai.torch_utils import epoch_rng, shard

        mine = shard(len(data.train), self.config.seed, epoch, world_rank, world_size)
        rng = epoch_rng(self.config.seed, epoch, world_rank)
        examples = self._examples([data.train[i] for i in mine], rng)
        device = module_device(module)
        module.train()
        total, n = 0.0, 0
        for start in range(0, len(examples), self.config.batch_size):
            prev, sound, pos, target = _batch(
                examples[start : start + self.config.batch_size], device
            )
            logits, _ = module(prev, sound, pos)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(module.parameters(), self.config.clip)
            optimizer.step()
            count = int((target >= 0).sum())
            total += float(loss.detach()) * count
            n += count
        return total / max(n, 1)

    def from_module(self, module: nn.Module, data: MelodyData | None = None) -> Self:
        """Adopt weights trained elsewhere (a Ray TorchTrainer worker) as the fitted state."""
        c = self.config
        self.module_ = MelodyLSTM(c.vocab.size, c.embed_dim, c.hidden, c.layers, c.dropout)
        state = {k: v.detach().cpu().clone() for k, v in unwrap(module).state_dict().items()}
        self.module_.load_state_dict(state)
        self.module_.eval()
        self.fitted_ = True
        return self

    # ---- fit / evaluate ------------------------------------------------------------------

    def validate(self, module: nn.Module, data: MelodyData) -> float | None:
        """NLL of the validation melodies under ``module``, on its device (None: no part)."""
        return self._nll(unwrap(module), data.valid) if data.valid else None

    def fit(
        self, data: MelodyData, progress: Callable[[int, float, float | None], None] | None = None
    ) -> Self:
        """Train ``epochs`` epochs; with validation melodies keep the best epoch's weights."""
        if not data.train:
            raise InputError("no training melodies")
        set_threads(self.config)

        def report(record: dict[str, float]) -> None:
            log.info("melody epoch %d: %s", record["epoch"], record)
            if progress:
                progress(int(record["epoch"]), record["loss"], record.get("valid_nll"))

        module, self.history_ = train_locally(
            self, data, keep_best=True, budget_s=self.config.max_train_seconds, callback=report
        )
        return self.from_module(module)

    def nll(self, melodies: Sequence[np.ndarray], batch_size: int = 32) -> float:
        """Mean NLL in nats per 16th-note step over every step of ``melodies``."""
        self.check_fitted()
        return self._nll(self.module_, melodies, batch_size)

    @torch.no_grad()
    def _nll(
        self, module: nn.Module, melodies: Sequence[np.ndarray], batch_size: int = 32
    ) -> float:
        was_training = module.training
        module.eval()
        device = module_device(module)
        examples = self._examples(melodies, None)
        total, n = 0.0, 0
        for start in range(0, len(examples), batch_size):
            prev, sound, pos, target = _batch(examples[start : start + batch_size], device)
            logits, _ = module(prev, sound, pos)
            total += float(
                F.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="sum"
                )
            )
            n += int((target >= 0).sum())
        module.train(was_training)
        if n == 0:
            raise InputError("no melody steps to evaluate")
        return total / n

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
        self.module_ = MelodyLSTM(c.vocab.size, c.embed_dim, c.hidden, c.layers, c.dropout)
        try:
            self.module_.load_state_dict(load_file(str(directory / WEIGHTS)))
        except Exception as exc:  # truncated file or shape mismatch: corrupt artifact
            raise ValueError(str(exc)) from None
        self.module_.eval()

    @torch.no_grad()
    def __call__(
        self,
        primer: str | Sequence[int] | None = None,
        length_steps: int = 64,
        temperature: float = 1.0,
        top_k: int | None = None,
        key: str | None = None,
        tempo_bpm: float = 100.0,
        seed: int = 0,
        wav: bool = False,
        program: int = 0,
        top_p: float | None = None,
        max_time_s: float | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> MelodyOutput:
        """Continue ``primer`` (``"60,62:2,r"`` or tokens) by ``length_steps`` 16th steps."""
        self.check_fitted()
        vocab = self.config.vocab
        if not 1 <= length_steps <= MAX_STEPS:
            raise LimitExceeded(f"length_steps must be in 1..{MAX_STEPS}, got {length_steps}")
        if not 20 <= tempo_bpm <= 300:
            raise InputError(f"tempo_bpm must be in 20..300, got {tempo_bpm}")
        if key is not None:
            md.parse_key(key)  # a bad key fails before any work
        sampling = SamplingConfig(temperature=temperature, top_k=top_k, top_p=top_p)
        if isinstance(primer, str):
            primed = md.parse_primer(primer, vocab)
        else:
            primed = np.asarray(primer if primer is not None else [], dtype=np.int64)
            if primed.size and (primed.min() < 0 or primed.max() >= vocab.size):
                raise InputError(f"primer tokens must be in 0..{vocab.size - 1}")
        if len(primed) > MAX_STEPS:
            raise LimitExceeded(f"primer is longer than {MAX_STEPS} steps")
        rng = np.random.default_rng(seed)
        module = self.module_
        module.eval()
        device = module_device(module)
        deadline = time.monotonic() + max_time_s if max_time_s else None

        def step(token: int, sound: int, t: int, state):  # noqa: ANN001, ANN202
            inputs = (torch.tensor([[v]], device=device) for v in (token, sound, t))
            logits, state = module(*inputs, state)
            return logits[0, -1].float().cpu().numpy(), state

        tokens = [int(t) for t in primed]
        state = None
        if tokens:
            # Teacher-force the primer in one batched pass (it consumes BOS .. tokens[-2]) ...
            prev, sound, pos = model_inputs(np.asarray(tokens), vocab, module.bos)
            _, state = module(
                *(torch.as_tensor(a[None], device=device) for a in (prev, sound, pos))
            )
        if tokens:  # ... then the last one gives the logits of the first new step.
            last_sound = int(md.sounding(np.asarray(tokens), vocab)[-1])
            logits, state = step(tokens[-1], last_sound, len(tokens), state)
        else:
            logits, state = step(module.bos, md.REST, 0, None)
        current = int(md.sounding(np.asarray(tokens), vocab)[-1]) if tokens else md.REST
        for i in range(length_steps):
            if deadline is not None and time.monotonic() > deadline:
                raise LimitExceeded(f"generation took longer than {max_time_s} s")
            masked = logits.astype(np.float64)
            if current == md.REST:
                masked[md.HOLD] = -np.inf  # nothing sounds, so nothing can be held
            probs = next_token_probs(masked, sampling)
            token = int(rng.choice(probs.size, p=probs))
            tokens.append(token)
            if token == md.REST:
                current = md.REST
            elif token != md.HOLD:
                current = token
            if progress:
                progress(i + 1)
            if i + 1 < length_steps:
                logits, state = step(token, current, len(tokens), state)
        notes = md.tokens_to_notes(tokens, vocab)
        if key is not None:
            notes, _ = md.transpose_to_key(notes, key, vocab)
        out_tokens = md.notes_to_tokens(notes, vocab)
        out_tokens = np.concatenate(
            [out_tokens, np.full(len(tokens) - len(out_tokens), md.REST, np.int64)]
        )
        midi = md.to_midi(notes, tempo_bpm=tempo_bpm, program=program)
        audio = (
            wav_bytes(md.render(notes, tempo_bpm=tempo_bpm, sample_rate=WAV_RATE), WAV_RATE)
            if wav
            else None
        )
        return MelodyOutput(
            tokens=out_tokens,
            notes=notes,
            midi=midi,
            wav=audio,
            key=md.key_name(*md.estimate_key(notes)),
            tempo_bpm=float(tempo_bpm),
            primer_steps=len(primed),
        )


def load_melody_data(path: str | Path, config: MelodyConfig | None = None) -> MelodyData:
    """Train and validation melodies of a corpus (JSB JSON or a folder of MIDI files)."""
    vocab = (config or MelodyConfig()).vocab
    return MelodyData(
        train=md.load_corpus(path, "train", vocab), valid=md.load_corpus(path, "valid", vocab)
    )


def training_job(data: str, params: Mapping[str, Any], every: int = 1) -> TorchJob:
    """The melody_lstm training job: ``entertainai train`` runs it here, ``train.melody`` on Ray.

    The best validation epoch's weights are the result.
    """
    return TorchJob(
        "melody_lstm",
        dict(params),
        load=functools.partial(load_melody_data, data),
        every=every,
        keep_best=True,
    )
