"""Errors the API boundaries (CLI, HTTP) turn into clear messages instead of stack traces."""

from __future__ import annotations


class EntertainAIError(Exception):
    """Base class for every error meant to reach a user as a message."""


class InputError(EntertainAIError, ValueError):
    """Bad user input: a file, line, field or argument that cannot be used.

    ``location`` names where (``u.data:17``, ``field 'rating'``) so the message is actionable.
    """

    def __init__(self, message: str, *, location: str | None = None) -> None:
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class NotFoundError(EntertainAIError, LookupError):
    """A dataset, model, version or alias that does not exist."""


class ArtifactError(EntertainAIError):
    """An artifact that exists but cannot be trusted (incomplete, corrupt, wrong kind)."""


class NotFittedError(EntertainAIError, RuntimeError):
    """A model used before ``fit`` or ``load``."""


class Unauthenticated(EntertainAIError):
    """A request without a valid API key (HTTP 401). The message never contains the key."""


class PermissionDenied(EntertainAIError):
    """A valid API key that lacks the scope an operation needs (HTTP 403)."""


class Unavailable(EntertainAIError):
    """A capability or model that is not deployed or not trained yet (HTTP 503)."""


class LimitExceeded(InputError):
    """A request over a per-request limit (length, size, steps, time budget) (HTTP 422)."""


class ContentRefused(EntertainAIError):
    """Content that moderation flagged (generated text, an upload): refused with the reason."""
