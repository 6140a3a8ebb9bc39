"""Versioned model artifacts on any pyarrow filesystem (``./artifacts`` by default).

Layout::

    ROOT/<name>/<version>/          the model directory (model.json + arrays) ...
    ROOT/<name>/<version>/metadata.json   ... written last: kind, config, metrics, dataset
                                          hash, created, code version, sha256 of every file
    ROOT/<name>/aliases.json        {"aliases": {"production": 3}, "history": [...]}

A model is asked for as ``NAME`` (= ``NAME@latest``), ``NAME@VERSION``, ``NAME@ALIAS`` or a
directory path. ``latest`` is always the highest complete version. Writes are staged and
renamed into place, so a crash mid-write leaves nothing that loads; file hashes make a
corrupted artifact fail loudly at load instead of being served.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.fs as pafs

from entertainai import __version__
from entertainai.errors import ArtifactError, InputError, NotFoundError
from entertainai.fs import Location, atomic_directory, list_files, resolve

log = logging.getLogger(__name__)

METADATA = "metadata.json"
ALIASES = "aliases.json"
LATEST = "latest"
PRODUCTION = "production"  # the alias Serve deployments load
DEFAULT_ROOT_ENV = "ENTERTAINAI_ARTIFACTS"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def default_root() -> str:
    return os.environ.get(DEFAULT_ROOT_ENV, "./artifacts")


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    location: Location
    metadata: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def kind(self) -> str:
        return str(self.metadata.get("kind", ""))

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.metadata.get("metrics", {}))


def parse_ref(ref: str) -> tuple[str, str]:
    """Split ``NAME[@VERSION|@ALIAS]`` into (name, selector); the selector defaults to latest."""
    name, _, selector = ref.partition("@")
    selector = selector or LATEST
    if not _NAME.match(name):
        raise InputError(
            f"invalid model name {name!r}: use lowercase letters, digits, '_', '-', '.'"
        )
    if not (selector.isdigit() or _ALIAS.match(selector)):
        raise InputError(f"invalid version or alias {selector!r} in {ref!r}")
    return name, selector


def code_version() -> str:
    """The package version, plus the git commit when running from a checkout."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _jsonable(value: Any) -> Any:
    """Config values JSON lacks (numpy scalars, paths, sets) as plain values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


class Registry:
    def __init__(self, root: str | None = None, cache_dir: str | None = None) -> None:
        self.root = resolve(root or default_root())
        self.cache_dir = Path(
            cache_dir or os.environ.get("ENTERTAINAI_CACHE", "~/.cache/entertainai")
        ).expanduser()

    # ---- writing -------------------------------------------------------------------------

    def register(
        self,
        name: str,
        source_dir: str | os.PathLike[str],
        *,
        kind: str,
        config: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        dataset_hash: str | None = None,
        extra: dict[str, Any] | None = None,
        aliases: tuple[str, ...] = (),
    ) -> ModelVersion:
        """Copy a saved model directory in as the next version of ``name``."""
        parse_ref(name)
        source = Path(source_dir)
        if not source.is_dir():
            raise NotFoundError(f"{source}: no such model directory to register")
        files = sorted(str(p.relative_to(source)) for p in source.rglob("*") if p.is_file())
        metadata = {
            "name": name,
            "kind": kind,
            "config": config or {},
            "metrics": metrics or {},
            "dataset_hash": dataset_hash,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "code_version": code_version(),
            "files": {f: _sha256(source / f) for f in files if f != METADATA},
            **(extra or {}),
        }
        for _attempt in range(20):  # a concurrent writer may take the number we picked
            version = self._next_version(name)
            final = self.root.join(name, str(version))
            try:
                with atomic_directory(final) as staging:
                    self._upload(source, staging, files)
                    metadata["version"] = version
                    staging.join(METADATA).write_bytes(
                        json.dumps(metadata, indent=2, sort_keys=True).encode()
                    )
            except OSError as exc:
                if final.exists():
                    continue
                raise ArtifactError(f"cannot write {final}: {exc}") from exc
            break
        else:
            raise ArtifactError(f"could not allocate a version for {name!r}")
        log.info("registered %s@%d (%s)", name, version, kind)
        for alias in aliases:
            self.set_alias(name, alias, version)
        return ModelVersion(name, version, final, metadata)

    def _upload(self, source: Path, staging: Location, files: list[str]) -> None:
        if staging.is_local:
            for f in files:
                if f == METADATA:
                    continue
                target = Path(staging.path) / f
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source / f, target)
        else:
            pafs.copy_files(
                str(source),
                staging.path,
                source_filesystem=pafs.LocalFileSystem(),
                destination_filesystem=staging.fs,
            )

    def _next_version(self, name: str) -> int:
        existing = [int(v) for v in self.root.join(name).listdir() if v.isdigit()]
        return max(existing, default=0) + 1

    def register_model(
        self,
        model: Any,
        name: str | None = None,
        *,
        metrics: dict[str, Any] | None = None,
        dataset_hash: str | None = None,
        extra: dict[str, Any] | None = None,
        aliases: tuple[str, ...] = (),
        promote: bool | None = None,
    ) -> ModelVersion:
        """Save a fitted model and register it under ``name`` (default: its kind), reading
        kind and config from the model: the one registration path every job uses.

        The one promote policy: the new version becomes ``production`` when ``promote`` is
        True, or when it is None (the default) and ``name`` has no production version yet (a
        first model serves at once; later ones wait for ``models promote`` or a gate, such as
        ``train.retrain``'s). ``promote=False`` never moves the alias. ``aliases`` are set too.
        """
        import tempfile

        name = name or model.kind
        config = getattr(model, "config", None)
        config_json = (
            json.loads(json.dumps(dataclasses.asdict(config), default=_jsonable))
            if dataclasses.is_dataclass(config) and not isinstance(config, type)
            else {}
        )
        with tempfile.TemporaryDirectory() as tmp:
            model.save(tmp)
            mv = self.register(
                name,
                tmp,
                kind=model.kind,
                config=config_json,
                metrics=metrics,
                dataset_hash=dataset_hash,
                extra=extra,
                aliases=tuple(a for a in aliases if a != PRODUCTION),
            )
        if PRODUCTION in aliases:
            promote = True
        if promote or (promote is None and PRODUCTION not in self.aliases(name)):
            self.set_alias(name, PRODUCTION, mv.version)
        return mv

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` at ``version`` (promote / rollback), recording the change."""
        if alias == LATEST:
            raise InputError("'latest' always follows the newest version and cannot be set")
        if not _ALIAS.match(alias):
            raise InputError(f"invalid alias {alias!r}")
        self.get(f"{name}@{version}")  # must exist and be complete
        state = self._alias_state(name)
        previous = state["aliases"].get(alias)
        state["aliases"][alias] = version
        state["history"].append(
            {
                "alias": alias,
                "version": version,
                "previous": previous,
                "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
        )
        self._write_aliases(name, state)

    def remove_alias(self, name: str, alias: str) -> None:
        state = self._alias_state(name)
        if state["aliases"].pop(alias, None) is not None:
            self._write_aliases(name, state)

    def _write_aliases(self, name: str, state: dict[str, Any]) -> None:
        target = self.root.join(name, ALIASES)
        try:
            target.write_bytes(json.dumps(state, indent=2).encode())
        except OSError as exc:  # read-only or full store: the old aliases stay as they were
            raise ArtifactError(
                f"cannot update aliases at {target}: {exc.strerror or exc}"
            ) from None

    def delete(self, name: str, version: int) -> None:
        mv = self.get(f"{name}@{version}")
        pinned = [a for a, v in self.aliases(name).items() if v == version and a != LATEST]
        if pinned:
            raise InputError(f"{mv.ref} is aliased as {pinned}; move the alias first")
        # Remove the marker first so a crash mid-delete leaves an incomplete (ignored) version.
        mv.location.fs.delete_file(mv.location.join(METADATA).path)
        mv.location.fs.delete_dir(mv.location.path)

    # ---- erasure -------------------------------------------------------------------------

    def erase_user(
        self, *user_ids: str, match: Callable[[Iterable[str]], set[str]] | None = None
    ) -> list[str]:
        """Rewrite every version whose arrays hold one of the users; returns the refs rewritten.

        ``match`` picks the ids to erase from those a version holds (the erasure ledger's
        hashes); else ``user_ids``. A version is loaded, told to ``forget_users``, saved, and
        its files and metadata replaced as a whole (staged and renamed locally; on object
        stores the metadata is removed first and written last, as by :meth:`register`). The
        metadata records how many users were erased (``erased_users``), never who. A version
        whose kind cannot forget users raises :class:`ArtifactError`: retrain it instead.
        """
        wanted = set(user_ids)
        hits = match or (lambda ids: wanted & set(ids))
        rewritten = []
        for name in self.names():
            for mv in self.versions(name):
                held = _users_held(self.local_path(mv.ref, verify=False), hits)
                if held and self._rewrite_without(mv, held):
                    rewritten.append(mv.ref)
        return rewritten

    def _rewrite_without(self, mv: ModelVersion, users: set[str]) -> bool:
        from entertainai.model import load_model

        model = load_model(self.local_path(mv.ref))  # verified: never rewrite a corrupt one
        if not hasattr(model, "forget_users"):
            raise ArtifactError(
                f"{mv.ref}: a {mv.kind} model holds user ids but cannot forget them; retrain it"
            )
        forgotten = model.forget_users(sorted(users))
        if not forgotten:  # the ids matched other text (an item id, a title), not a user
            log.warning("%s: text matching an erased id is not a user of the model; kept", mv.ref)
            return False
        with tempfile.TemporaryDirectory() as tmp:
            staged = Path(tmp) / "model"
            old = self.local_path(mv.ref, verify=False)
            # Start from the version's own files (anything a job stored beside the model),
            # then the model as it now saves.
            shutil.copytree(old, staged, ignore=shutil.ignore_patterns(METADATA))
            model.save(staged)
            files = sorted(str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file())
            metadata = {
                **mv.metadata,
                "files": {f: _sha256(staged / f) for f in files},
                "erased_users": int(mv.metadata.get("erased_users", 0)) + forgotten,
                "erased_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
            body = json.dumps(metadata, indent=2, sort_keys=True).encode()
            if mv.location.is_local:
                with atomic_directory(mv.location, overwrite=True) as staging:
                    self._upload(staged, staging, files)
                    staging.join(METADATA).write_bytes(body)
            else:
                mv.location.fs.delete_file(mv.location.join(METADATA).path)
                self._upload(staged, mv.location, files)
                mv.location.join(METADATA).write_bytes(body)
                shutil.rmtree(self.cache_dir / mv.name / str(mv.version), ignore_errors=True)
        log.info("%s rewritten without %d erased user(s)", mv.ref, forgotten)
        return True

    # ---- reading -------------------------------------------------------------------------

    def _alias_state(self, name: str) -> dict[str, Any]:
        loc = self.root.join(name, ALIASES)
        if not loc.exists():
            return {"aliases": {}, "history": []}
        return json.loads(loc.read_bytes())

    def aliases(self, name: str) -> dict[str, int]:
        result = dict(self._alias_state(name)["aliases"])
        versions = self._complete_versions(name)
        if versions:
            result[LATEST] = versions[-1]
        return result

    def alias_history(self, name: str) -> list[dict[str, Any]]:
        return list(self._alias_state(name)["history"])

    def names(self) -> list[str]:
        return [n for n in self.root.listdir() if _NAME.match(n) and self._complete_versions(n)]

    def _complete_versions(self, name: str) -> list[int]:
        base = self.root.join(name)
        return sorted(
            int(v) for v in base.listdir() if v.isdigit() and base.join(v, METADATA).exists()
        )

    def versions(self, name: str) -> list[ModelVersion]:
        return [self.get(f"{name}@{v}") for v in self._complete_versions(name)]

    def get(self, ref: str) -> ModelVersion:
        name, selector = parse_ref(ref)
        if selector.isdigit():
            version = int(selector)
        else:
            aliases = self.aliases(name)
            if selector not in aliases:
                if not self._complete_versions(name):
                    raise NotFoundError(f"no model named {name!r} in {self.root}")
                raise NotFoundError(f"{name!r} has no alias {selector!r} (has {sorted(aliases)})")
            version = aliases[selector]
        location = self.root.join(name, str(version))
        marker = location.join(METADATA)
        if not marker.exists():
            raise NotFoundError(
                f"{name}@{version} does not exist (or is incomplete) in {self.root}"
            )
        try:
            metadata = json.loads(marker.read_bytes())
        except ValueError:
            raise ArtifactError(f"{marker}: corrupt metadata") from None
        return ModelVersion(name, version, location, metadata)

    def local_path(self, ref: str, *, verify: bool = True) -> Path:
        """A local directory holding the model ``ref`` (a registry reference or a path).

        Remote artifacts are copied to the cache once. With ``verify``, every file's sha256 is
        checked against the metadata so a corrupt artifact is refused, never served.
        """
        if os.path.isdir(ref):
            return Path(ref)
        mv = self.get(ref)
        if mv.location.is_local:
            path = Path(mv.location.path)
        else:
            path = self.cache_dir / mv.name / str(mv.version)
            if not _cache_matches(path, mv):  # absent, or the version was rewritten (erasure)
                with atomic_directory(resolve(str(path)), overwrite=True) as staging:
                    pafs.copy_files(
                        mv.location.path,
                        staging.path,
                        source_filesystem=mv.location.fs,
                        destination_filesystem=pafs.LocalFileSystem(),
                    )
        if verify:
            self.verify(mv, path)
        return path

    def verify(self, mv: ModelVersion, path: Path) -> None:
        expected: dict[str, str] = mv.metadata.get("files", {})
        present = {f for f in list_files(resolve(str(path))) if f != METADATA}
        missing = sorted(set(expected) - present)
        if missing:
            raise ArtifactError(f"{mv.ref}: artifact is missing files {missing}")
        for name, digest in expected.items():
            if _sha256(path / name) != digest:
                raise ArtifactError(
                    f"{mv.ref}: {name} does not match its recorded sha256 (corrupt)"
                )


def _cache_matches(path: Path, mv: ModelVersion) -> bool:
    try:
        cached = json.loads((path / METADATA).read_bytes())
    except (OSError, ValueError):
        return False
    return bool(cached.get("files") == mv.metadata.get("files"))


def _users_held(path: Path, hits: Callable[[Iterable[str]], set[str]]) -> set[str]:
    """The ids ``hits`` picks among the text arrays of a model directory's ``.npz`` files.

    Reads each array's header first and loads only text arrays, so a large weight matrix is
    never read to find out it holds no ids.
    """
    found: set[str] = set()
    for npz in sorted(path.rglob("*.npz")):
        with zipfile.ZipFile(npz) as archive:
            for member in archive.namelist():
                with archive.open(member) as f:
                    version = np.lib.format.read_magic(f)
                    header = (
                        np.lib.format.read_array_header_1_0(f)
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0(f)
                    )
                if header[2].kind not in "US":
                    continue
                with archive.open(member) as f:
                    values = np.lib.format.read_array(f, allow_pickle=False)
                found |= hits(str(v) for v in values.ravel().tolist())
    return found
