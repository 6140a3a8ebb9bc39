"""The one model contract, checked on every kind in ``MODEL_KINDS`` with a tiny fixture.

For each kind: save -> load gives a model with the same config and identical outputs; an
unfitted model refuses to save or compute (:class:`NotFittedError`); unknown hyperparameters
are refused; two fits under the same seed give identical outputs. A kind added to
``MODEL_KINDS`` without a fixture in ``tests/model_fixtures.py`` fails here.
Recommender-specific checks (shapes, exclusions, filters) live in tests/recommend/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from entertainai.errors import NotFittedError
from entertainai.model import MODEL_FILE, MODEL_KINDS, Model, load_model, model_class
from tests.model_fixtures import FIXTURES, ModelFixture, assert_same

KINDS = [
    pytest.param(k, marks=pytest.mark.slow) if k in FIXTURES and FIXTURES[k].slow else k
    for k in sorted(MODEL_KINDS)
]


def test_every_kind_has_a_fixture() -> None:
    # The tests below are parametrised over MODEL_KINDS itself, so they cover exactly the
    # registered kinds; a kind without a fixture fails here (and in each test) by name.
    # A fixture may come before its kind is registered (encoder_text, issue 15), not after.
    assert not set(MODEL_KINDS) - set(FIXTURES), (
        f"no fixture for {sorted(set(MODEL_KINDS) - set(FIXTURES))} in tests/model_fixtures.py"
    )


def fixture_of(kind: str) -> ModelFixture:
    if kind not in FIXTURES:
        pytest.fail(f"{kind}: add a tiny fixture to tests/model_fixtures.py")
    fx = FIXTURES[kind]
    reason = fx.unavailable()
    if reason:
        pytest.skip(f"{kind}: {reason}")
    return fx


def new(kind: str) -> Model[Any]:
    return model_class(kind).from_params(**fixture_of(kind).params)


def fit(kind: str, demo_dir: Path) -> Model[Any]:
    model = fixture_of(kind).fit(new(kind), demo_dir)
    assert isinstance(model, model_class(kind)) and model.fitted_
    return model


@pytest.fixture(scope="module", params=KINDS)
def fitted(request: pytest.FixtureRequest, demo_dir: Path) -> tuple[str, Model[Any]]:
    return request.param, fit(request.param, demo_dir)


def test_save_load_round_trip(fitted: tuple[str, Model[Any]], demo_dir: Path, tmp_path: Path):
    kind, model = fitted
    outputs = FIXTURES[kind].outputs
    directory = model.save(tmp_path / kind)
    assert (directory / MODEL_FILE).is_file()
    loaded = load_model(directory)
    assert type(loaded) is type(model) and loaded.kind == kind
    assert loaded.config == model.config
    assert_same(outputs(loaded, demo_dir), outputs(model, demo_dir))


@pytest.mark.parametrize("kind", KINDS)
def test_unfitted_model_refuses(kind: str, demo_dir: Path, tmp_path: Path) -> None:
    model = new(kind)
    assert not model.fitted_
    with pytest.raises(NotFittedError):
        model.save(tmp_path / kind)
    assert not (tmp_path / kind / MODEL_FILE).exists()
    with pytest.raises(NotFittedError):
        FIXTURES[kind].outputs(model, demo_dir)


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_parameters_refused(kind: str) -> None:
    with pytest.raises(ValueError, match=r"unknown .*\['not_a_param'\]"):
        model_class(kind).from_params(**fixture_of(kind).params, not_a_param=1)


def test_seeded_fits_are_identical(fitted: tuple[str, Model[Any]], demo_dir: Path) -> None:
    kind, model = fitted
    fx = FIXTURES[kind]
    again = fit(kind, demo_dir)
    outputs = fx.fit_outputs or fx.outputs
    assert_same(outputs(again, demo_dir), outputs(model, demo_dir), rtol=fx.fit_rtol)
