"""Erasure requests in the shared ledger, and event logs under stable per-node names."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from entertainai.serving.erasure import ARTIFACTS, ErasureLedger, UserMatcher
from entertainai.serving.event_log import EventLog, LogInUse, open_slot
from entertainai.serving.event_validation import Event
from entertainai.serving.pseudonyms import Pseudonymizer


def test_the_ledger_holds_keyed_hashes_never_raw_ids(tmp_path: Path):
    ledger = ErasureLedger(str(tmp_path))
    ledger.record("alice@example.com", logs=["log-a"])
    stored = b"".join(p.read_bytes() for p in (tmp_path / "_erasures").rglob("*") if p.is_file())
    assert b"alice" not in stored
    key = tmp_path / "_erasures" / "ledger.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    matcher = ledger.matcher()
    assert matcher.hits(["bob", "alice@example.com"]) == {"alice@example.com"}
    # Another instance over the same root (another replica) reads the same key.
    assert ErasureLedger(str(tmp_path)).matcher().hits(["alice@example.com"])
    (tmp_path / "_erasures" / "garbage.json").write_text("{not json")
    assert len(ledger.requests()) == 1  # an unreadable entry is skipped (and logged)


def test_a_pseudonymised_id_matches_the_raw_id_it_came_from(tmp_path: Path):
    pseudo = Pseudonymizer(b"0123456789abcdef-secret")
    ledger = ErasureLedger(str(tmp_path))
    ledger.record(pseudo.pseudonymize("alice"))  # what a pseudonymising replica records
    matcher = ledger.matcher(pseudonymize=pseudo.pseudonymize)
    assert matcher.hits(["alice", "bob"]) == {"alice"}  # a raw-id dataset
    assert matcher.hits([pseudo.pseudonymize("alice")])  # a pseudonymised log
    assert UserMatcher.exact(["x"]).hits(["x", "y"]) == {"x"}


def test_entries_are_pruned_once_every_log_applied_them_with_a_retention_fallback(
    tmp_path: Path,
):
    ledger = ErasureLedger(str(tmp_path))
    ledger.register("log-a")
    ledger.register("log-b")
    name = ledger.record("alice")
    request = ledger.requests()[0]
    assert set(request.logs) == {"log-a", "log-b", ARTIFACTS}  # every log known at request time
    assert [r.name for r in ledger.pending("log-a")] == [name]
    ledger.mark_applied("log-a", [name])
    ledger.mark_applied(ARTIFACTS, [name])
    assert ledger.pending("log-a") == [] and ledger.prune() == 0  # log-b has not applied it
    ledger.mark_applied("log-b", [name])
    assert ledger.prune() == 1 and ledger.requests() == []
    assert ledger.pending("log-new") == []  # a log created later has nothing to erase

    ledger.record("bob", logs=["a-dead-log"])  # its replica never comes back
    assert ledger.prune() == 0
    expired = ErasureLedger(str(tmp_path), retention_s=-1)
    assert expired.prune() == 1
    assert expired.known_logs() == set()  # logs silent for the retention are not waited for


def test_a_pseudonymised_log_erases_by_stored_id(tmp_path: Path):
    pseudo = Pseudonymizer(b"0123456789abcdef-secret")
    now = time.time()
    with EventLog(tmp_path / "log", fsync=False, pseudonymizer=pseudo) as log:
        log.append([Event("alice", "i1", "play", None, now), Event("bob", "i2", "play", None, now)])
        stored = log.stored_id("alice")
        assert stored != "alice"
        assert log.erase_stored(stored) == 1
        assert [e.user_id for e in log.replay()] == [pseudo.pseudonymize("bob")]


def test_a_raw_id_log_is_erased_by_the_ledgers_hashes(tmp_path: Path):
    ledger = ErasureLedger(str(tmp_path / "registry"))
    ledger.record("alice")
    now = time.time()
    with EventLog(tmp_path / "log", fsync=False, segment_max_events=1) as log:
        for user in ("alice", "bob", "alice"):
            log.append([Event(user, "i1", "play", None, now)])
        log.compact(str(tmp_path / "ds"))
        assert log.erase_matching(ledger.matcher().hits) == 2  # a compacted part and segments
        assert {e.user_id for e in log.replay()} <= {"bob"} and log.count() == 1


def test_a_replica_takes_the_lowest_free_slot_and_reopens_it_after_a_restart(tmp_path: Path):
    events = tmp_path / "events"
    first = open_slot(str(events), "node1", fsync=False)
    second = open_slot(str(events), "node1", fsync=False)
    assert [Path(first.directory).name, Path(second.directory).name] == ["node1-0", "node1-1"]
    log_id = first.log_id
    first.append([Event("u", "i", "play", None, time.time())])
    first.close()  # the replica restarts (or is downscaled and comes back)
    again = open_slot(str(events), "node1", fsync=False)
    assert Path(again.directory).name == "node1-0" and again.log_id == log_id
    assert [e.user_id for e in again.replay()] == ["u"]  # not orphaned: replayed on start
    with pytest.raises(LogInUse):
        EventLog(events / "node1-1", fsync=False)  # held by the live second replica
    again.close()
    second.close()
    assert sorted(p.name for p in events.iterdir()) == ["node1-0", "node1-1"]
    assert json.loads((events / "node1-0" / "log.json").read_text())["log_id"] == log_id
