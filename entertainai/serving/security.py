"""API keys with scopes, user-scoped tokens, per-key rate limits, one ``authorize`` for every
request path, and redaction so secrets never reach a log.

Keys are stored as plain SHA-256 hex digests, without a salt or a slow KDF. That is sound
because the keys are not passwords: :func:`generate_key` draws 256 random bits, so neither
brute force nor precomputed tables can invert a digest, and a salt would add nothing. It
also keeps the configuration portable: ``hash_key`` run anywhere (a laptop, a CI secret
step) yields the entry to deploy, with no per-store salt to share. The ``plain=`` form is
for development only; such keys may be guessable and a warning says so.

Key sources::

    ENTERTAINAI_API_KEYS="ingest:write-events:9f86d0...,dev:read+admin:plain=devkey"
    secrets.json: [{"name": "ingest", "scopes": ["write-events"], "sha256": "9f86d0..."}]

Make a new key with ``python -m entertainai.serving.security NAME --scopes read``.

User-scoped tokens (``eai1.<user>.<expiry>.<signature>``, HMAC-SHA256 with a server secret)
are issued by an admin key for one user; they read that user's data and record that user's
events, nothing else; see :class:`TokenSigner`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import logging
import math
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from entertainai.errors import (
    EntertainAIError,
    InputError,
    PermissionDenied,
    Unauthenticated,
)

log = logging.getLogger(__name__)

# "metrics": Prometheus scrapes /metrics with a key that can read nothing else.
SCOPES = ("read", "write-events", "admin", "metrics")
ADMIN = "admin"
ENV_VAR = "ENTERTAINAI_API_KEYS"
# Longer "keys" are not ours; refusing them early bounds the hashing work per request.
MAX_KEY_LENGTH = 512
_MIN_PLAIN_LENGTH = 20
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def hash_key(key: str) -> str:
    """The stored form of a key: SHA-256 hex (see the module docstring for why unsalted)."""
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    """A new random key: 256 bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class KeyEntry:
    """One configured key: a name (shown in logs), its scopes and the key's SHA-256."""

    name: str
    scopes: frozenset[str]
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "scopes": sorted(self.scopes), "sha256": self.sha256}

    def __repr__(self) -> str:
        return f"KeyEntry(name={self.name!r}, scopes={sorted(self.scopes)})"


@dataclass(frozen=True, repr=False)
class Principal:
    """Who a request authenticated as. Holds no secret; ``repr`` shows only the name.

    ``user_id`` is set for a user-scoped token: it may read that user's data and the
    catalogue's shared lists, nothing else.
    """

    name: str
    scopes: frozenset[str]
    user_id: str | None = None

    def allows(self, scope: str) -> bool:
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}; expected one of {SCOPES}")
        return ADMIN in self.scopes or scope in self.scopes

    def require(self, scope: str) -> Principal:
        """Return self if allowed ``scope``; raise :class:`PermissionDenied` otherwise."""
        if not self.allows(scope):
            what = "a user token" if self.user_id is not None else f"API key {self.name!r}"
            raise PermissionDenied(f"{what} lacks the {scope!r} scope")
        return self

    def require_user(self, user_id: str | None, *, shared: bool = False) -> Principal:
        """Return self if this principal may see ``user_id``'s data (``None``: a route about
        no single user; ``shared``: one that tells nothing about any user, like trending).
        Keys see every user; a user token sees its own user and the shared routes only."""
        if self.user_id is None or user_id == self.user_id or (user_id is None and shared):
            return self
        raise PermissionDenied("a user token reads and records only its own user's data")

    @property
    def limit_key(self) -> str:
        """The rate limiter's bucket: per key, and per user for tokens."""
        return self.name

    def __repr__(self) -> str:
        return f"Principal({self.name!r})"


ANONYMOUS = Principal("anonymous", frozenset(SCOPES))  # when the API runs without keys


def new_key_entry(name: str, scopes: Iterable[str]) -> tuple[str, KeyEntry]:
    """A fresh key and its entry for the secrets file or the environment variable.

    Hand the key to the client once; deploy only the entry (it holds the hash).
    """
    key = generate_key()
    return key, _entry(name, list(scopes), hash_key(key), where=f"key {name!r}")


