"""The transformer's training loop keeps the host out of the way: device batches, one sync per
call, validation where the model is. Checked on CPU; the GPU figures are benchmarks'."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

from entertainai.errors import InputError
from entertainai.generate import text_transformer as tt
from entertainai.generate.text_corpus import CharTokenizer
from entertainai.generate.text_transformer import (
    TextTransformer,
    TextTransformerConfig,
    corpus_tensor,
    sample_batch,
    validation_sums,
)
from entertainai.torch_utils import module_device

TEXT = "the cat sat on the mat. the dog sat on the log. " * 20
TINY = dict(n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=4, warmup_steps=2)


def setup(**overrides: Any) -> tuple[TextTransformer, torch.nn.Module, Any, np.ndarray]:
    model = TextTransformer(TextTransformerConfig(**{**TINY, **overrides}))
    tokenizer = CharTokenizer.fit(TEXT)
    module = model.build_module(tokenizer.vocab_size)
    return model, module, model.build_optimizer(module), tokenizer.encode(TEXT)


@pytest.fixture
def host_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every way a tensor's value reaches Python (each one waits for the device)."""
    calls: list[str] = []
    for name in ("item", "tolist", "numpy", "cpu", "__float__", "__int__", "__bool__"):
        original = getattr(torch.Tensor, name)

        def spy(self: torch.Tensor, *a: Any, _name: str = name, _f: Any = original) -> Any:
            calls.append(_name)
            return _f(self, *a)

        monkeypatch.setattr(torch.Tensor, name, spy)
    yield calls


def test_train_steps_reads_the_loss_once_per_call(host_reads: list[str]) -> None:
    model, module, _, ids = setup()
    # SGD: AdamW on CPU reads its CPU step counters with .item() (free there); fused AdamW on
    # CUDA keeps them on the device. What is checked is the loop's own reads.
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    corpus = corpus_tensor(ids, module_device(module))
    host_reads.clear()
    loss = model.train_steps(module, corpus, optimizer, range(0, 12))
    # 12 steps, one read: the loss summed on the device, fetched at the end.
    assert host_reads == ["__float__"]
    assert isinstance(loss, float) and 0 < loss < np.log(64)


def test_batches_are_cut_on_the_corpus_device_and_seeded_per_step() -> None:
    corpus = torch.arange(100)
    gen = torch.Generator().manual_seed(tt.step_seed(0, 5, 0))
    x, y = sample_batch(corpus, 8, 3, gen)
    assert x.shape == y.shape == (3, 8) and x.device == corpus.device
    assert torch.equal(y[:, :-1], x[:, 1:]) and torch.equal(y[:, -1], x[:, -1] + 1)
    again = sample_batch(corpus, 8, 3, torch.Generator().manual_seed(tt.step_seed(0, 5, 0)))
    assert torch.equal(x, again[0])
    assert tt.step_seed(0, 5, 0) not in {tt.step_seed(0, 6, 0), tt.step_seed(0, 5, 1)}
    with pytest.raises(InputError, match="shorter than block_size"):
        sample_batch(torch.arange(8), 8, 1, gen)


def test_numpy_and_tensor_corpora_train_the_same() -> None:
    # train/ and tune/ hand train_steps a NumPy array; fit() a tensor already on the device.
    a, module_a, opt_a, ids = setup()
    b, module_b, opt_b, _ = setup()
    loss_a = a.train_steps(module_a, ids, opt_a, range(0, 5))
    loss_b = b.train_steps(module_b, corpus_tensor(ids, torch.device("cpu")), opt_b, range(0, 5))
    assert loss_a == loss_b


def test_validation_runs_on_the_models_device() -> None:
    # A module on the meta device has no data: the sums come back as a meta tensor only if
    # every input was built on the module's device (nothing was computed on the CPU).
    _, module, _, ids = setup()
    meta = module.to("meta")
    total, count = validation_sums(meta, ids[:100])
    assert total.device.type == "meta" and count == 99


def test_fit_validates_the_trained_module_not_its_cpu_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[torch.nn.Module] = []
    original = tt.validation_nats_per_char

    def spy(module: torch.nn.Module, ids: np.ndarray, batch_size: int = 64) -> float:
        seen.append(module)
        return original(module, ids, batch_size)

    monkeypatch.setattr(tt, "validation_nats_per_char", spy)
    model = TextTransformer(TextTransformerConfig(max_steps=6, eval_every=0, **TINY)).fit(TEXT)
    assert len(seen) == 1 and seen[0] is not model.module_
    assert module_device(seen[0]) == tt.select_device(model.config.device)
    assert model.metrics_["steps"] == 6


def test_fit_chunks_by_log_every_and_stops_at_evaluations() -> None:
    steps: list[int] = []
    config = TextTransformerConfig(max_steps=12, eval_every=5, log_every=4, **TINY)
    model = TextTransformer(config).fit(TEXT, on_step=lambda step, loss: steps.append(step))
    assert steps == [4, 5, 9, 10, 12]
    assert [h["step"] for h in model.metrics_["history"]] == [5, 10]


def test_cpu_optimiser_is_not_fused_and_config_checks() -> None:
    _, _, optimizer, _ = setup()
    assert not optimizer.defaults.get("fused")  # fused AdamW is for CUDA parameters
    with pytest.raises(InputError, match="precision"):
        TextTransformerConfig(precision="fp8")
    with pytest.raises(InputError, match="log_every"):
        TextTransformerConfig(log_every=0)
    model = TextTransformer(TextTransformerConfig(compile=True, **TINY))
    module = torch.nn.Linear(2, 2)
    assert model.for_training(module) is not module
    assert TextTransformer(TextTransformerConfig(**TINY)).for_training(module) is module


def test_cli_runs_the_training_job_in_process(tmp_path: Any) -> None:
    """``entertainai train text-transformer`` runs the job spec train.text_transformer runs."""
    from entertainai.cli.main import main
    from entertainai.registry import Registry

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    params = [f"{k}={v}" for k, v in {**TINY, "log_every": 3, "eval_every": 6}.items()]
    argv = ["train", "text-transformer", "--data", str(corpus), "--steps", "7"]
    argv += [a for p in params for a in ("--param", p)] + ["--registry", str(tmp_path / "reg")]
    assert main(argv) == 0
    mv = Registry(str(tmp_path / "reg")).get("text_transformer")
    assert mv.metrics["steps"] == 7 and 0 < mv.metrics["val_nats_per_char"] < np.log(64)
