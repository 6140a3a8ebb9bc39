"""Limits every capability deployment applies, whatever the request says."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deployments.capability import MAX_TIME_BUDGET_S, knobs_within_budget
from deployments.routes.generate_image import StyleTransferRequest
from deployments.routes.generate_music import AudioRequest, MelodyRequest
from deployments.routes.generate_text import TextGenerationRequest

SERVE_CONFIG = Path(__file__).resolve().parents[2] / "deployments" / "serve_config.yaml"


def test_time_budgets_stay_below_the_request_timeout() -> None:
    timeout = yaml.safe_load(SERVE_CONFIG.read_text())["http_options"]["request_timeout_s"]
    assert MAX_TIME_BUDGET_S < timeout
    for schema in (TextGenerationRequest, MelodyRequest, AudioRequest, StyleTransferRequest):
        for name, field in schema.model_fields.items():
            if "budget" in name:
                (le,) = [m.le for m in field.metadata if getattr(m, "le", None) is not None]
                assert le <= MAX_TIME_BUDGET_S and field.default <= le, (schema, name)


@pytest.mark.parametrize(
    ("request_", "budget"),
    [
        ({}, MAX_TIME_BUDGET_S),
        ({"t": None}, MAX_TIME_BUDGET_S),
        ({"t": 600}, MAX_TIME_BUDGET_S),
        ({"t": 3}, 3.0),
    ],
)
def test_a_deployment_always_passes_a_capped_budget(request_: dict, budget: float) -> None:
    knobs = knobs_within_budget({"seed": 1, "other": 2, **request_}, ("seed", "t"), "t")
    assert knobs == {"seed": 1, "t": budget}
