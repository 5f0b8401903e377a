"""Roles of the tenant and of one person, as records, and the two rules that guard a removal.

No Streamlit and no SDK here: `admin_core.auth0.roles` reads and changes roles in Auth0, `admin_core.actions`
audits each change, `admin_core.ui.roles` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

# Auth0 pages `GET /api/v2/roles` by 50 (its default) and at most 100 a request.
ROLES_PER_PAGE = 50
# The role catalogue read for the picker stops after this many pages (2,500 roles): past that, the name
# filter is the way (Auth0 has no search over roles but `name_filter`).
ROLES_MAX_PAGES = 50


@dataclass(frozen=True)
class RoleInfo:
    """One Auth0 role: its id (what the API takes), its name and its description (both text from Auth0)."""

    role_id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class RoleCatalogue:
    """The tenant's roles, by name; `complete` is False when there were more than the app reads."""

    roles: tuple[RoleInfo, ...]
    complete: bool = True

    def by_id(self) -> dict[str, RoleInfo]:
        return {r.role_id: r for r in self.roles}


def self_demotion_message(admin_role: str) -> str:
    return (
        f"You cannot remove the {admin_role} role from yourself: you would lose the right to change users "
        "the moment it is gone. Ask another admin to do it."
    )


def last_admin_message(admin_role: str) -> str:
    return (
        f"This person is the last holder of the {admin_role} role, so it cannot be removed: nobody would be "
        f"left to change users in this app. Give the {admin_role} role to someone else first."
    )


def names(roles: tuple[RoleInfo, ...] | list[RoleInfo]) -> list[str]:
    return [r.name for r in roles]
