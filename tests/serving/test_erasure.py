"""Erasure requests relayed between replicas through the shared ledger."""

from __future__ import annotations

import time
from pathlib import Path

from entertainai.serving.erasure import ErasureLedger
from entertainai.serving.events import Event, EventLog, Pseudonymizer


def test_ledger_lists_only_unapplied_entries_and_prunes_old_ones(tmp_path: Path):
    ledger = ErasureLedger(str(tmp_path))
    first = ledger.record("u1")
    ledger.record("u2")
    assert [u for _, u in ledger.pending({first})] == ["u2"]
    (tmp_path / "_erasures" / "garbage.json").write_text("{not json")
    assert [u for _, u in ledger.pending(set())] == ["u1", "u2"]  # unreadable entry skipped
    assert ErasureLedger(str(tmp_path), retention_s=-1).prune() == 2
    assert ErasureLedger(str(tmp_path)).pending(set()) == []  # only the unreadable one is left


def test_a_pseudonymised_log_erases_by_stored_id(tmp_path: Path):
    pseudo = Pseudonymizer(b"0123456789abcdef-secret")
    now = time.time()
    with EventLog(tmp_path / "log", fsync=False, pseudonymizer=pseudo) as log:
        log.append([Event("alice", "i1", "play", None, now), Event("bob", "i2", "play", None, now)])
        stored = log.stored_id("alice")
        assert stored != "alice"
        assert log.erase_stored(stored) == 1
        assert [e.user_id for e in log.replay()] == [pseudo.pseudonymize("bob")]
