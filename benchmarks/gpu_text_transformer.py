"""Training steps/s of the text transformer against a minimal nanoGPT loop, same config.

    python -m benchmarks.gpu_text_transformer /work/shared/data/tinyshakespeare/input.txt
    python -m benchmarks.gpu_text_transformer input.txt --no-compile --steps 300
    python -m benchmarks.gpu_text_transformer input.txt --tiny          # a CPU check, seconds

The default is nanoGPT's shakespeare-char configuration (6 layers, 6 heads, 384 wide, context
256, batch 64, dropout 0.2, AdamW lr 1e-3, betas (0.9, 0.99), grad clip 1). Both loops run it
with ``torch.compile``, bf16 autocast where the GPU supports it and fused AdamW on CUDA:

* project: ``TextTransformer.build_module`` / ``build_optimizer`` / ``for_training`` /
  ``train_steps``, the loop ``fit()`` and the Ray Train job use, read back every 10 steps;
* reference: nanoGPT's ``model.py`` and ``train.py`` cut to the training step, written out here
  (batches cut on the CPU, pinned and copied asynchronously while the step runs, the loss read
  every 10 steps, as nanoGPT's ``log_interval``).

Each is warmed up (compilation included) and then timed over ``--steps`` steps between two
device synchronisations, ``--repeats`` times, alternating; the best repeat counts. TF32
matmuls are enabled for both, as nanoGPT does. Needs torch and this repository's
``entertainai`` package only (no Ray). Writes ``results.json`` to ``--out`` if given.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from entertainai.generate.text_corpus import CharTokenizer, read_text_file
from entertainai.generate.text_transformer import (
    TextTransformer,
    TextTransformerConfig,
    corpus_tensor,
)
from entertainai.torch_utils import autocast, autocast_dtype, select_device


@dataclass(frozen=True)
class Shape:
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 384
    block_size: int = 256
    batch_size: int = 64
    dropout: float = 0.2
    lr: float = 1e-3
    weight_decay: float = 0.1
    grad_clip: float = 1.0


TINY = Shape(n_layer=2, n_head=2, n_embd=64, block_size=64, batch_size=16)
LOG_EVERY = 10


# ---- the reference: nanoGPT's model.py, minimal ----------------------------------------------


class CausalSelfAttention(nn.Module):
    def __init__(self, s: Shape) -> None:
        super().__init__()
        self.c_attn = nn.Linear(s.n_embd, 3 * s.n_embd, bias=False)
        self.c_proj = nn.Linear(s.n_embd, s.n_embd, bias=False)
        self.resid_dropout = nn.Dropout(s.dropout)
        self.n_head, self.n_embd, self.dropout = s.n_head, s.n_embd, s.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
        )
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c)))


class MLP(nn.Module):
    def __init__(self, s: Shape) -> None:
        super().__init__()
        self.c_fc = nn.Linear(s.n_embd, 4 * s.n_embd, bias=False)
        self.c_proj = nn.Linear(4 * s.n_embd, s.n_embd, bias=False)
        self.dropout = nn.Dropout(s.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))


class RefBlock(nn.Module):
    def __init__(self, s: Shape) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(s.n_embd, bias=False)
        self.attn = CausalSelfAttention(s)
        self.ln_2 = nn.LayerNorm(s.n_embd, bias=False)
        self.mlp = MLP(s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class RefGPT(nn.Module):
    def __init__(self, vocab_size: int, s: Shape) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab_size, s.n_embd)
        self.wpe = nn.Embedding(s.block_size, s.n_embd)
        self.drop = nn.Dropout(s.dropout)
        self.h = nn.ModuleList(RefBlock(s) for _ in range(s.n_layer))
        self.ln_f = nn.LayerNorm(s.n_embd, bias=False)
        self.lm_head = nn.Linear(s.n_embd, vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * s.n_layer) if name.endswith("c_proj.weight") else 0.02
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(idx.size(1), device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def reference_stepper(
    data: np.ndarray, vocab_size: int, s: Shape, device: torch.device, compile_: bool
) -> Callable[[int], float]:
    """nanoGPT's train.py loop body; ``run(n)`` does n steps and returns the last read loss."""
    torch.manual_seed(1337)
    model = RefGPT(vocab_size, s).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": s.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    fused = {"fused": True} if device.type == "cuda" else {}
    optimizer = torch.optim.AdamW(groups, lr=s.lr, betas=(0.9, 0.99), **fused)
    step_model: Any = torch.compile(model) if compile_ else model
    ctx_dtype = autocast_dtype(device, "auto")
    cpu_data = torch.from_numpy(data.astype(np.int64))

    def get_batch() -> tuple[torch.Tensor, torch.Tensor]:
        ix = torch.randint(len(cpu_data) - s.block_size, (s.batch_size,))
        x = torch.stack([cpu_data[i : i + s.block_size] for i in ix.tolist()])
        y = torch.stack([cpu_data[i + 1 : i + 1 + s.block_size] for i in ix.tolist()])
        if device.type == "cuda":
            return (
                x.pin_memory().to(device, non_blocking=True),
                y.pin_memory().to(device, non_blocking=True),
            )
        return x, y

    state = {"batch": get_batch(), "iter": 0}

    def run(n: int) -> float:
        lossf = float("nan")
        model.train()
        for _ in range(n):
            x, y = state["batch"]
            with autocast(device, ctx_dtype):
                loss = step_model(x, y)
            state["batch"] = get_batch()  # prefetch while the GPU works, as nanoGPT
            loss.backward()
            nn.utils.clip_grad_norm_(params, s.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            state["iter"] += 1
            if state["iter"] % LOG_EVERY == 0:
                lossf = loss.item()
        return lossf

    return run


# ---- the project's loop ------------------------------------------------------------------------


def project_stepper(
    data: np.ndarray, vocab_size: int, s: Shape, device: torch.device, compile_: bool
) -> Callable[[int], float]:
    """``TextTransformer``'s training API, stepped ``LOG_EVERY`` steps per call as in fit()."""
    config = TextTransformerConfig(
        n_layer=s.n_layer,
        n_head=s.n_head,
        n_embd=s.n_embd,
        block_size=s.block_size,
        dropout=s.dropout,
        batch_size=s.batch_size,
        lr=s.lr,
        weight_decay=s.weight_decay,
        grad_clip=s.grad_clip,
        max_steps=10**9,  # a flat schedule after warmup, like nanoGPT's for these few steps
        warmup_steps=1,
        compile=compile_,
        device=str(device),
        threads=torch.get_num_threads(),
    )
    model = TextTransformer(config)
    module = model.build_module(vocab_size).to(device)
    optimizer = model.build_optimizer(module)
    trained = model.for_training(module)
    corpus = corpus_tensor(data, device)
    state = {"step": 0}

    def run(n: int) -> float:
        loss = float("nan")
        for start in range(0, n, LOG_EVERY):
            step = state["step"]
            stop = step + min(LOG_EVERY, n - start)
            loss = model.train_steps(trained, corpus, optimizer, range(step, stop))
            state["step"] = stop
        return loss

    return run


# ---- measuring ---------------------------------------------------------------------------------


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_steps(run: Callable[[int], float], steps: int, device: torch.device) -> float:
    sync(device)
    began = time.perf_counter()
    run(steps)
    sync(device)
    return steps / (time.perf_counter() - began)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", help="a UTF-8 text, e.g. tinyshakespeare/input.txt")
    parser.add_argument("--tiny", action="store_true", help="2x64 model, few steps: a CPU check")
    parser.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda:N")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (200; tiny 40)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps (30; tiny 10)")
    parser.add_argument("--repeats", type=int, default=2, help="timed rounds per loop")
    parser.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="torch.compile both loops (default: on for CUDA, off on CPU)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--out", default=None, help="directory for results.json")
    args = parser.parse_args(argv)

    torch.set_num_threads(max(1, args.threads))
    torch.backends.cuda.matmul.allow_tf32 = True  # as nanoGPT's train.py, for both loops
    torch.backends.cudnn.allow_tf32 = True
    device = select_device(args.device)
    shape = TINY if args.tiny else Shape()
    steps = args.steps or (40 if args.tiny else 200)
    warmup = args.warmup or (10 if args.tiny else 30)
    compile_ = device.type == "cuda" if args.compile is None else args.compile
    text = read_text_file(Path(args.data))
    tokenizer = CharTokenizer.fit(text)
    data = tokenizer.encode(text[: int(0.9 * len(text))])
    dtype = autocast_dtype(device, "auto")
    print(
        f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else platform.processor() or 'cpu'}), "
        f"torch {torch.__version__}, autocast {dtype}, compile {compile_}, shape {asdict(shape)}",
        flush=True,
    )

    runners = {}
    for name, build in (("project", project_stepper), ("reference", reference_stepper)):
        began = time.perf_counter()
        run = build(data, tokenizer.vocab_size, shape, device, compile_)
        loss = run(warmup)
        sync(device)
        print(
            f"{name}: warm-up {warmup} steps in {time.perf_counter() - began:.1f}s, loss {loss:.3f}"
        )
        runners[name] = run
    rates: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.repeats):
        for name, run in runners.items():
            rates[name].append(timed_steps(run, steps, device))
            print(f"{name}: {rates[name][-1]:.2f} steps/s", flush=True)
    best = {name: max(r) for name, r in rates.items()}
    losses = {name: run(LOG_EVERY) for name, run in runners.items()}
    ratio = best["project"] / best["reference"]
    print()
    print("| loop | steps/s (best) | ms/step | loss after warm-up + timed steps |")
    print("|---|---|---|---|")
    for name in runners:
        print(f"| {name} | {best[name]:.2f} | {1000 / best[name]:.2f} | {losses[name]:.3f} |")
    print(f"\nproject / reference: {ratio:.2f}x")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        payload = {
            "benchmark": "gpu_text_transformer",
            "device": str(device),
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "torch": torch.__version__,
            "autocast": str(dtype),
            "compile": compile_,
            "shape": asdict(shape),
            "steps": steps,
            "warmup": warmup,
            "steps_per_s": rates,
            "best_steps_per_s": best,
            "ratio_project_to_reference": ratio,
            "loss": losses,
        }
        (out / "results.json").write_text(json.dumps(payload, indent=2))
        print(f"wrote {out}/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
