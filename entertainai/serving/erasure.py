"""Erasure requests that every event log applies, on storage all replicas share.

``DELETE /v1/users/{id}`` lands on one replica, but each replica holds its own event log,
recent history, cache and in-memory model. The replica that takes the request records it here
first (under the registry root, shared by every replica, local or ``s3://``), then erases what
it can reach (:mod:`entertainai.serving.forget`); every other log applies it from here.

Layout::

    ROOT/_erasures/ledger.key               the per-deployment hashing key (0600 locally)
    ROOT/_erasures/<time>-<uuid>.json       one request: the user's keyed hash, which logs
                                            must apply it
    ROOT/_erasures/applied/<log key>.json   the requests one log (or "artifacts") applied

**No raw id is stored.** An entry holds ``HMAC-SHA256(key, stored id)`` (the stored id is the
pseudonym when pseudonymisation is on), so the ledger itself never becomes a list of erased
people; a log, dataset or model is matched by hashing the ids *it* holds
(:class:`UserMatcher`). The key sits beside the entries: it keeps the hashes from being
reversed by whoever reads only the entries (a copied ledger, a backup without the key).

**Pruning.** An entry lists the logs known when it was made: every log registered here (each
log registers when it opens, on any node, and says it is alive every hour) plus the logs
under the requester's event root, and ``artifacts`` (registry versions, exported datasets).
It is deleted once each of them has recorded it in its applied set. A log that never comes
back (a node removed for good) is covered by the retention fallback: the entry goes after
``retention_s`` regardless, and a log silent that long is no longer listed by new entries.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from entertainai.errors import Unavailable
from entertainai.fs import Location, resolve

log = logging.getLogger(__name__)

LEDGER_DIR = "_erasures"
KEY_FILE = "ledger.key"
APPLIED_DIR = "applied"
ARTIFACTS = "artifacts"  # the applied-set key of registry versions and exported datasets
DEFAULT_RETENTION_S = 30 * 86_400.0
_HASH_CHARS = 32  # 128 bits: collisions out of reach

Pseudonymize = Callable[[str], str]


def keyed_hash(key: bytes, stored_id: str) -> str:
    return hmac.new(key, stored_id.encode(), hashlib.sha256).hexdigest()[:_HASH_CHARS]


class UserMatcher:
    """Which user ids an erasure covers: given ids, or ids whose keyed hash is in the ledger.

    ``hits(ids)`` returns the ids (of those given) to erase; each is tried as it is and, with
    ``pseudonymize``, as its pseudonym, so one matcher serves raw-id datasets and
    pseudonymised logs alike. Hashes are memoised: a log holds the same users many times.
    """

    def __init__(
        self,
        ids: Iterable[str] = (),
        *,
        hashes: Iterable[str] = (),
        key: bytes = b"",
        pseudonymize: Pseudonymize | None = None,
    ) -> None:
        self.ids = frozenset(ids)
        self.hashes = frozenset(hashes)
        self._key = key
        self._pseudonymize = pseudonymize
        self._memo: dict[str, bool] = {}

    @classmethod
    def exact(cls, ids: Iterable[str], pseudonymize: Pseudonymize | None = None) -> UserMatcher:
        return cls(ids, pseudonymize=pseudonymize)

    def __bool__(self) -> bool:
        return bool(self.ids or self.hashes)

    def _hit(self, user: str) -> bool:
        known = self._memo.get(user)
        if known is None:
            forms = (user, self._pseudonymize(user)) if self._pseudonymize else (user,)
            known = any(f in self.ids for f in forms) or bool(
                self.hashes and any(keyed_hash(self._key, f) in self.hashes for f in forms)
            )
            if len(self._memo) < 1_000_000:
                self._memo[user] = known
        return known

    def hits(self, ids: Iterable[str]) -> set[str]:
        return {u for u in set(ids) if isinstance(u, str) and self._hit(u)} if self else set()

    def __repr__(self) -> str:  # never show ids
        return f"UserMatcher({len(self.ids)} ids, {len(self.hashes)} hashes)"


@dataclass(frozen=True)
class ErasureRequest:
    name: str  # the entry's file name
    user_hash: str
    requested_at: float
    logs: tuple[str, ...]  # the log keys (and "artifacts") that must apply it


class ErasureLedger:
    def __init__(self, root: str, *, retention_s: float = DEFAULT_RETENTION_S) -> None:
        self.location: Location = resolve(root).join(LEDGER_DIR)
        self.retention_s = retention_s
        self._key: bytes | None = None
        self._cache: dict[str, ErasureRequest] = {}  # entries never change: read each once

    # ---- the key ----------------------------------------------------------------------------

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = self._load_or_create_key()
        return self._key

    def _load_or_create_key(self) -> bytes:
        loc = self.location.join(KEY_FILE)
        if not loc.exists():
            self.location.fs.create_dir(self.location.path, recursive=True)
            body = secrets.token_hex(32).encode()
            if loc.is_local:
                # Written under a temp name with 0600, then linked into place: link refuses an
                # existing name, so two replicas starting together agree on one key.
                tmp = f"{loc.path}.tmp-{uuid.uuid4().hex}"
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    os.write(fd, body)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, loc.path)
                os.remove(tmp)
            else:  # object stores: first writer wins; create it before the first deploy
                loc.write_bytes(body)
        key = loc.read_bytes().strip()
        if len(key) < 32:
            raise Unavailable(f"{loc}: erasure ledger key is too short or empty")
        return key

    def hash(self, stored_id: str) -> str:
        """The form a user is recorded in (pass the id as the logs store it)."""
        return keyed_hash(self.key, stored_id)

    # ---- requests ---------------------------------------------------------------------------

    def record(self, stored_id: str, *, logs: Iterable[str] = ()) -> str:
        """Write one request durably; returns its entry name.

        ``logs``: log keys known to the caller beyond those registered here (its own event
        root's logs); every registered log and ``artifacts`` are always included.
        """
        must = sorted({*logs, *self.known_logs(), ARTIFACTS})
        now = time.time()
        name = f"{now:.6f}-{uuid.uuid4().hex}.json"
        entry = {"version": 2, "user_hash": self.hash(stored_id), "requested_at": now,
                 "logs": must}  # fmt: skip
        try:
            self.location.fs.create_dir(self.location.path, recursive=True)
            self.location.join(name).write_bytes(json.dumps(entry).encode())
        except OSError as exc:
            raise Unavailable(f"cannot record the erasure under {self.location}: {exc}") from exc
        return name

    def requests(self) -> list[ErasureRequest]:
        """Every recorded request, oldest first (unreadable entries skipped, logged)."""
        names = [n for n in self.location.listdir() if n.endswith(".json")]
        out = []
        for name in names:
            request = self._cache.get(name) or self._read(name)
            if request is not None:
                self._cache[name] = request
                out.append(request)
        for gone in set(self._cache) - set(names):
            del self._cache[gone]
        return out

    def _read(self, name: str) -> ErasureRequest | None:
        try:
            data = json.loads(self.location.join(name).read_bytes())
            return ErasureRequest(
                name, str(data["user_hash"]), float(data["requested_at"]), tuple(data["logs"])
            )
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("skipping unreadable erasure entry %s", name)
            return None

    def matcher(
        self,
        requests: Iterable[ErasureRequest] | None = None,
        *,
        pseudonymize: Pseudonymize | None = None,
    ) -> UserMatcher:
        """A matcher for ``requests`` (default: every request in the ledger)."""
        chosen = self.requests() if requests is None else list(requests)
        return UserMatcher(
            hashes={r.user_hash for r in chosen},
            key=self.key if chosen else b"",
            pseudonymize=pseudonymize,
        )

    # ---- which log applied what --------------------------------------------------------------

    def _applied_loc(self, log_key: str) -> Location:
        return self.location.join(APPLIED_DIR, f"{log_key}.json")

    def register(self, log_key: str) -> None:
        """Make a log known, or say it is still alive, so that later requests wait for it.

        Called when a log opens and now and then by its replica (:meth:`touch`): a log not
        heard of for the retention period (a pod gone for good) is no longer waited for.
        """
        applied, _ = self._read_applied(log_key)
        self._write_applied(log_key, applied, time.time())

    touch = register

    def known_logs(self) -> set[str]:
        """Logs heard of within the retention period."""
        names = self.location.join(APPLIED_DIR).listdir()
        keys = [n[: -len(".json")] for n in names if n.endswith(".json")]
        cutoff = time.time() - self.retention_s
        return {key for key in keys if self._read_applied(key)[1] >= cutoff}

    def applied(self, log_key: str) -> set[str]:
        return self._read_applied(log_key)[0]

    def _read_applied(self, log_key: str) -> tuple[set[str], float]:
        loc = self._applied_loc(log_key)
        if not loc.exists():
            return set(), 0.0
        try:
            data = json.loads(loc.read_bytes())
            return set(data["applied"]), float(data.get("seen_at", 0.0))
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("unreadable applied set %s: its requests are applied again", loc)
            return set(), 0.0

    def mark_applied(self, log_key: str, names: Iterable[str]) -> None:
        """Record that ``log_key`` applied ``names`` (written by the log's lock holder only).

        Names of entries already pruned are dropped, so the file stays small.
        """
        current = {r.name for r in self.requests()}
        applied, seen_at = self._read_applied(log_key)
        self._write_applied(log_key, (applied | set(names)) & current, seen_at)

    def _write_applied(self, log_key: str, names: set[str], seen_at: float) -> None:
        loc = self._applied_loc(log_key)
        loc.fs.create_dir(self.location.join(APPLIED_DIR).path, recursive=True)
        body = {"applied": sorted(names), "seen_at": seen_at}
        loc.write_bytes(json.dumps(body).encode())

    def pending(self, log_key: str) -> list[ErasureRequest]:
        """Requests ``log_key`` must apply and has not, oldest first."""
        done = self.applied(log_key)
        return [r for r in self.requests() if log_key in r.logs and r.name not in done]

    def prune(self) -> int:
        """Delete entries every listed log applied, and any past retention."""
        cutoff, removed = time.time() - self.retention_s, 0
        applied: dict[str, set[str]] = {}
        for request in self.requests():
            done = all(
                request.name in applied.setdefault(key, self.applied(key)) for key in request.logs
            )
            if done or request.requested_at < cutoff:
                try:
                    self.location.fs.delete_file(self.location.join(request.name).path)
                    removed += 1
                except OSError:
                    continue
        return removed