def env_entry(entry: KeyEntry) -> str:
    """``entry`` in the ``ENTERTAINAI_API_KEYS`` format."""
    return f"{entry.name}:{'+'.join(sorted(entry.scopes))}:{entry.sha256}"


class ApiKeyStore:
    """Configured keys, looked up by hash with constant-time comparison."""

    def __init__(
        self, entries: Iterable[KeyEntry] = (), *, tokens: TokenSigner | None = None
    ) -> None:
        # Verifies user tokens; None until a secret is configured (then tokens are unknown keys).
        self.tokens = tokens
        self._entries: list[KeyEntry] = []
        for entry in entries:
            if any(e.name == entry.name for e in self._entries):
                raise InputError("duplicate key name", location=f"key {entry.name!r}")
            if any(e.sha256 == entry.sha256 for e in self._entries):
                raise InputError("same key configured twice", location=f"key {entry.name!r}")
            self._entries.append(entry)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, var: str = ENV_VAR
    ) -> ApiKeyStore:
        """Keys from ``var`` (empty store if unset); see the module docstring for the format."""
        text = (os.environ if environ is None else environ).get(var, "")
        return cls(parse_env(text, var=var))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> ApiKeyStore:
        """Keys from a JSON secrets file: ``[{"name", "scopes", "sha256"}, ...]``."""
        return cls(read_secrets_file(path))

    @classmethod
    def load(
        cls,
        secrets_file: str | os.PathLike[str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> ApiKeyStore:
        """Keys from ``secrets_file`` (if given) plus ``ENTERTAINAI_API_KEYS`` (if set)."""
        entries = read_secrets_file(secrets_file) if secrets_file is not None else []
        env = os.environ if environ is None else environ
        secret = env.get(TOKEN_SECRET_ENV, "")
        tokens = TokenSigner(secret.encode()) if secret else None
        return cls([*entries, *parse_env(env.get(ENV_VAR, ""))], tokens=tokens)

    def authenticate(self, key: str | None) -> Principal | None:
        """The principal of ``key`` (an API key or a user token), or None for a missing or
        unknown one; an expired token raises :class:`Unauthenticated` (it says why)."""
        if not key or len(key) > MAX_KEY_LENGTH:
            return None
        if key.startswith(TOKEN_PREFIX):
            return self.tokens.verify(key) if self.tokens is not None else None
        digest = hash_key(key)
        match: KeyEntry | None = None
        for entry in self._entries:  # no early exit: time does not depend on which matched
            if hmac.compare_digest(entry.sha256, digest):
                match = entry
        return Principal(match.name, match.scopes) if match else None

    def require(self, key: str | None, scope: str) -> Principal:
        """Authenticate and check ``scope``; raise Unauthenticated or PermissionDenied."""
        principal = self.authenticate(key)
        if principal is None:
            raise Unauthenticated("missing or invalid API key")
        return principal.require(scope)

    @property
    def names(self) -> list[str]:
        return [e.name for e in self._entries]

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"ApiKeyStore({len(self._entries)} keys)"


def key_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """A request's API key from its raw (ASGI) headers: ``x-api-key``, else
    ``Authorization: Bearer``; None without either.

    Every path that checks keys (the fast lane, the key gate, the FastAPI dependencies) reads
    them here. Two ``x-api-key`` (or two bearer) headers are refused, not resolved: servers,
    proxies and frameworks disagree on which copy counts (the fast lane took the last,
    FastAPI the first), and any choice lets two checks see two different keys.
    """
    key = bearer = None
    for name, value in headers:
        if name == b"x-api-key":
            if key is not None:
                raise Unauthenticated("more than one x-api-key header; send one key")
            key = value.decode("latin-1")
        elif name == b"authorization" and value[:7].lower() == b"bearer ":
            if bearer is not None:
                raise Unauthenticated("more than one bearer token; send one key")
            bearer = value[7:].decode("latin-1").strip()
    return key if key is not None else bearer


def parse_env(text: str, *, var: str = ENV_VAR) -> list[KeyEntry]:
    """Parse ``name:scope1+scope2:sha256hex`` or ``name:scopes:plain=KEY``, comma-separated."""
    entries = []
    for index, raw in enumerate(p.strip() for p in text.split(",")):
        if not raw:
            continue
        parts = raw.split(":", 2)
        # Errors name the entry by position and name, never by its secret part.
        where = f"{var} entry {index + 1}" + (f" ({parts[0]!r})" if len(parts) == 3 else "")
        if len(parts) != 3:
            raise InputError(
                "expected name:scopes:sha256hex or name:scopes:plain=KEY", location=where
            )
        name, scopes, secret = parts
        if secret.startswith("plain="):
            secret = _hash_plain(secret[len("plain=") :], where)
        entries.append(_entry(name, scopes.split("+"), secret, where=where))
    return entries


def read_secrets_file(path: str | os.PathLike[str]) -> list[KeyEntry]:
    where = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise InputError("secrets file not found", location=where) from None
    except ValueError as exc:
        raise InputError(f"not valid JSON ({exc.__class__.__name__})", location=where) from None
    if not isinstance(data, list):
        raise InputError("expected a JSON list of {name, scopes, sha256}", location=where)
    entries = []
    for index, item in enumerate(data):
        at = f"{where} entry {index + 1}"
        if not isinstance(item, dict) or not {"name", "scopes", "sha256"} <= item.keys():
            raise InputError("expected an object with name, scopes and sha256", location=at)
        if not isinstance(item["scopes"], list) or not isinstance(item["sha256"], str):
            raise InputError("scopes must be a list and sha256 a string", location=at)
        entries.append(_entry(item["name"], item["scopes"], item["sha256"], where=at))
    return entries


def _hash_plain(key: str, where: str) -> str:
    if not key:
        raise InputError("empty plain key", location=where)
    if len(key) < _MIN_PLAIN_LENGTH:
        log.warning("%s: short plaintext API key; use plain= keys for development only", where)
    return hash_key(key)


def _entry(name: object, scopes: Sequence[object], sha256: str, *, where: str) -> KeyEntry:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", name):
        raise InputError("key name must be 1-64 letters, digits, '_', '.' or '-'", location=where)
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise InputError(
            f"scopes must be a non-empty subset of {', '.join(SCOPES)}; got {unknown or 'none'}",
            location=where,
        )
    digest = sha256.strip().lower()
    if not _SHA256_RE.match(digest):
        # The value itself is not echoed: it may be a plaintext key pasted by mistake.
        raise InputError("not a SHA-256 hex digest (64 hex characters)", location=where)
    return KeyEntry(name, frozenset(str(s) for s in scopes), digest)


# --------------------------------------------------------------------------- user tokens

TOKEN_PREFIX = "eai1."  # nosec B105 - a format marker, not a secret
TOKEN_SECRET_ENV = "ENTERTAINAI_TOKEN_SECRET"  # nosec B105 - a variable name
# write-events too: a viewer's "play" and "not interested" are its own; whose events they are
# is checked per event (``require_user``), and a route about no user refuses tokens anyway.
TOKEN_SCOPES = frozenset({"read", "write-events"})
DEFAULT_TOKEN_TTL_S = 24 * 3600.0
MAX_TOKEN_TTL_S = 30 * 24 * 3600.0
_TOKEN_LABEL = b"entertainai-user-token\x00"
_MIN_SECRET_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issue and verify user-scoped tokens: ``eai1.<b64 user id>.<expiry>.<b64 HMAC>``.

    The HMAC-SHA256 covers the user id and the expiry (unix seconds), so neither can be
    changed; nothing is stored per token, so every replica with the same secret verifies
    every token, and a token is revoked only by expiry or by changing the secret.
    """

    def __init__(self, secret: bytes, *, clock: Callable[[], float] = time.time) -> None:
        if len(secret) < _MIN_SECRET_BYTES:
            raise InputError(
                f"must be at least {_MIN_SECRET_BYTES} bytes", location=TOKEN_SECRET_ENV
            )
        self._secret = secret
        self._clock = clock

    def _sign(self, user: bytes, expires: int) -> bytes:
        message = _TOKEN_LABEL + user + b"\x00" + str(expires).encode()
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def issue(self, user_id: str, ttl_s: float = DEFAULT_TOKEN_TTL_S) -> tuple[str, int]:
        """A token for ``user_id`` valid ``ttl_s`` seconds, and its expiry (unix seconds)."""
        if not 0 < ttl_s <= MAX_TOKEN_TTL_S:
            raise InputError(f"must be in (0, {MAX_TOKEN_TTL_S:.0f}] seconds", location="ttl_s")
        if not user_id or len(user_id) > 256:
            raise InputError("must be 1-256 characters", location="user_id")
        expires = math.ceil(self._clock() + ttl_s)
        user = user_id.encode()
        token = f"{TOKEN_PREFIX}{_b64(user)}.{expires}.{_b64(self._sign(user, expires))}"
        return token, expires

    def verify(self, token: str) -> Principal | None:
        """The token's principal; None if malformed or forged; :class:`Unauthenticated` if
        expired (checked after the signature: an expiry is only news when it is genuine)."""
        parts = token[len(TOKEN_PREFIX) :].split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        try:
            user, signature = _unb64(parts[0]), _unb64(parts[2])
            user_id = user.decode()
        except (ValueError, UnicodeDecodeError):
            return None
        expires = int(parts[1])
        if not hmac.compare_digest(self._sign(user, expires), signature):
            return None
        if expires <= self._clock():
            raise Unauthenticated("user token expired; ask for a new one")
        return Principal(f"user:{user_id}", TOKEN_SCOPES, user_id)

    def __repr__(self) -> str:
        return "TokenSigner()"


# --------------------------------------------------------------------------- authorize

# Where ``authorize`` keeps its verdict in the request (the ASGI scope dict): the fast lane
# and FastAPI see the same dict, so a request the lane hands over is not charged twice.
_PRINCIPAL = "entertainai.principal"
_CHARGED = "entertainai.rate_limit_wait"


class RateLimited(EntertainAIError):
    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"rate limit exceeded; retry after {retry_after_s:.2f}s")


def authenticate_request(keys: ApiKeyStore | None, request: MutableMapping[str, Any]) -> Principal:
    """The request's principal from its raw headers (``None`` keys: the API runs without
    keys). Remembered in ``request``, so each request is hashed once whoever asks."""
    principal = request.get(_PRINCIPAL)
    if principal is None:
        if keys is None:
            principal = ANONYMOUS
        else:
            principal = keys.authenticate(key_from_headers(request["headers"]))
            if principal is None:
                raise Unauthenticated("missing or invalid API key")
        request[_PRINCIPAL] = principal
    return principal


def authorize(
    keys: ApiKeyStore | None,
    request: MutableMapping[str, Any],
    scope: str,
    *,
    user_id: str | None = None,
    shared: bool = False,
    limiter: RateLimiter | None = None,
) -> Principal:
    """The one check every API path makes: key or token (duplicates refused), ``scope``,
    whose data (``user_id``, ``shared``: see :meth:`Principal.require_user`), then one token
    from ``limiter``.

    ``request`` is the ASGI scope: the verdict is kept there, so however many times a request
    is authorized (the fast lane, then FastAPI rendering its error) the limiter is charged
    exactly once and a refusal stays a refusal.
    """
    principal = authenticate_request(keys, request)
    principal.require(scope).require_user(user_id, shared=shared)
    if limiter is not None and keys is not None:
        wait = request.get(_CHARGED)
        if wait is None:
            wait = request[_CHARGED] = limiter.check(principal.limit_key)
        if wait > 0:
            raise RateLimited(wait)
    return principal


def replica_share(rate_per_s: float, burst: int, replicas: int) -> tuple[float, int]:
    """One replica's share of a cluster-wide per-key limit: ``rate / replicas`` and the burst
    likewise (at least 1). Balanced traffic then meets the cluster limit, not N times it."""
    if replicas < 1:
        raise InputError("must be at least 1", location="replicas")
    return rate_per_s / replicas, max(1, math.ceil(burst / replicas))


# --------------------------------------------------------------------------- rate limits


class RateLimiter:
    """A token bucket per key name: ``burst`` requests at once, refilled at ``rate_per_s``.

    Thread-safe and O(1) per check. Buckets are kept in least-recently-used order and the
    oldest is dropped beyond ``max_keys``, so memory stays bounded even for per-IP keys; a
    bucket idle for ``burst / rate_per_s`` seconds is full anyway, so dropping it is exact.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if not rate_per_s > 0:
            raise InputError("must be positive", location="rate_per_s")
        if burst < 1:
            raise InputError("must be at least 1", location="burst")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, last refill)
        self._lock = threading.Lock()

    def check(self, key_name: str) -> float:
        """Take one token: 0.0 if allowed, else the seconds to wait (for ``Retry-After``).

        A refused request takes nothing, so a client that waits the returned time succeeds.
        HTTP wants whole seconds: round up.
        """
        with self._lock:
            now = self._clock()
            state = self._buckets.pop(key_name, None)  # re-inserted below: LRU order
            if state is None:
                tokens = float(self.burst)
            else:
                tokens, last = state
                tokens = min(float(self.burst), tokens + max(0.0, now - last) * self.rate_per_s)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate_per_s
            self._buckets[key_name] = (tokens, now)
            if len(self._buckets) > self._max_keys:
                del self._buckets[next(iter(self._buckets))]
            return wait

    def reconfigure(self, rate_per_s: float, burst: int) -> None:
        """New limits for every bucket (buckets over the new burst are cut down to it)."""
        if not rate_per_s > 0:
            raise InputError("must be positive", location="rate_per_s")
        if burst < 1:
            raise InputError("must be at least 1", location="burst")
        with self._lock:
            self.rate_per_s, self.burst = rate_per_s, burst

    def __len__(self) -> int:
        """Buckets held (at most ``max_keys``)."""
        return len(self._buckets)


