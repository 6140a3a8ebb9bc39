"""Erasure requests that every replica applies, on storage all replicas share.

``DELETE /v1/users/{id}`` lands on one replica, but each replica holds its own event log,
recent history and cache. The replica that takes the request erases its own copy at once and
records a small ledger entry under the registry root (shared by every replica, local or
``s3://``); the others apply it on their next watch tick (``reload_interval_s``). Entries
carry the id in the form the event logs store it (the pseudonym when pseudonymisation is on).
"""

from __future__ import annotations

import json
import logging
import time
import uuid

from entertainai.fs import Location, resolve

log = logging.getLogger(__name__)

LEDGER_DIR = "_erasures"


class ErasureLedger:
    def __init__(self, root: str, *, retention_s: float = 7 * 86_400) -> None:
        self.location: Location = resolve(root).join(LEDGER_DIR)
        self.retention_s = retention_s

    def record(self, stored_id: str) -> str:
        """Write one request; returns its entry name (applied by others on their next tick)."""
        name = f"{time.time():.6f}-{uuid.uuid4().hex}.json"
        self.location.fs.create_dir(self.location.path, recursive=True)
        entry = {"user": stored_id, "requested_at": time.time()}
        self.location.join(name).write_bytes(json.dumps(entry).encode())
        return name

    def pending(self, applied: set[str]) -> list[tuple[str, str]]:
        """(entry name, stored user id) of entries not in ``applied``, oldest first."""
        out = []
        for name in self.location.listdir():
            if not name.endswith(".json") or name in applied:
                continue
            try:
                out.append((name, str(json.loads(self.location.join(name).read_bytes())["user"])))
            except (OSError, ValueError, KeyError):
                log.warning("skipping unreadable erasure entry %s", name)
        return out

    def prune(self) -> int:
        """Drop entries past retention (every replica has long applied them)."""
        cutoff, removed = time.time() - self.retention_s, 0
        for name in self.location.listdir():
            try:
                if float(name.split("-", 1)[0]) < cutoff:
                    self.location.fs.delete_file(self.location.join(name).path)
                    removed += 1
            except (ValueError, OSError):
                continue
        return removed
