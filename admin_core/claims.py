"""Claims: one change at a time per person, across every app instance sharing the audit database.

Two admins on two instances pressing Delete on the same person would both reach Auth0 (which answers a
second DELETE with 204 too), and both be told "deleted". Before a change, the app takes a claim row on the
person (`change_claims`, primary key on the person) in its own transaction, just before the "attempted"
audit row; a second instance's insert then finds the row and is told who holds it. The claim ends with the
change's outcome; a claim whose instance died ends at `expires_at` (CHANGE_CLAIM_SECONDS), so nobody is
locked out for ever. A finished delete keeps its row (marked done) for DONE_DELETE_SECONDS: whoever comes
next is told who deleted the person instead of sending a second DELETE.

Streamlit-free: it works on any AuditStore (SQLite for one process, PostgreSQL for several).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from admin_core.audit import AuditError, AuditStore, change_claims, database_clock

#: How long a finished delete keeps its claim: a second admin within this time is told who deleted the
#: person (the same window the Directory overlays its own deletes on lagging search results).
DONE_DELETE_SECONDS = 120.0

# What a claim's action is doing to the person, in the sentence a second admin reads.
_DOING = {
    "delete": ("deleted", "deleted"),
    "bulk_delete": ("deleted", "deleted"),
    "block": ("blocked", "blocked"),
    "unblock": ("unblocked", "unblocked"),
}


@dataclass(frozen=True)
class Holder:
    """Who holds the claim on a person, and whether their change (a delete) is already done."""

    actor: str
    action: str
    claimed_at: datetime
    done: bool

    def message(self, who: str) -> str:
        """The sentence for the admin whose change was not sent: who is (or was just) doing what."""
        doing, done = _DOING.get(self.action, ("changed", "changed"))
        if self.done:
            return f"Not done: {who} was just {done} by {self.actor}."
        return f"Not done: {who} is already being {doing} by {self.actor}. Try again in a moment."


class Claimed(Exception):
    """Someone else holds the claim on this person; `holder` says who and `message` says it in words."""

    def __init__(self, holder: Holder, who: str):
        self.holder = holder
        self.message = holder.message(who)
        super().__init__(self.message)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def _now(conn: sa.Connection) -> datetime:
    """The database's clock on PostgreSQL, so every instance reads one clock (a host whose clock is ahead
    must not take over a live claim, nor one behind keep a dead one); this process's clock on SQLite,
    where the app is one process."""
    return database_clock(conn) or _wall_clock()


def _insert_if_free(dialect: str, values: dict) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING: a taken claim is an answer, not an error that aborts the
    transaction (on PostgreSQL the insert waits for a racing claim's transaction, then sees its row)."""
    statement: Any
    if dialect == "postgresql":
        statement = postgresql.insert(change_claims).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(change_claims).values(**values).on_conflict_do_nothing()
    else:
        raise ValueError(f"Claims need SQLite or PostgreSQL, not {dialect}.")
    # RETURNING says whether the row went in (psycopg reports no rowcount for this insert).
    return statement.returning(change_claims.c.subject)


def take(
    store: AuditStore, *, subject: str, request_id: str, action: str, actor: str, seconds: float, who: str
) -> None:
    """Claim `subject` (a person's user_id) for one change, or raise Claimed naming the holder.

    An expired claim (its instance died mid-change, or a finished delete's window passed) is taken over.
    Raises AuditError when the database cannot be used (the change must then not be made)."""
    c = change_claims.c
    for _ in range(3):  # a claim released between our insert and our read: try again, a bounded few times
        with store.transaction("claim the person for this change", "The change was not made.") as conn:
            now = _now(conn)  # once the database is open: its first use may create the tables
            values = {
                "subject": subject,
                "request_id": request_id,
                "action": action,
                "actor": actor,
                "claimed_at": now,
                "expires_at": now + timedelta(seconds=seconds),
                "done": False,
            }
            conn.execute(change_claims.delete().where(c.subject == subject, c.expires_at < now))
            if conn.execute(_insert_if_free(conn.dialect.name, values)).first() is not None:
                return
            row = conn.execute(
                sa.select(c.actor, c.action, c.claimed_at, c.done, c.request_id).where(c.subject == subject)
            ).one_or_none()
            if row is not None and row.request_id == request_id and not row.done:
                # The same change asked again: a bulk job's person (admin_core.jobs.request_id) whose run
                # died after claiming them but before its audit row, now run by the instance that took
                # the job over. Nothing was sent for it (the row comes first, and a person with a row is
                # not run again); the audit row's unique request id still lets only one of them send it.
                mine = (c.subject == subject) & (c.request_id == request_id)
                conn.execute(
                    change_claims.update()
                    .where(mine)
                    .values(actor=actor, claimed_at=now, expires_at=values["expires_at"])
                )
                return
        if row is not None:
            raise Claimed(Holder(row.actor, row.action, row.claimed_at, row.done), who)
    raise AuditError("Could not claim the person for this change: the claim kept changing. Try again.")


def release(store: AuditStore, *, subject: str, request_id: str, deleted: bool = False) -> None:
    """End this change's claim; a done delete keeps it, marked done, for DONE_DELETE_SECONDS.

    Only the claim this request took is touched (an expired one taken over by someone else stays theirs).
    Raises AuditError; a claim left behind then ends at its expiry."""
    c = change_claims.c
    mine = (c.subject == subject) & (c.request_id == request_id)
    with store.transaction("release the claim on the person") as conn:
        if deleted:
            until = _now(conn) + timedelta(seconds=DONE_DELETE_SECONDS)
            conn.execute(change_claims.update().where(mine).values(done=True, expires_at=until))
        else:
            conn.execute(change_claims.delete().where(mine))


def holder(store: AuditStore, subject: str) -> Holder | None:
    """The live claim on `subject`, if any (for tests and the audit page)."""
    c = change_claims.c
    with store.transaction("read the claims") as conn:
        row = conn.execute(
            sa.select(c.actor, c.action, c.claimed_at, c.done).where(
                c.subject == subject, c.expires_at >= _now(conn)
            )
        ).one_or_none()
    return None if row is None else Holder(row.actor, row.action, row.claimed_at, row.done)
