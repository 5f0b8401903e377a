"""Process-wide objects and caches: settings, the Management API client, the audit store, listing caches.

Each is built once per server process with `st.cache_resource`, so every session shares one
client-credentials token and one database engine. This module draws nothing: a page that cannot read the
settings is admin_core.ui.gate's `settings_or_explain`.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import streamlit as st
from streamlit.runtime import Runtime as StreamlitRuntime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from admin_core import timing
from admin_core.audit import AuditStore
from admin_core.auth0.creation import Creator
from admin_core.auth0.exports import ExportDesk
from admin_core.auth0.recreate import Recreator
from admin_core.auth0.roles import RoleDesk
from admin_core.auth0.support import NOT_ON_PLAN, SessionsNotOnPlan, SupportDesk
from admin_core.auth0.users import Directory
from admin_core.deleted import PurgeClock
from admin_core.deleted import purge as purge_deleted
from admin_core.domain import User, UserPage, UserQuery
from admin_core.errors import AdminError, AppError, PermissionDenied, SearchCapReached, UserGone
from admin_core.exports import ExportRegistry
from admin_core.logcodes import is_failure
from admin_core.newusers import DatabaseConnection
from admin_core.overview import FiguresStore
from admin_core.roles import RoleCatalogue
from admin_core.settings import SETTINGS, Settings, SettingsError, load_settings
from admin_core.shutdown import DRAIN, UNHEALTHY, Shutdown, install_sigterm
from admin_core.signals import Change, Signals
from admin_core.support import GRANT_PLACE, LOGS_PER_PAGE, LogPage, PersonFile, SessionRecord, Unavailable
from admin_core.tokens import IdTokenVerifier

log = logging.getLogger(__name__)

LISTING_TTL_SECONDS = 30
PERSON_TTL_SECONDS = LISTING_TTL_SECONDS


@st.cache_resource(show_spinner=False)
def get_settings() -> Settings:
    return load_settings()


@st.cache_resource(show_spinner=False)
def get_directory() -> Directory:
    return Directory.from_settings(get_settings())


@st.cache_resource(show_spinner=False)
def get_verifier() -> IdTokenVerifier:
    settings = get_settings()
    return IdTokenVerifier(
        jwks_url=settings.jwks_url,
        issuer=settings.issuer,
        client_id=settings.client_id,
        timeout=settings.timeout_seconds,
    )


@st.cache_resource(show_spinner=False)
def get_audit() -> AuditStore:
    settings = get_settings()
    if settings.audit_database_url.startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return AuditStore(settings.audit_database_url)


# cache_resource, not cache_data: a warm rerun gets the shared (frozen) page itself instead of unpickling a
# fresh copy every time (~2-5 ms a rerun for a page of 100), and `users_frame` can then reuse its frame.
# The spinner shows only on a miss (a request to Auth0), never on a warm rerun. Called with keywords and one
# hashed string: Streamlit looks up each positional argument's name (inspect.signature) and hashes each
# argument on every call: about 7% of a warm table rerun in a profile (bench/, issue 9).
@st.cache_resource(ttl=LISTING_TTL_SECONDS, show_spinner="Asking Auth0…", max_entries=256)
def _cached_page(*, key: str, _query: UserQuery) -> UserPage:
    get_signals()  # listening before the first page is kept: a change announced after this read clears it
    return get_directory().list_users(_query)


def list_users(query: UserQuery) -> UserPage:
    """One page of users: one Management API request when cold, none when warm; our own changes applied."""
    with timing.phase("run.listing"):
        page = _cached_page(key=repr((query.q, query.sort, query.page, query.per_page)), _query=query)
    return get_directory().overlay(page)


def all_results(query: UserQuery) -> list[User]:
    """Every reachable result of a search (Auth0 serves the first 1000): at most 10 requests of 100."""
    users: list[User] = []
    page_number = 0
    while True:
        page = list_users(UserQuery(q=query.q, sort=query.sort, page=page_number, per_page=100))
        users.extend(page.users)
        page_number += 1
        if not page.users or page_number >= page.page_count:
            return users


def clear_listing() -> None:
    """Forget cached listings after any change, so the next view asks Auth0 again (on every instance)."""
    _cached_page.clear()
    get_signals().publish(Change())


@st.cache_resource(show_spinner=False)
def get_overview_store() -> FiguresStore:
    """The Overview's figures, shared by every session for a few minutes (admin_core.overview.TTL_SECONDS)."""
    return FiguresStore()


# --- the support desk: one person's file ----------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def get_support_desk() -> SupportDesk:
    return SupportDesk.from_settings(get_settings(), directory=get_directory())


