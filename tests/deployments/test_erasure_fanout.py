"""DELETE /v1/users/{id} on one replica reaches the others through the shared ledger."""

from __future__ import annotations

from pathlib import Path

from deployments.settings import AppArgs
from deployments.state import GatewayState
from entertainai.serving.events import Event


def test_other_replicas_erase_on_their_next_tick(served_registry: Path, tmp_path: Path, api_keys):
    args = AppArgs(registry=str(served_registry), event_dir=str(tmp_path / "events"))
    a = GatewayState.build(args, replica_id="a")
    b = GatewayState.build(args, replica_id="b")
    item = str(b.service.models.model.item_ids_[0])
    b.service.ingest([Event("u00009", item, "play", None, 1.7e9)])
    assert b.service.history.items("u00009") == [item]
    b.service.response_cache.put(
        "u00009", b"k=3", b"{}", b.service.response_cache.version("u00009")
    )

    a.erase_user("u00009")  # the request lands on replica a
    assert b.apply_erasures() == 1
    assert b.service.history.items("u00009") == []
    assert b.service.response_cache.get("u00009", b"k=3") is None
    assert not list(b.service.events.replay())
    assert a.apply_erasures() == 0 and b.apply_erasures() == 0  # applied once each
    # A replica started later does not replay old requests against its new, empty log.
    assert GatewayState.build(args, replica_id="c").apply_erasures() == 0
