"""DELETE /v1/users/{id} on one replica reaches every log: live replicas through the shared
ledger, logs of replicas that are gone by their free lock, restarted replicas on reopening."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.errors import Unavailable
from entertainai.registry import Registry
from entertainai.serving.erasure import ErasureLedger
from entertainai.serving.event_validation import Event

IGNORE = shutil.ignore_patterns("_erasures", "_exports")


@pytest.fixture()
def registry(served_registry: Path, tmp_path: Path) -> str:
    """A private copy: erasure rewrites registry versions, and the fixture is session-wide."""
    # Without the ledger other tests left there: this test's requests are the only ones.
    shutil.copytree(served_registry, tmp_path / "registry", ignore=IGNORE)
    return str(tmp_path / "registry")


def args_for(registry: str, tmp_path: Path) -> AppArgs:
    return AppArgs(registry=registry, event_dir=str(tmp_path / "events"))


def played(state: GatewayState, user: str) -> str:
    item = str(state.service.models.model.item_ids_[0])
    state.service.ingest([Event(user, item, "play", None, 1.7e9)])
    return item


def logged_users(state: GatewayState) -> set[str]:
    assert state.service.events is not None
    return {e.user_id for e in state.service.events.replay()}


def test_other_replicas_erase_on_their_next_tick(registry: str, tmp_path: Path, api_keys):
    args = args_for(registry, tmp_path)
    a, b = GatewayState.build(args), GatewayState.build(args)
    assert a.service.events and b.service.events
    assert a.service.events.directory != b.service.events.directory  # two slots, one node
    item = played(b, "u00009")
    assert b.service.history.items("u00009") == [item]
    b.service.response_cache.put(
        "u00009", b"k=3", b"{}", b.service.response_cache.version("u00009")
    )

    a.erase_user("u00009")  # the request lands on replica a
    assert b.service.models.model.user_indices(["u00009"])[0] >= 0  # b has not heard yet
    assert b.apply_erasures() == 1
    assert b.service.history.items("u00009") == []
    assert b.service.response_cache.get("u00009", b"k=3") is None
    assert "u00009" not in logged_users(b)
    assert b.service.models.model.user_indices(["u00009"])[0] == -1  # the model forgot too
    assert a.apply_erasures() == 0 and b.apply_erasures() == 0  # applied once each
    # A replica started later has nothing of the user: its new log, its rewritten model.
    c = GatewayState.build(args)
    assert c.apply_erasures() == 0
    assert c.service.models.model.user_indices(["u00009"])[0] == -1


def test_a_gone_replicas_log_is_erased_by_the_replica_that_takes_the_request(
    registry: str, tmp_path: Path, api_keys
):
    args = args_for(registry, tmp_path)
    a, b = GatewayState.build(args), GatewayState.build(args)
    played(a, "u00010")
    a_dir = a.service.events.directory  # type: ignore[union-attr]
    a.service.events.close()  # type: ignore[union-attr]  # replica a is gone (downscaled)
    b.erase_user("u00010")
    again = GatewayState.build(args)  # a comes back: the lowest free slot is its own
    assert again.service.events.directory == a_dir  # type: ignore[union-attr]
    assert "u00010" not in logged_users(again)
    assert again.apply_erasures() == 0


def test_a_restarted_replica_applies_requests_made_while_it_was_away(
    registry: str, tmp_path: Path, api_keys
):
    args = args_for(registry, tmp_path)
    a = GatewayState.build(args)
    played(a, "u00011")
    assert a.service.events is not None
    log_id = a.service.events.log_id
    a.service.events.close()
    # A request taken on another node, which cannot reach this node's logs: only the ledger
    # says that this log must apply it.
    ErasureLedger(registry).record("u00011", logs=[log_id])
    again = GatewayState.build(args)
    assert again.service.events.log_id == log_id  # type: ignore[union-attr]
    assert again.apply_erasures() == 1  # not marked applied just because the replica restarted
    assert "u00011" not in logged_users(again)


def test_the_request_is_recorded_before_the_local_erase_which_is_retried(
    registry: str, tmp_path: Path, api_keys, monkeypatch: pytest.MonkeyPatch
):
    args = args_for(registry, tmp_path)
    a = GatewayState.build(args)
    played(a, "u00012")
    assert a.service.events is not None
    real = a.service.events.erase_matching

    def disk_error(*_: object) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(a.service.events, "erase_matching", disk_error)
    with pytest.raises(Unavailable, match="recorded"):
        a.erase_user("u00012")
    assert len(ErasureLedger(registry).requests()) == 1  # durable although the erase failed
    assert a.service.history.items("u00012") == []  # the in-memory half went at once
    monkeypatch.setattr(a.service.events, "erase_matching", real)
    assert a.apply_erasures() == 1  # the next tick retries
    assert "u00012" not in logged_users(a)


def test_entries_are_pruned_once_every_log_applied_them(registry: str, tmp_path: Path, api_keys):
    args = args_for(registry, tmp_path)
    a, b = GatewayState.build(args), GatewayState.build(args)
    a.erase_user("u00013")
    assert len(ErasureLedger(registry).requests()) == 1
    b.apply_erasures()  # b was the last log to apply it: the entry goes
    assert ErasureLedger(registry).requests() == []


def test_pseudonymised_replicas_match_raw_id_models_through_the_ledger(
    registry: str, tmp_path: Path, api_keys, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ENTERTAINAI_PSEUDONYM_SECRET", "0123456789abcdef-secret")
    args = args_for(registry, tmp_path).model_copy(update={"pseudonymize_user_ids": True})
    a, b = GatewayState.build(args), GatewayState.build(args)
    played(b, "u00014")
    assert logged_users(b) == {b.service.stored_id("u00014")}  # no raw id on disk
    a.erase_user("u00014")
    assert b.apply_erasures() == 1
    assert logged_users(b) == set()
    # The model was trained on raw ids: matched by hashing each id's pseudonym.
    assert b.service.models.model.user_indices(["u00014"])[0] == -1


def test_artifacts_a_crashed_request_left_are_rewritten_by_any_replica(
    registry: str, tmp_path: Path, api_keys
):
    args = args_for(registry, tmp_path)
    a = GatewayState.build(args)
    ErasureLedger(registry).record("u00015")  # the requester died before its artifacts
    assert a.erasures is not None
    a.erasures.artifact_grace_s = 0.0
    a.apply_erasures()
    version = Registry(registry).get("hybrid@1")
    assert version.metadata["erased_users"] == 1
    assert GatewayState.build(args).service.models.model.user_indices(["u00015"])[0] == -1
    assert ErasureLedger(registry).requests() == []  # every log and the artifacts applied it