class PersonCache:
    """What was read about people, per (user_id, section), for PERSON_TTL_SECONDS; failures never kept."""

    def __init__(self, *, ttl: float = PERSON_TTL_SECONDS, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple, tuple[float, datetime, Any]] = {}

    def get(self, key: tuple) -> tuple[datetime, Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if not 0 <= self._clock() - entry[0] < self._ttl:
                del self._entries[key]
                return None
            return entry[1], entry[2]

    def put(self, key: tuple, value: Any, *, at: datetime) -> None:
        with self._lock:
            now = self._clock()
            for old in [k for k, (t, _, _) in self._entries.items() if now - t >= self._ttl]:
                del self._entries[old]
            self._entries[key] = (now, at, value)

    def forget(self, user_id: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == user_id]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@st.cache_resource(show_spinner=False)
def _person_cache() -> PersonCache:
    return PersonCache()


# What each section is called in a sentence ("The sign-in history could not be read. ...").
SECTION_WORDS = {
    "roles": "the roles",
    "logs": "the sign-in history",
    "blocks": "the brute-force locks",
    "mfa": "the MFA enrollments",
    "sessions": "the sessions",
}
UNEXPECTED_SECTION = "{what} could not be read: the app failed unexpectedly; the server log has the details."


def unavailable(section: str, exc: BaseException) -> Unavailable:
    """A section Auth0 would not give, in words; the scope to add when that is the reason."""
    what = SECTION_WORDS.get(section, "this section")
    if isinstance(exc, SessionsNotOnPlan):
        return Unavailable(NOT_ON_PLAN)
    if isinstance(exc, PermissionDenied) and exc.scope:
        return Unavailable(
            f"Reading {what} needs the Management API scope {exc.scope}. Add it in {GRANT_PLACE}.",
            scope=exc.scope,
        )
    if isinstance(exc, SearchCapReached):
        return Unavailable(exc.message)
    if isinstance(exc, UserGone):  # the person was read a moment ago: this is about the section
        return Unavailable(
            f"{what[0].upper()}{what[1:]} could not be read: Auth0 answered that it found none."
        )
    if isinstance(exc, AdminError):
        return Unavailable(f"{what[0].upper()}{what[1:]} could not be read. {exc.message}")
    log.error("reading %s failed unexpectedly", section, exc_info=exc)
    return Unavailable(UNEXPECTED_SECTION.format(what=what[0].upper() + what[1:]))


def person_file(user_id: str) -> PersonFile:
    """The person's page in one go: user, roles (with descriptions), first logs page, brute-force locks, MFA.

    Cold: one Management API request per section, all at once (the wait is the slowest one's); warm: none.
    Raises UserGone (and the other AdminErrors) when the user itself cannot be read; any other section
    that fails is `Unavailable` and asked again on the next view.
    """
    directory, desk, cache = get_directory(), get_support_desk(), _person_cache()
    fetchers: dict[str, Callable[[], Any]] = {
        "user": lambda: directory.get_user(user_id),
        "roles": lambda: get_role_desk().user_roles(user_id),  # with descriptions (admin_core.roles)
        "logs": lambda: desk.user_logs(user_id, page=0, per_page=LOGS_PER_PAGE),
        "blocks": lambda: desk.brute_force_blocks(user_id),
        "mfa": lambda: desk.auth_methods(user_id),
    }
    values: dict[str, Any] = {}
    times: list[datetime] = []
    for name in fetchers:
        if (hit := cache.get((user_id, name))) is not None:
            times.append(hit[0])
            values[name] = hit[1]
    missing = [name for name in fetchers if name not in values]
    if missing:
        get_signals()  # listening before anything is kept (see _cached_page)
        now = datetime.now(UTC)
        with ThreadPoolExecutor(max_workers=len(missing), thread_name_prefix="person") as pool:
            # paced by Auth0's rate headers: all five at once on a paid plan, two at a time on Free's burst
            futures = {name: pool.submit(directory.paced, fetchers[name]) for name in missing}
        if "user" in futures:
            values["user"] = futures.pop("user").result()  # raises: no page without the person
            cache.put((user_id, "user"), values["user"], at=now)
        for name, future in futures.items():
            try:
                values[name] = future.result()
            except Exception as exc:
                values[name] = unavailable(name, exc)
                continue
            cache.put((user_id, name), values[name], at=now)
        times.append(now)
    return PersonFile(fetched_at=min(times), **values)


def person_logs(user_id: str, *, page: int, failures_only: bool) -> LogPage | Unavailable:
    """One page of the person's logs (LOGS_PER_PAGE, newest first); page 0 is person_file's.

    `/users/{id}/logs` takes no search (`q`) in Auth0's API, so `failures_only` filters the page fetched:
    the page keeps Auth0's `total` and numbering (of every event), and shows only its failures.
    """
    cache = _person_cache()
    key = (user_id, "logs") if page == 0 else (user_id, "logs", page)
    if (hit := cache.get(key)) is not None:
        result: LogPage = hit[1]
    else:
        try:
            desk = get_support_desk()
            result = get_directory().paced(lambda: desk.user_logs(user_id, page=page, per_page=LOGS_PER_PAGE))
        except Exception as exc:
            return unavailable("logs", exc)
        cache.put(key, result, at=datetime.now(UTC))
    if failures_only:
        result = replace(result, events=tuple(e for e in result.events if is_failure(e.type)))
    return result


def person_sessions(user_id: str) -> tuple[SessionRecord, ...] | Unavailable:
    """The person's sessions, asked only when that section is opened (Enterprise plans; read:sessions)."""
    cache = _person_cache()
    if (hit := cache.get((user_id, "sessions"))) is not None:
        return hit[1]
    try:
        desk = get_support_desk()
        sessions = get_directory().paced(lambda: desk.sessions(user_id))
    except Exception as exc:
        return unavailable("sessions", exc)
    cache.put((user_id, "sessions"), sessions, at=datetime.now(UTC))
    return sessions


def forget_person(user_id: str, *, deleted: bool = False) -> None:
    """After a fix: the person's page and the listings ask Auth0 again, on every instance (`deleted`: the
    others also hide the person from search results that still lag behind, as this one does)."""
    _person_cache().forget(user_id)
    _cached_page.clear()
    get_signals().publish(Change(user_id=user_id, deleted=deleted))


# --- several instances: changes announced through the audit database, and a clean stop on SIGTERM -------


def _stop_listening(signals: Signals) -> None:
    signals.close(wait=False)


@st.cache_resource(show_spinner=False, on_release=_stop_listening)
def get_signals() -> Signals:
    """This process's announcer and listener (LISTEN/NOTIFY on a PostgreSQL audit database; with SQLite
    a no-op). Another instance's change clears the same caches the change cleared there."""
    signals = Signals(get_audit())
    signals.subscribe(_other_instance_changed(get_directory(), _person_cache()))
    return signals


def _other_instance_changed(directory: Directory, people: PersonCache) -> Callable[[Change], None]:
    # Runs in the listener thread: it holds the objects themselves, no Streamlit session is needed.
    def apply(change: Change) -> None:
        if change.user_id:
            people.forget(change.user_id)
            directory.forget_standing(change.user_id)  # e.g. an admin blocked or demoted over there
            if change.deleted:
                directory.note_deleted(change.user_id)
        elif change.everything:
            people.clear()
            directory.forget_all_standing()
        _cached_page.clear()

    return apply


@st.cache_resource(show_spinner=False)
def install_shutdown() -> bool:
    """Once per server process (app.py calls it on every run): SIGTERM drains this instance
    (admin_core.shutdown) and `/_stcore/health` answers 503 while it does. False outside `streamlit run`."""
    if not StreamlitRuntime.exists():
        return False
    server = StreamlitRuntime.instance()
    _fail_health_while_draining()
    try:
        # signal.signal works only in the main thread, which runs Streamlit's event loop; scripts run in
        # other threads, so the handler is installed from a callback on that loop.
        loop = server._get_async_objs().eventloop
    except Exception:
        log.warning("SIGTERM drain not installed: Streamlit's event loop was not found")
        return False
    try:
        drain_seconds = get_settings().shutdown_drain_seconds
    except SettingsError:  # the gate explains the settings; the drain still works with its default
        drain_seconds = float(next(s.default for s in SETTINGS if s.name == "SHUTDOWN_DRAIN_SECONDS") or 20)

    def install() -> None:
        if threading.current_thread() is not threading.main_thread():  # AppTest's runtime, not a server
            return
        previous: dict[str, Any] = {}

        def stop() -> None:  # Streamlit's own SIGTERM handler stops the server; run it on its loop
            handler = previous.get("handler")
            if callable(handler):
                loop.call_soon_threadsafe(handler, signal.SIGTERM, None)
            else:
                server.stop()

        shutdown = Shutdown(drain_seconds=drain_seconds, stop=stop, after=_tell_sessions)
        previous["handler"] = install_sigterm(shutdown)

    loop.call_soon_threadsafe(install)
    return True


_SESSIONS: set[str] = set()
_UNTOLD: set[str] = set()  # during a shutdown: sessions rerun to be told that have not run yet
_SESSIONS_LOCK = threading.Lock()
TELL_SESSIONS_SECONDS = 3.0


def note_session() -> None:
    """app.py: this session ran here; a shutdown reruns it so its person reads RESTARTING."""
    ctx = get_script_run_ctx()
    if ctx is not None:
        with _SESSIONS_LOCK:
            _SESSIONS.add(ctx.session_id)
            _UNTOLD.discard(ctx.session_id)  # this run is the one that tells (auth.current_identity)


def _tell_sessions() -> None:
    """Rerun every session that ran here: the gate then ends each sign-in with RESTARTING and puts the
    hint in its address (auth.py). Waits, at most TELL_SESSIONS_SECONDS, until each rerun has started."""
    server = StreamlitRuntime.instance()
    loop = server._get_async_objs().eventloop
    with _SESSIONS_LOCK:
        ids = list(_SESSIONS)
    for session_id in ids:
        session = server.get_app_session(session_id)
        with _SESSIONS_LOCK:
            if session is None:
                _SESSIONS.discard(session_id)
                continue
            _UNTOLD.add(session_id)
        loop.call_soon_threadsafe(session.request_rerun, None)
    deadline = time.monotonic() + TELL_SESSIONS_SECONDS
    while time.monotonic() < deadline:
        with _SESSIONS_LOCK:
            if not _UNTOLD:
                return
        time.sleep(0.05)


def _fail_health_while_draining() -> None:
    """`/_stcore/health` asks `Runtime.is_ready_for_browser_connection` (Streamlit 1.67,
    web/server/starlette/starlette_routes.py) and answers 503 when it says no. Streamlit offers no hook
    for that, so this wraps the property once: while draining it says (False, UNHEALTHY)."""
    cls = StreamlitRuntime
    original = cls.__dict__.get("is_ready_for_browser_connection")
    answer = original.fget if isinstance(original, property) else None
    if answer is None or getattr(answer, "drains", False):
        return

    async def ready(self: Any) -> tuple[bool, str]:
        if DRAIN.draining:
            return False, UNHEALTHY
        return await answer(self)

    ready.drains = True  # type: ignore[attr-defined]
    cls.is_ready_for_browser_connection = property(ready)  # type: ignore[method-assign,assignment]


def keep_person_user(user: User) -> None:
    """After a save whose answer is the person as Auth0 now has them (a metadata or profile PATCH, or the
    stale check's read): that answer becomes their page's user; their other sections did not change and
    stay cached. The listings ask again (a name or email may move a person in or out of a search)."""
    _person_cache().put((user.user_id, "user"), user, at=datetime.now(UTC))
    clear_listing()


# --- undo a delete: re-creating kept profiles, and their purge -----------------------------------------


@st.cache_resource(show_spinner=False)
def get_recreator() -> Recreator:
    directory = get_directory()
    return Recreator(directory=directory, roles=RoleDesk(directory=directory), desk=get_support_desk())


@st.cache_resource(show_spinner=False)
def _purge_clock() -> PurgeClock:
    return PurgeClock()


def purge_deleted_if_due() -> None:
    """Kept profiles past DELETED_PROFILE_DAYS go for good: at the process's first page load, then at most
    once a day on any page load (a Streamlit process has no scheduler). A failure is logged, never shown:
    the next day's first page load tries again."""
    if not _purge_clock().due():
        return
    try:
        removed = purge_deleted(get_audit(), days=get_settings().deleted_profile_days)
    except AppError as exc:
        log.warning("kept profiles of deleted people could not be purged: %s", exc.message)
        return
    if removed:
        log.info("purged %d kept profile(s) of deleted people past their retention", removed)


# --- roles: the tenant's catalogue (for the pickers) and the role calls ---------------------------------

ROLE_CATALOGUE_TTL_SECONDS = 60


@st.cache_resource(show_spinner=False)
def get_role_desk() -> RoleDesk:
    return RoleDesk(directory=get_directory())


@st.cache_resource(ttl=ROLE_CATALOGUE_TTL_SECONDS, show_spinner="Reading the tenant's roles…")
def role_catalogue() -> RoleCatalogue:
    """Every role of the tenant (`GET /api/v2/roles`, pages of 50), shared by every session for a minute;
    a failure is raised (AdminError, in words) and never kept."""
    return get_directory().paced(get_role_desk().catalogue)


# --- new users: the tenant's database connections --------------------------------------------------------

CONNECTIONS_TTL_SECONDS = 60


@st.cache_resource(show_spinner=False)
def get_creator() -> Creator:
    return Creator(directory=get_directory())


@st.cache_resource(ttl=CONNECTIONS_TTL_SECONDS, show_spinner=False)
def database_connections() -> tuple[DatabaseConnection, ...]:
    """The tenant's database connections, asked once a minute (process-wide); failures are never kept."""
    return get_creator().database_connections()


def forget_connections() -> None:
    database_connections.clear()


# --- issue 19: whole-tenant exports through Auth0's export job (threads of this process) ---------------


@st.cache_resource(show_spinner=False)
def get_exports() -> ExportRegistry:
    """Every session's exports: run in threads of this process, their files in one temporary directory."""
    return ExportRegistry(source=lambda: ExportDesk(directory=get_directory()), audit=get_audit)
