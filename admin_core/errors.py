"""The errors a person sees. Each carries a `message` written for the admin, never an SDK class name.

One tree: `AppError` is the base; `AdminError` (below: Auth0 and the app's own refusals),
`admin_core.audit.AuditError` and `admin_core.settings.SettingsError` derive from it, and
`admin_core.ui.chrome.show_error` renders any of them.
"""

from __future__ import annotations

from datetime import UTC, datetime


class AppError(Exception):
    """Base of every error the app shows; `message` is what the person reads."""

    message: str

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class AdminError(AppError):
    """Auth0 or the app refused or failed an action (the Management API, sign-in, a check of the actor)."""


class ConfigError(AdminError):
    """Auth0 refused our credentials or grant: a setting or the tenant's configuration must change."""


class PermissionDenied(AdminError):
    """The Management API token lacks a scope (403); `scope` names it when Auth0 said which."""

    def __init__(self, message: str, *, scope: str | None = None):
        super().__init__(message)
        self.scope = scope


class UserGone(AdminError):
    """The user no longer exists (404)."""


class RateLimited(AdminError):
    """Auth0's rate limit was reached (429) even after the SDK's retries."""

    def __init__(self, message: str, *, retry_at: datetime | None = None):
        super().__init__(message)
        self.retry_at = retry_at

    @classmethod
    def from_reset(cls, reset: str | None) -> RateLimited:
        retry_at = None
        wait = "in a few seconds"
        try:
            retry_at = datetime.fromtimestamp(int(float(reset)), tz=UTC) if reset else None
        except (TypeError, ValueError, OverflowError, OSError):
            retry_at = None
        if retry_at is not None:
            seconds = max(1, int((retry_at - datetime.now(UTC)).total_seconds()) + 1)
            wait = f"in about {seconds} s"
        return cls(
            f"Auth0's rate limit for the Management API was reached. Try again {wait}.", retry_at=retry_at
        )


class Unreachable(AdminError):
    """Auth0 did not answer usefully: 5xx, timeout, dropped connection or a malformed answer."""


class BadQuery(AdminError):
    """Auth0 rejected the search syntax (400 invalid_query_string)."""


class SearchCapReached(AdminError):
    """Auth0 only pages through the first 1000 results of a search."""


class NotAllowed(AdminError):
    """The app refuses the action itself (e.g. an admin deleting their own account)."""


class SignInError(AdminError):
    """A sign-in could not be completed or its ID token was not valid."""