# --------------------------------------------------------------------------- redaction

_AFTER_LABEL = re.compile(
    r"(?i)(plain=|bearer\s+|x-api-key\s*[:=]\s*|api[_-]?key[\"']?\s*[:=]\s*[\"']?"
    r"|(?:secret|token|password)[\"']?\s*[:=]\s*[\"']?)"
    r"([^\s,;\"'&]+)"
)
# Generated keys are 43 URL-safe characters and digests 64 hex: any such run is masked.
_LONG_TOKEN = re.compile(r"(?<![A-Za-z0-9_\-])[A-Za-z0-9_\-]{40,}(?![A-Za-z0-9_\-])")


def redact(text: str) -> str:
    """Mask API keys, key hashes and labelled secrets in ``text`` before it is logged."""
    text = _AFTER_LABEL.sub(lambda m: m.group(1) + "***", text)
    return _LONG_TOKEN.sub("***", text)


# Where a message names a server-side location: a URI (s3://bucket/..., file:///...), an
# absolute path of two or more parts, or a relative one (./artifacts/...). The API's own
# paths (/v1/...) are kept: they tell a client what to do.
_PATH = re.compile(
    r"(?<![\w.~/-])(?:[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]*"
    r"|(?:~|\.{1,2})?/(?!v1/)[^\s'\"/]+/[^\s'\"]*"
    r"|\.{1,2}/[^\s'\"]+)"
)
_TRAILING = ":,;.)]"


