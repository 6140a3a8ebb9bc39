"""Fine-tuning the sentence encoder on labelled texts: by default only when a GPU is there.

The encoder's (normalised) sentence embedding feeds a temporary linear head; cross-entropy with
balanced class weights (single-label) or binary cross-entropy (multi-label) trains both for a
few epochs (AdamW; bf16 autocast and the fused optimiser on CUDA). The head is then dropped:
the tuned encoder's embeddings feed the classifier's own calibrated linear head, exactly as the
pretrained encoder's do. A tuned encoder never replaces the installed one: it is a copy that
lives inside the artifact using it, with its weights' sha256 recorded and checked on load.
On 2 CPU cores a pass over 20k tweets costs about an hour, hence ``auto`` = GPU only.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from entertainai.analytics.encoder import (
    WEIGHTS_FILE,
    EncoderUnavailable,
    SentenceEncoder,
    file_sha256,
)
from entertainai.errors import InputError

log = logging.getLogger(__name__)

FINE_TUNE_MODES = ("auto", "always", "never")
HEAD_LEARNING_RATE = 1e-3  # the fresh head learns fast; the pretrained layers slowly


@dataclass(frozen=True)
class FineTuneConfig:
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 2e-5
    max_seq_length: int = 128
    seed: int = 0
    device: str | None = None  # None/"auto": CUDA when available, else the CPU


def check_mode(mode: str) -> str:
    if mode not in FINE_TUNE_MODES:
        raise InputError(f"fine_tune_encoder must be one of {FINE_TUNE_MODES}, got {mode!r}")
    return mode


def should_fine_tune(mode: str) -> bool:
    """``auto``: when a CUDA GPU is present; ``always``; ``never``."""
    if check_mode(mode) == "auto":
        import torch

        return bool(torch.cuda.is_available())
    return mode == "always"


def fine_tune(
    base: SentenceEncoder,
    texts: list[str],
    Y: np.ndarray,
    multi_label: bool,
    config: FineTuneConfig = FineTuneConfig(),
) -> SentenceEncoder:
    """A tuned copy of ``base`` (``base`` itself, shared by the process, is left untouched)."""
    import torch
    import torch.nn.functional as F

    from entertainai.torch_utils import autocast, autocast_dtype, seed_everything, select_device

    device = select_device(config.device or "auto")
    cuda = device.type == "cuda"
    seed_everything(config.seed)
    model = copy.deepcopy(base.model).to(device)
    model.max_seq_length = config.max_seq_length
    head = torch.nn.Linear(base.dim, Y.shape[1]).to(device)
    optimizer = torch.optim.AdamW(
        [
            {"params": list(model.parameters()), "lr": config.learning_rate},
            {"params": list(head.parameters()), "lr": HEAD_LEARNING_RATE},
        ],
        fused=cuda,
    )
    precision = autocast_dtype(device)  # bf16 on a CUDA GPU that has it, else full precision
    targets = torch.as_tensor(Y, dtype=torch.float32, device=device)
    counts = Y.sum(axis=0).astype(np.float64)
    weights = torch.as_tensor(
        len(Y) / (Y.shape[1] * np.maximum(counts, 1.0)), dtype=torch.float32, device=device
    )
    rng = np.random.default_rng(config.seed)
    model.train()
    losses = []
    for _ in range(config.epochs):
        order = rng.permutation(len(texts))
        for start in range(0, len(texts), config.batch_size):
            rows = order[start : start + config.batch_size]
            features = {
                k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
                for k, v in model.preprocess([texts[i] for i in rows]).items()
            }
            with autocast(device, precision):
                logits = head(model(features)["sentence_embedding"]).float()
            batch = targets[torch.as_tensor(rows, device=device)]
            if multi_label:
                loss = F.binary_cross_entropy_with_logits(logits, batch)
            else:
                loss = F.cross_entropy(logits, batch.argmax(dim=1), weight=weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
    model.eval()
    if losses:  # one host sync for the whole run, not one per step
        history = torch.stack(losses).float().cpu().numpy()
        log.info(
            "fine-tuned %s on %d texts (%s): loss %.4f -> %.4f",
            base.name,
            len(texts),
            device,
            float(history[: max(1, len(history) // 10)].mean()),
            float(history[-max(1, len(history) // 10) :].mean()),
        )
    return SentenceEncoder(base.name, "", model, base.batch_size, tuned=True)


def save_tuned(encoder: SentenceEncoder, directory: Path) -> str:
    """Write a tuned encoder's files under ``directory``; the weights' sha256."""
    encoder.model.save(str(directory))
    encoder.sha256 = file_sha256(directory / WEIGHTS_FILE)
    return encoder.sha256


def load_tuned(directory: Path, name: str, sha256: str) -> SentenceEncoder:
    """A tuned encoder saved with an artifact, refused unless its weights' sha256 matches."""
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise EncoderUnavailable(f"{directory}: the tuned encoder's {WEIGHTS_FILE} is missing")
    actual = file_sha256(weights)
    if actual != sha256:
        raise EncoderUnavailable(
            f"{weights}: sha256 {actual[:16]}... is not the recorded {sha256[:16]}... of this "
            "model's tuned encoder; refusing modified weights"
        )
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise EncoderUnavailable(
            "sentence-transformers is not installed: pip install 'entertainai[encoder]'"
        ) from None
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = SentenceTransformer(
        str(directory), device=device, local_files_only=True, trust_remote_code=False
    )
    return SentenceEncoder(name, actual, model, tuned=True)
