"""Web sessions: the API key stays on the server, the browser holds a signed random id.

Signing in stores a session record under the registry root (``_web_sessions/``, shared by
every Gateway replica like the erasure ledger, so any replica behind the proxy knows the
session) and sets one cookie: ``<sid>.<signature>``, HttpOnly, SameSite=Strict. The record is
named by the SHA-256 of the id and holds the key *sealed* with a pad derived from the id, so
neither the stored records (without the cookies) nor a cookie (without the records) yields a
key. Page JavaScript sees neither: it gets only a CSRF token, an HMAC of the session id, which
every state-changing request must send back (``x-csrf-token`` or a ``csrf_token`` form field).

A session signed in with a user-scoped token is *bound* to that token's user: it cannot switch
viewer profile and sees only the viewer pages (``context.VIEWER_ROUTES``), where it records
that user's "play" and "not interested" events; the token, like a key, stays sealed on the
server.

The signature key is ``$ENTERTAINAI_WEB_SECRET`` or, if unset, a random secret written once
beside the records. Records are cached per replica for ``CACHE_TTL_S``: a sign-out reaches
the other replicas within that time (the replica that signs out forgets at once).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from entertainai.errors import PermissionDenied
from entertainai.fs import Location, resolve
from entertainai.serving.security import ADMIN, Principal

log = logging.getLogger(__name__)

COOKIE = "eai_session"
SESSION_DIR = "_web_sessions"
SECRET_ENV = "ENTERTAINAI_WEB_SECRET"  # nosec B105 - a variable name, not a secret
SESSION_TTL_S = 8 * 3600.0
CACHE_TTL_S = 15.0
MAX_CACHED = 10_000
PRUNE_EVERY_S = 600.0
_PAD_LABEL = b"entertainai-web-session-key\x00"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _seal(sid: str, data: bytes) -> bytes:
    """XOR with a one-off pad from the session id (each id seals exactly one key)."""
    pad = hashlib.shake_256(_PAD_LABEL + sid.encode()).digest(len(data))
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


@dataclass(frozen=True, repr=False)
class Session:
    """One signed-in browser. ``key`` (an API key or a user token) never leaves the server;
    ``repr`` shows the name only."""

    sid: str
    name: str
    scopes: frozenset[str]
    user_id: str
    key: str | None  # None when the API runs without keys
    expires: float
    user_bound: bool = False  # signed in with a user token: this user only, viewer pages only

    @property
    def principal(self) -> Principal:
        return Principal(self.name, self.scopes, self.user_id if self.user_bound else None)

    def allows(self, scope: str) -> bool:
        return self.principal.allows(scope)

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes

    def __repr__(self) -> str:
        return f"Session({self.name!r})"


class SessionStore:
    """Create, find and delete sessions; sign cookies and CSRF tokens."""

    def __init__(
        self,
        root: str,
        *,
        secret: bytes | None = None,
        ttl_s: float = SESSION_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.location: Location = resolve(root).join(SESSION_DIR)
        self.ttl_s = ttl_s
        self._clock = clock
        self._secret = secret
        self._cache: dict[str, tuple[Session, float]] = {}
        self._lock = threading.Lock()
        self._pruned = 0.0

    # ---- keys ------------------------------------------------------------------------------

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            with self._lock:
                if self._secret is None:
                    self._secret = self._load_secret()
        return self._secret

    def _load_secret(self) -> bytes:
        configured = os.environ.get(SECRET_ENV, "")
        if configured:
            if len(configured) < 32:
                raise ValueError(f"${SECRET_ENV} must be at least 32 characters")
            return configured.encode()
        file = self.location.join("secret")
        self.location.fs.create_dir(self.location.path, recursive=True)
        if not file.exists():
            file.write_bytes(secrets.token_hex(32).encode())
            _private(file)
        # Read back what is stored: when two replicas start at once, both use the one kept.
        return file.read_bytes().strip()

    def _sign(self, label: bytes, sid: str) -> str:
        return _b64(hmac.new(self.secret, label + b"\x00" + sid.encode(), hashlib.sha256).digest())

    def csrf_token(self, session: Session) -> str:
        """The token pages send back on every state-changing request."""
        return self._sign(b"csrf", session.sid)

    def check_csrf(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session), str(token))

    # ---- sessions --------------------------------------------------------------------------

    def create(
        self,
        name: str,
        scopes: frozenset[str],
        user_id: str,
        key: str | None,
        *,
        user_bound: bool = False,
        expires: float | None = None,
    ) -> tuple[Session, str]:
        """A new session and its cookie value (``expires``: no later than this, e.g. the
        token's own expiry)."""
        sid = secrets.token_urlsafe(32)
        now = self._clock()
        until = now + self.ttl_s if expires is None else min(now + self.ttl_s, expires)
        session = Session(sid, name, frozenset(scopes), user_id, key, until, user_bound)
        self._write(session, created=now)
        self._maybe_prune(now)
        return session, f"{sid}.{self._sign(b'session', sid)}"

    def with_user(self, session: Session, user_id: str) -> Session:
        """The same session browsing as another viewer profile (not for a token's session)."""
        if session.user_bound:
            raise PermissionDenied("signed in with a user token: the profile is the token's")
        updated = Session(
            session.sid, session.name, session.scopes, user_id, session.key, session.expires
        )
        self._write(updated, created=self._clock())
        return updated

    def get(self, cookie: str | None) -> Session | None:
        """The session of a cookie value, or None (unsigned, unknown, expired or unreadable)."""
        if not cookie or "." not in cookie or len(cookie) > 200:
            return None
        sid, _, signature = cookie.partition(".")
        if not hmac.compare_digest(self._sign(b"session", sid), signature):
            return None  # forged or from another secret: no storage read for it
        name = _record_name(sid)
        now = self._clock()
        cached = self._cache.get(name)
        session: Session | None
        if cached is not None and now - cached[1] < CACHE_TTL_S:
            session = cached[0]
        else:
            session = self._read(sid, name)
            if session is None:
                self._cache.pop(name, None)
                return None
            with self._lock:
                if len(self._cache) >= MAX_CACHED:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[name] = (session, now)
        return session if session.expires > now else None

    def delete(self, session: Session) -> None:
        name = _record_name(session.sid)
        self._cache.pop(name, None)
        try:
            self.location.fs.delete_file(self.location.join(name).path)
        except (FileNotFoundError, OSError):
            pass

    def _write(self, session: Session, *, created: float) -> None:
        key = session.key.encode() if session.key is not None else None
        record = {
            "name": session.name,
            "scopes": sorted(session.scopes),
            "user_id": session.user_id,
            "sealed": _b64(_seal(session.sid, key)) if key is not None else None,
            "created": created,
            "expires": session.expires,
            "user_bound": session.user_bound,
        }
        self.location.fs.create_dir(self.location.path, recursive=True)
        file = self.location.join(_record_name(session.sid))
        file.write_bytes(json.dumps(record).encode())
        _private(file)
        self._cache[_record_name(session.sid)] = (session, self._clock())

    def _read(self, sid: str, name: str) -> Session | None:
        try:
            record = json.loads(self.location.join(name).read_bytes())
            sealed = record["sealed"]
            key = _seal(sid, _unb64(sealed)).decode() if sealed is not None else None
            return Session(
                sid,
                str(record["name"]),
                frozenset(record["scopes"]),
                str(record["user_id"]),
                key,
                float(record["expires"]),
                bool(record.get("user_bound", False)),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
            log.warning("unreadable web session record %s", name[:12])
            return None

    def _maybe_prune(self, now: float) -> None:
        """Delete expired records, at most every ``PRUNE_EVERY_S`` per replica."""
        if now - self._pruned < PRUNE_EVERY_S:
            return
        self._pruned = now
        for name in self.location.listdir():
            if not name.endswith(".json"):
                continue
            try:
                if json.loads(self.location.join(name).read_bytes())["expires"] < now:
                    self.location.fs.delete_file(self.location.join(name).path)
            except (OSError, ValueError, KeyError):
                continue


def _record_name(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest() + ".json"


def _private(file: Location) -> None:
    if file.is_local:
        try:
            os.chmod(file.path, 0o600)
        except OSError:
            pass