def strip_paths(text: str) -> str:
    """Replace server file paths and storage URIs in ``text`` with ``<path>`` (for messages
    that reach clients: where the registry or the event log lives is not theirs to know)."""

    def hide(match: re.Match[str]) -> str:
        found = match.group(0)
        kept = found.rstrip(_TRAILING)
        return "<path>" + found[len(kept) :]

    return _PATH.sub(hide, text)


class RedactingFilter(logging.Filter):
    """A logging filter that applies :func:`redact` to every record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m entertainai.serving.security",
        description="Generate an API key. Prints the key (give it to the client once; it is "
        "not stored) and the entry to deploy, for the secrets file and for "
        f"{ENV_VAR}.",
    )
    parser.add_argument("name", help="key name shown in logs, e.g. 'ingest' or 'web-frontend'")
    parser.add_argument(
        "--scopes",
        default="read",
        help=f"'+'-separated subset of {', '.join(SCOPES)} (admin implies all); default read",
    )
    args = parser.parse_args(argv)
    try:
        key, entry = new_key_entry(args.name, args.scopes.split("+"))
    except InputError as exc:
        parser.error(str(exc))
    print(f"key (shown once):      {key}")
    print(f"secrets file entry:    {json.dumps(entry.to_json())}")
    print(f"{ENV_VAR} entry: {env_entry(entry)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
