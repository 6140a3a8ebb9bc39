"""Keyed pseudonyms for user ids, so raw ids never reach the event log's disk."""

from __future__ import annotations

import hashlib
import hmac

from entertainai.errors import InputError

PSEUDONYM_SECRET_ENV = "ENTERTAINAI_PSEUDONYM_SECRET"  # nosec B105 - a variable name


class Pseudonymizer:
    """Keyed, stable pseudonyms for user ids, so raw ids never reach the disk.

    HMAC-SHA256 rather than a plain hash: without the secret nobody can confirm a guessed
    id against the log. 32 hex chars (128 bits) keep collisions out of reach.
    """

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise InputError("must be at least 16 bytes", location="pseudonymizer secret")
        self._secret = secret

    def pseudonymize(self, user_id: str) -> str:
        return hmac.new(self._secret, user_id.encode(), hashlib.sha256).hexdigest()[:32]

    def __repr__(self) -> str:  # never show the secret
        return "Pseudonymizer(secret=***)"
