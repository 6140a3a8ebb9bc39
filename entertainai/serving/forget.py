"""Erasure that reaches everything a deployment holds about a user.

    python -m entertainai.serving.forget --registry ./artifacts --events ./runs/events \\
        --dataset data/base --user alice          # offline; or apply what the ledger holds

``DELETE /v1/users/{id}`` (through :class:`Eraser`, one per Gateway replica), in this order:

1. **The request is recorded** in the erasure ledger (:mod:`entertainai.serving.erasure`)
   first, durably: whatever fails after this is retried, here or by another replica.
2. **In memory, at once**: the replica's recent history, cached answers and the served
   model's training history (``Recommender.forget_users``: the user becomes a cold-start
   user, never "Because you watched" from training data). Other replicas do the same when
   the live feed's FORGET update or the ledger reaches them.
3. **This replica's event log**: segments and the Parquet parts its compactions wrote.
4. **Every log under the event root whose lock is free** (replicas that are gone): taken,
   erased, released. Logs held by live replicas are theirs to erase on their next tick.
5. **Artifacts**: every registry version that holds the user (rewritten, see
   :meth:`Registry.erase_user`), every dataset an export wrote (the index under the
   registry root) and the deployment's own datasets (``curation_dataset``).

Each log, and ``artifacts``, records what it applied in the ledger; a request is deleted once
every log known when it was made applied it (or after the ledger's retention). A local step
that failed is retried on the next watch tick; artifacts a crashed request left are
rewritten by any replica after :data:`ARTIFACT_GRACE_S`.

Not covered by a DELETE (an operator runs this module with ``--dataset`` for each): datasets
the deployment does not know, above all the original import a first export was based on,
and copies outside the registry, event and export roots (backups, warehouse tables).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from entertainai.data.dataset import MANIFEST, refresh_manifest
from entertainai.errors import NotFoundError, Unavailable
from entertainai.fs import Location, list_files, resolve
from entertainai.registry import Registry, default_root
from entertainai.serving.erasure import ARTIFACTS, ErasureLedger, Pseudonymize, UserMatcher
from entertainai.serving.event_log import EventLog, Hits, LogInUse, erase_from_part, read_log_id
from entertainai.serving.export import DEFAULT_EVENTS_ROOT, exported_datasets, find_logs
from entertainai.serving.pseudonyms import PSEUDONYM_SECRET_ENV, Pseudonymizer

log = logging.getLogger(__name__)

ARTIFACT_GRACE_S = 300.0  # a request's own replica is still rewriting artifacts: leave it
PRUNE_EVERY_S = 60.0
ALIVE_EVERY_S = 3600.0  # how often a replica tells the ledger its log is alive


# --------------------------------------------------------------------------- the pieces


def erase_from_dataset(uri: str, hits: Hits) -> int:
    """Rewrite every Parquet file of a dataset with a ``user_id`` column (tables and extras,
    e.g. ground truth) without the users ``hits`` picks; refresh the manifest. Returns the
    number of rows removed (0: nothing rewritten)."""
    root = resolve(uri)
    if not root.join(MANIFEST).exists():
        raise NotFoundError(f"{root}: not a dataset (no {MANIFEST})")
    removed = 0
    for relpath in list_files(root):
        if relpath.endswith(".parquet"):
            before, after = erase_from_part(root.join(relpath), hits)
            removed += before - after
    if removed:
        refresh_manifest(root)
        log.info("dataset %s: erased %d rows", root, removed)
    return removed


def log_dirs(event_dir: str | None) -> list[Location]:
    """Every event log directory under ``event_dir`` (none if it does not exist yet)."""
    if not event_dir or not resolve(event_dir).is_dir():
        return []
    return find_logs(event_dir)


def local_log_ids(event_dir: str | None) -> set[str]:
    return {i for loc in log_dirs(event_dir) if (i := read_log_id(loc)) is not None}


def erase_free_logs(event_dir: str | None, ledger: ErasureLedger, *, skip: str = "") -> int:
    """Apply the ledger to every log under ``event_dir`` that no live process holds.

    Each is opened (taking its lock, so a replica starting meanwhile takes another slot),
    erased, marked applied and closed. Held logs are skipped: their replicas apply the ledger
    themselves. Returns the number of events removed.
    """
    removed = 0
    for loc in log_dirs(event_dir):
        log_id = read_log_id(loc)
        if loc.path == skip or (log_id is not None and not ledger.pending(log_id)):
            continue
        try:
            opened = EventLog(loc.path)
        except LogInUse:
            continue
        with opened:
            ledger.register(opened.log_id)
            todo = ledger.pending(opened.log_id)
            if todo:
                removed += opened.erase_matching(ledger.matcher(todo).hits)
                ledger.mark_applied(opened.log_id, [r.name for r in todo])
    return removed


@dataclass
class ArtifactErasure:
    models: list[str] = field(default_factory=list)  # registry refs rewritten
    datasets: list[str] = field(default_factory=list)  # datasets rewritten
    rows: int = 0  # dataset rows removed


def erase_artifacts(registry: str, hits: Hits, datasets: Iterable[str] = ()) -> ArtifactErasure:
    """Registry versions, exported datasets (the index) and ``datasets``; raises
    :class:`Unavailable` naming what failed, after trying everything."""
    done, failed = ArtifactErasure(), []
    try:
        done.models = Registry(registry).erase_user(match=hits)
    except Exception as exc:
        log.exception("erasure: registry versions under %s", registry)
        failed.append(f"registry: {exc}")
    for uri in dict.fromkeys([*exported_datasets(registry), *datasets]):
        try:
            rows = erase_from_dataset(uri, hits)
        except NotFoundError:
            continue  # an export deleted since
        except Exception as exc:
            log.exception("erasure: dataset %s", uri)
            failed.append(f"{uri}: {exc}")
            continue
        if rows:
            done.datasets.append(uri)
            done.rows += rows
    if failed:
        raise Unavailable("; ".join(failed))
    return done


# --------------------------------------------------------------------------- one replica


@dataclass
class ErasureOutcome:
    request: str  # the ledger entry
    events_removed: int  # from this replica's own log
    other_logs_events: int  # from logs no live replica holds
    artifacts: ArtifactErasure | None
    failures: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Eraser:
    """One replica's part in erasures: take requests, apply the ledger on every tick.

    ``service`` is duck-typed (a :class:`~entertainai.serving.service.RecommendationService`):
    ``events``, ``stored_id``, ``forget_stored`` and ``pseudonymizer`` are used.
    """

    def __init__(
        self,
        service: Any,
        registry: str,
        *,
        event_dir: str | None,
        datasets: Sequence[str] = (),
        artifact_grace_s: float = ARTIFACT_GRACE_S,
    ) -> None:
        self.service = service
        self.registry = registry
        self.event_dir = event_dir
        self.datasets = tuple(datasets)
        self.artifact_grace_s = artifact_grace_s
        self.ledger = ErasureLedger(registry)
        self.forgotten: set[str] = set()  # requests applied to this replica's memory
        self._pruned_at = 0.0
        self._alive_at = time.monotonic()
        if self.log_key:
            self.ledger.register(self.log_key)
        self._forget_new()  # the model may predate requests (a rollback, a late rewrite)

    @property
    def log_key(self) -> str | None:
        events = self.service.events
        return events.log_id if events is not None else None

    @property
    def _pseudonymize(self) -> Pseudonymize | None:
        pseudo = self.service.pseudonymizer
        return pseudo.pseudonymize if pseudo is not None else None

    def request(self, user_id: str) -> ErasureOutcome:
        """Record, then erase everything reachable from here (see the module doc)."""
        stored = self.service.stored_id(user_id)
        name = self.ledger.record(stored, logs=local_log_ids(self.event_dir))
        matcher = UserMatcher.exact({user_id, stored}, self._pseudonymize)
        self.service.forget_stored(matcher)  # in memory: cannot fail
        self.forgotten.add(name)
        failures: list[str] = []
        removed = others = 0
        events = self.service.events
        if events is not None:
            try:
                removed = events.erase_matching(matcher.hits)
                self.ledger.mark_applied(events.log_id, [name])
            except Exception as exc:
                log.exception("erasure: this replica's event log (retried on the next tick)")
                failures.append(f"this replica's event log: {exc}")
        try:
            others = erase_free_logs(self.event_dir, self.ledger, skip=self._own_dir())
        except Exception as exc:
            log.exception("erasure: logs of replicas that are gone")
            failures.append(f"other event logs: {exc}")
        artifacts = None
        try:
            artifacts = erase_artifacts(self.registry, matcher.hits, self.datasets)
            self.ledger.mark_applied(ARTIFACTS, [name])
        except Exception as exc:
            failures.append(f"artifacts: {exc}")
        return ErasureOutcome(name, removed, others, artifacts, failures)

    def tick(self) -> int:
        """Apply requests others took: memory, own log, free logs, stale artifacts; prune.

        Returns how many requests this replica's own log applied.
        """
        if self.log_key and time.monotonic() - self._alive_at >= ALIVE_EVERY_S:
            self._alive_at = time.monotonic()
            self.ledger.touch(self.log_key)
        if not self.ledger.requests():  # the usual tick: one listing, nothing to do
            return 0
        self._forget_new()
        applied = 0
        events, key = self.service.events, self.log_key
        if events is not None and key is not None:
            todo = self.ledger.pending(key)
            if todo:
                events.erase_matching(self.ledger.matcher(todo).hits)
                self.ledger.mark_applied(key, [r.name for r in todo])
                applied = len(todo)
        erase_free_logs(self.event_dir, self.ledger, skip=self._own_dir())
        cutoff = time.time() - self.artifact_grace_s
        stale = [r for r in self.ledger.pending(ARTIFACTS) if r.requested_at < cutoff]
        if stale:
            matcher = self.ledger.matcher(stale, pseudonymize=self._pseudonymize)
            erase_artifacts(self.registry, matcher.hits, self.datasets)
            self.ledger.mark_applied(ARTIFACTS, [r.name for r in stale])
        if time.monotonic() - self._pruned_at >= PRUNE_EVERY_S or not self._pruned_at:
            self._pruned_at = time.monotonic()
            self.ledger.prune()
        return applied

    def _forget_new(self) -> None:
        new = [r for r in self.ledger.requests() if r.name not in self.forgotten]
        if new:
            self.service.forget_stored(self.ledger.matcher(new, pseudonymize=self._pseudonymize))
            self.forgotten.update(r.name for r in new)

    def _own_dir(self) -> str:
        events = self.service.events
        return str(events.directory) if events is not None else ""


# --------------------------------------------------------------------------- offline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(
            "Erase users from what a deployment holds offline: record --user requests in "
            "the ledger (if given), then apply every request the ledger holds to the event "
            "logs under --events that no replica holds, every registry version, every "
            "exported dataset, and each --dataset (e.g. the original import an export was "
            "based on; DELETE /v1/users/{id} does not know it). Safe beside running replicas."
        )
    )
    parser.add_argument("--registry", default=default_root(), help="registry root (ledger)")
    parser.add_argument("--events", default=DEFAULT_EVENTS_ROOT, help="event log root")
    parser.add_argument("--dataset", action="append", default=[], help="a dataset to rewrite")
    parser.add_argument("--user", action="append", default=[], help="a user id to erase")
    parser.add_argument(
        "--pseudonymized",
        action="store_true",
        help=f"the deployment pseudonymises user ids (${PSEUDONYM_SECRET_ENV} holds the secret)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    pseudo = None
    if args.pseudonymized:
        pseudo = Pseudonymizer(os.environ.get(PSEUDONYM_SECRET_ENV, "").encode())
    ledger = ErasureLedger(args.registry)
    for user in args.user:
        ledger.record(
            pseudo.pseudonymize(user) if pseudo else user, logs=local_log_ids(args.events)
        )
    requests = ledger.requests()
    if not requests:
        log.info("the erasure ledger under %s holds no requests: nothing to do", args.registry)
        return 0
    events = erase_free_logs(args.events, ledger)
    matcher = ledger.matcher(requests, pseudonymize=pseudo.pseudonymize if pseudo else None)
    artifacts = erase_artifacts(args.registry, matcher.hits, args.dataset)
    ledger.mark_applied(ARTIFACTS, [r.name for r in requests])
    ledger.prune()
    summary = {"requests": len(requests), "events_removed": events, **asdict(artifacts)}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
