"""Roles through the Management API: the tenant's roles (paged past 50), a person's roles with their
descriptions, assigning and removing roles, and whether anyone else holds a role.

Calls go through `Directory.call_api` (one client, one token, errors translated as for every other call);
everything returned is a record of `admin_core.roles`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from admin_core.auth0.users import Directory
from admin_core.errors import BadQuery, NotAllowed, Unreachable
from admin_core.roles import ROLES_MAX_PAGES, ROLES_PER_PAGE, RoleCatalogue, RoleInfo

T = TypeVar("T")
# How many members of a role are read to see whether someone besides the people losing it holds it.
MEMBERS_TAKE = 50


def role_from_sdk(model: Any) -> RoleInfo:
    return RoleInfo(
        role_id=str(getattr(model, "id", "") or ""),
        name=str(getattr(model, "name", "") or ""),
        description=str(getattr(model, "description", "") or ""),
    )


def _roles_page(api: Any, *, page: int, per_page: int) -> Any:
    return api.roles.list(page=page, per_page=per_page, include_totals=True)


def _members_page(api: Any, *, role_id: str, checkpoint: str | None) -> Any:
    return api.roles.users.list(role_id, from_=checkpoint, take=MEMBERS_TAKE)


class RoleDesk:
    """One tenant's role calls, on the Directory's Management API client and token."""

    def __init__(self, *, directory: Directory):
        self._directory = directory

    def _call(self, fn: Callable[[Any], T]) -> T:
        try:
            return self._directory.call_api(fn)
        except BadQuery as exc:  # a 400 here is Auth0 refusing the change, not a search
            detail = exc.message.split(": ", 1)[-1]
            raise NotAllowed(f"Auth0 refused the request: {detail}") from None

    # reads

    def user_roles(self, user_id: str) -> tuple[RoleInfo, ...]:
        """`GET /api/v2/users/{id}/roles` (first 100: a person holds a handful), with descriptions."""
        pager = self._call(lambda api: api.users.roles.list(user_id, per_page=100, include_totals=True))
        return tuple(role_from_sdk(r) for r in (pager.items or ()) if getattr(r, "id", None))

    def catalogue(self, *, per_page: int = ROLES_PER_PAGE, max_pages: int = ROLES_MAX_PAGES) -> RoleCatalogue:
        """`GET /api/v2/roles`, page after page of `per_page` until Auth0's total is reached."""
        roles: list[RoleInfo] = []
        for page in range(max_pages):
            pager = self._call(partial(_roles_page, page=page, per_page=per_page))
            items = list(pager.items or ())
            roles.extend(role_from_sdk(r) for r in items if getattr(r, "id", None))
            total = getattr(pager.response, "total", None)
            if not items or len(items) < per_page or (total is not None and len(roles) >= int(total)):
                break
        else:
            return RoleCatalogue(roles=tuple(sorted(roles, key=lambda r: r.name.lower())), complete=False)
        return RoleCatalogue(roles=tuple(sorted(roles, key=lambda r: r.name.lower())))

    def holders_besides(self, role_id: str, excluded: Sequence[str]) -> bool:
        """Whether anyone other than `excluded` holds the role (`GET /api/v2/roles/{id}/users`, checkpoint
        pages of MEMBERS_TAKE, stopping at the first other holder)."""
        left_out = set(excluded)
        checkpoint: str | None = None
        for _ in range(ROLES_MAX_PAGES):
            pager = self._call(partial(_members_page, role_id=role_id, checkpoint=checkpoint))
            if any(str(getattr(m, "user_id", "") or "") not in left_out for m in (pager.items or ())):
                return True
            checkpoint = getattr(pager.response, "next", None) or None
            if not pager.items or not checkpoint:
                return False
        return True  # more members than the app pages through: others hold it, certainly

    # changes

    def assign(self, *, user_id: str, role_ids: Sequence[str]) -> None:
        """`POST /api/v2/users/{id}/roles` with `{"roles": [...]}`: Auth0 answers 204."""
        self._confirmed(lambda api: api.users.roles.with_raw_response.assign(user_id, roles=list(role_ids)))

    def remove(self, *, user_id: str, role_ids: Sequence[str]) -> None:
        """`DELETE /api/v2/users/{id}/roles` with `{"roles": [...]}`: Auth0 answers 204."""
        self._confirmed(lambda api: api.users.roles.with_raw_response.delete(user_id, roles=list(role_ids)))

    def _confirmed(self, fn: Callable[[Any], Any]) -> None:
        answer = self._call(fn)
        status = getattr(answer, "status_code", None)
        if status != 204:
            raise Unreachable(
                f"Auth0 answered the role change unexpectedly (HTTP {status}), so it is not confirmed. Reload "
                "the person's page to see whether it happened."
            )
