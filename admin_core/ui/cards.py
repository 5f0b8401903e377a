"""How one user looks: card, table row, detail. All user text is escaped: names are data, never markup."""

from __future__ import annotations

import html
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import cast
from urllib.parse import urlsplit

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import streamlit as st
from streamlit.elements.arrow import DataframeState

from admin_core.domain import User
from admin_core.timetext import exact_time, relative_time
from admin_core.ui.chrome import md, show_error

AVATAR_PX = 56
NAME_LIMIT = 60  # characters shown on a card; the full name is in the detail view


def clip(text: str, limit: int = NAME_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def initials(user: User) -> str:
    source = user.name or user.nickname or user.email or user.user_id
    letters = [part[0] for part in source.replace("@", " ").replace(".", " ").split() if part[:1].isalpha()]
    return ("".join(letters[:2]) or "?").upper()


# A picture URL the browser may load: printable ASCII only (browsers drop tabs and newlines and read `\`
# as `/`, so `https://evil.example\.s.gravatar.com` would go to evil.example), a plain host name.
_URL_CHARS = re.compile(r"[\x21-\x5b\x5d-\x7e]+")
_HOST_CHARS = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def allowed_picture(url: object, hosts: Sequence[str]) -> str | None:
    """`url` when it is an absolute http(s) URL on one of `hosts` (`host`, `host:port`, `*.domain`), else None.

    A profile's picture is loaded by the admin's browser: anywhere else, its owner would learn when an
    admin opened the card, and from which address. The server never fetches it.
    """
    if not isinstance(url, str) or not _URL_CHARS.fullmatch(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # e.g. a port that is no number
        return None
    host = parts.hostname or ""
    if parts.scheme not in _DEFAULT_PORTS or not _HOST_CHARS.fullmatch(host) or "@" in parts.netloc:
        return None
    default_port = port is None or port == _DEFAULT_PORTS[parts.scheme]
    for entry in hosts:
        if entry.startswith("*."):
            if default_port and host.endswith(entry[1:]):
                return url
        elif ":" in entry:
            if port is not None and entry == f"{host}:{port}":
                return url
        elif default_port and host == entry:
            return url
    return None


def _avatar_hosts() -> tuple[str, ...]:
    from admin_core import runtime  # local: runtime is the pages' entry to process-wide objects

    try:
        return runtime.get_settings().avatar_hosts
    except Exception:  # no usable settings: no picture from anywhere (the initials still show)
        return ()


def avatar(user: User, hosts: Sequence[str] | None = None) -> str:
    """The picture URL when AVATAR_HOSTS allows it (see `allowed_picture`), else an SVG with the initials."""
    picture = allowed_picture(user.picture, _avatar_hosts() if hosts is None else hosts)
    if picture:
        return picture
    hue = sum(map(ord, user.user_id)) % 360
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{AVATAR_PX}" height="{AVATAR_PX}" viewBox="0 0 64 64">'
        f'<circle cx="32" cy="32" r="32" fill="hsl({hue},45%,45%)"/>'
        f'<text x="32" y="40" font-family="sans-serif" font-size="24" fill="#fff" text-anchor="middle">'
        f"{html.escape(initials(user))}</text></svg>"
    )


def avatar_alt(user: User) -> str:
    """The avatar's alternative text: the person's name, on one line (a screen reader reads it out)."""
    return " ".join(user.display_name.split()) or "no name"


def _key(user_id: str) -> str:
    """A widget-key-safe, stable stand-in for a user_id (ids hold `|` and other characters)."""
    import hashlib

    return hashlib.sha1(user_id.encode(), usedforsecurity=False).hexdigest()[:16]


def render_card(
    user: User,
    *,
    can_change: bool,
    is_self: bool,
    on_detail: Callable[[User], None],
    on_block: Callable[[User], None],
    on_delete: Callable[[User], None],
) -> None:
    # Every line is a single line (long text ends in "…", the full text shows on hover), so all cards in a
    # row have the same height and their buttons line up; no fixed height, so nothing scrolls inside.
    with st.container(border=True, key=f"user-card-{_key(user.user_id)}"):
        pic, text = st.columns([1, 3], vertical_alignment="center")
        with pic:
            # The person's name as the picture's text (an attribute, never Markdown: names are data).
            st.image(avatar(user), width=AVATAR_PX, alt=avatar_alt(user))
        with text:
            st.markdown(
                f"**{md(clip(user.display_name))}**",
                help=md(user.display_name) if len(user.display_name) > NAME_LIMIT else None,
                wrap=False,
            )
            verified = " :green[:material/verified:]" if user.email_verified else ""
            st.caption(f"{md(clip(user.email or 'no email', 80))}{verified}", wrap=False)
        badges = [f":gray-badge[{md(user.connection or 'unknown connection')}]"]
        if user.blocked:
            badges.insert(0, ":red-badge[:material/block: Blocked]")
        st.markdown(" ".join(badges), wrap=False)
        # No help icon here: it took the room of the logins count on narrow cards (exact times: Details).
        st.markdown(
            f"Last login **{relative_time(user.last_login)}** · {user.logins_count or 0} logins", wrap=False
        )
        st.caption(
            f"Created {user.created_at:%Y-%m-%d}" if user.created_at else "Created: unknown", wrap=False
        )
        cols = st.columns(3 if can_change and not is_self else 1)
        cols[0].button(
            "Details", key=f"detail:{user.user_id}", on_click=on_detail, args=(user,), width="stretch"
        )
        if can_change and not is_self:
            cols[1].button(
                "Unblock" if user.blocked else "Block",
                key=f"block:{user.user_id}",
                on_click=on_block,
                args=(user,),
                width="stretch",
            )
            cols[2].button(
                "Delete",
                key=f"delete:{user.user_id}",
                on_click=on_delete,
                args=(user,),
                type="primary",
                width="stretch",
            )


GRID_COLUMNS = 4  # cards per row; the page sizes (24/50/100) are whole rows of it or close


def render_grid(
    users: Sequence[User],
    *,
    can_change: bool,
    self_id: str,
    on_detail: Callable[[User], None],
    on_block: Callable[[User], None],
    on_delete: Callable[[User], None],
) -> None:
    """The card grid, `GRID_COLUMNS` cards a row; the signed-in admin's own card has no change buttons."""
    for start in range(0, len(users), GRID_COLUMNS):
        columns = st.columns(GRID_COLUMNS)
        for column, user in zip(columns, users[start : start + GRID_COLUMNS], strict=False):
            with column:
                render_card(
                    user,
                    can_change=can_change,
                    is_self=user.user_id == self_id,
                    on_detail=on_detail,
                    on_block=on_block,
                    on_delete=on_delete,
                )


def render_table(users: Sequence[User], *, selectable: bool) -> list[User]:
    """The table view; returns the users whose rows are ticked (none unless `selectable`)."""
    selection = st.dataframe(
        users_table(users),
        column_config=TABLE_COLUMNS,
        hide_index=True,
        key="users.table",
        on_select="rerun" if selectable else "ignore",
        selection_mode="multi-row",
        width="stretch",
    )
    if not selectable:
        return []
    # With on_select="rerun", st.dataframe returns its selection state (typed as a union with the element).
    rows = list(cast(DataframeState, selection).selection.rows) if selection else []
    return [users[i] for i in rows if i < len(users)]


# users_frame results for the last few pages shown, by the identity of the page's `users` tuple. Listings are
# cached process-wide (runtime._cached_page), so every warm rerun of every session passes the same tuple
# and gets its frame without rebuilding it (pandas construction is ~4 ms for 100 rows). The tuple itself is
# held, so its id cannot be reused while the entry lives; lists (mutable) are never memoised.
_FRAMES: OrderedDict[int, tuple[tuple[User, ...], pd.DataFrame]] = OrderedDict()
_FRAMES_LOCK = threading.Lock()
_FRAMES_MAX = 32


def users_frame(users: Sequence[User]) -> pd.DataFrame:
    """The table view's rows; avatars are image URLs (initials SVGs as data URLs)."""
    if not isinstance(users, tuple):
        return _build_users_frame(users)
    with _FRAMES_LOCK:
        hit = _FRAMES.get(id(users))
        if hit is not None and hit[0] is users:
            _FRAMES.move_to_end(id(users))
            return hit[1].copy(deep=False)  # copy-on-write: a caller's change never reaches the memo
    frame = _build_users_frame(users)
    with _FRAMES_LOCK:
        _FRAMES[id(users)] = (users, frame)
        while len(_FRAMES) > _FRAMES_MAX:
            _FRAMES.popitem(last=False)
    return frame.copy(deep=False)


# The table's rows as an Arrow table, memoised like the frames (and for the same pages): st.dataframe turns a
# pandas frame into Arrow on every rerun (~4 ms for 100 rows, ~12 ms for a fresh shallow copy of the memoised
# frame, whose block lookups pandas rebuilds), an Arrow table it only serialises (~0.4 ms). An Arrow table
# is immutable, so the memo is handed out as it is.
_TABLES: OrderedDict[int, tuple[tuple[User, ...], pa.Table]] = OrderedDict()


def users_table(users: Sequence[User]) -> pa.Table:
    """`users_frame(users)` as an Arrow table (no index), for st.dataframe."""
    if not isinstance(users, tuple):
        return pa.Table.from_pandas(_build_users_frame(users), preserve_index=False)
    with _FRAMES_LOCK:
        hit = _TABLES.get(id(users))
        if hit is not None and hit[0] is users:
            _TABLES.move_to_end(id(users))
            return hit[1]
    table = pa.Table.from_pandas(users_frame(users), preserve_index=False)
    with _FRAMES_LOCK:
        _TABLES[id(users)] = (users, table)
        while len(_TABLES) > _FRAMES_MAX:
            _TABLES.popitem(last=False)
    return table


def _build_users_frame(users: Sequence[User]) -> pd.DataFrame:
    import base64

    def picture(user: User) -> str:
        source = avatar(user)
        if source.startswith("<svg"):
            return "data:image/svg+xml;base64," + base64.b64encode(source.encode()).decode()
        return source

    return pd.DataFrame(
        {
            "avatar": [picture(u) for u in users],
            "name": [u.display_name for u in users],
            "email": [u.email or "" for u in users],
            "verified": [bool(u.email_verified) for u in users],
            "connection": [u.connection or "" for u in users],
            "last_login": pd.to_datetime([u.last_login for u in users], utc=True),
            "logins": pd.array([u.logins_count for u in users], dtype="Int64"),
            "created": pd.to_datetime([u.created_at for u in users], utc=True),
            "blocked": [u.blocked for u in users],
            "user_id": [u.user_id for u in users],
        }
    )


TABLE_COLUMNS = {
    # A header screen readers can announce (an empty one is axe's empty-table-header).
    "avatar": st.column_config.ImageColumn("Picture", width="small"),
    "name": st.column_config.TextColumn("Name", width="medium"),
    "email": st.column_config.TextColumn("Email", width="medium"),
    "verified": st.column_config.CheckboxColumn("Verified", width="small"),
    "connection": st.column_config.TextColumn("Connection"),
    "last_login": st.column_config.DatetimeColumn("Last login", format="YYYY-MM-DD HH:mm"),
    "logins": st.column_config.NumberColumn("Logins", format="%d"),
    "created": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD"),
    "blocked": st.column_config.CheckboxColumn("Blocked", width="small"),
    "user_id": st.column_config.TextColumn("User ID"),
}


def render_detail(user: User, roles: list[str] | None, roles_error: str | None) -> None:
    with st.container(horizontal=True, vertical_alignment="center", key="user-detail-head"):
        st.image(avatar(user), width=AVATAR_PX, alt=avatar_alt(user))
        with st.container(gap=None):
            st.markdown(f"**{md(user.display_name)}**")
            st.caption(md(user.email or "no email"))
        if user.blocked:
            st.markdown(":red-badge[:material/block: Blocked]", width="content")
    facts = {
        "User ID": user.user_id,
        "Email verified": "yes" if user.email_verified else "no",
        "Connection": user.connection or "unknown",
        "Created": exact_time(user.created_at),
        "Updated": exact_time(user.updated_at),
        "Last login": exact_time(user.last_login),
        "Logins": str(user.logins_count or 0),
        "Last IP": user.last_ip or "—",
        "Roles": ", ".join(roles) if roles else ("—" if roles is not None else "could not be read"),
    }
    left, right = st.columns(2, gap="medium")
    with left:
        st.table(
            pd.DataFrame({"field": list(facts), "value": list(facts.values())}).set_index("field"),
            hide_header=True,
        )
        if roles_error:
            show_error(roles_error, level="warning")  # it carries Auth0's text
        with st.expander("Full profile (JSON)"):
            st.json(user.profile, expanded=1)
    with right:
        st.markdown("**Identities**")
        st.json(list(user.identities), expanded=2)
        st.markdown("**app_metadata**")
        st.json(user.app_metadata, expanded=1)
        st.markdown("**user_metadata**")
        st.json(user.user_metadata, expanded=1)
