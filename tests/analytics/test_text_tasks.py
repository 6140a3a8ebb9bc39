"""The default text model: chosen on validation among the candidates, recorded in the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from entertainai.analytics.text_tasks import (
    AUTO,
    TextTrainSpec,
    auto_candidates,
    fit_and_evaluate,
    load_spec_data,
    register,
)
from entertainai.errors import InputError
from entertainai.registry import Registry


def test_auto_picks_the_best_validation_score_and_records_it(demo_dir: Path, tmp_path: Path):
    spec = TextTrainSpec("sentiment", str(demo_dir), max_rows=400)
    assert spec.model == AUTO
    data = load_spec_data(spec)
    model, result = fit_and_evaluate(spec, data)
    families = auto_candidates()
    assert families == ("tfidf", "ensemble")
    scores = {f: result.metrics[f"val_macro_f1_{f}"] for f in families}
    assert model.validation_macro_f1_ == max(scores.values())
    mv = register(Registry(str(tmp_path / "reg")), model, result, spec, data)
    stored = Registry(str(tmp_path / "reg")).get(mv.ref)
    assert stored.kind == model.kind and "production" in Registry(str(tmp_path / "reg")).aliases(
        "sentiment"
    )
    assert stored.metrics["val_macro_f1_tfidf"] == pytest.approx(scores["tfidf"])


def test_auto_refuses_params():
    with pytest.raises(InputError, match="explicit --model"):
        TextTrainSpec("sentiment", "x.csv", params={"C": 1.0})
    with pytest.raises(InputError, match="unknown --model"):
        TextTrainSpec("sentiment", "x.csv", model="bert")
