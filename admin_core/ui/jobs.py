"""Bulk jobs, drawn: start one from a bulk bar, its progress panel (updating itself, with Cancel), and the
Audit page's list of running and finished jobs with each person's outcome and Resume for interrupted ones.

The work runs on the server (admin_core.jobrunner), so a closed tab does not stop it. A small job that ends
within QUICK_SECONDS ends like a plain click: the toast and the failures at once, no panel. Names, emails,
role names and Auth0's reasons come from outside: shown as text (md(), dataframes).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from admin_core import jobrunner
from admin_core.actions import ActionReport
from admin_core.auth import Identity, require_change, require_session
from admin_core.domain import User
from admin_core.errors import AppError, NotAllowed
from admin_core.jobs import DONE, FAILED, HANDED_OVER, INTERRUPTED, ITEM_WORDS, RUNNING, Job
from admin_core.roles import RoleInfo
from admin_core.ui.chrome import md, show_error

ACTIVE = "jobs.active"  # {panel key: (job id, what to call with the report when it ends)}
QUICK_SECONDS = 3.0  # a job this short ends inside the click, as a plain bulk change did
REFRESH_SECONDS = 1.0

Announce = Callable[[ActionReport], None]


def start(
    *,
    panel: str,
    action: str,
    users: list[User],
    announce: Announce,
    refused: Callable[[NotAllowed], None],
    role: RoleInfo | None = None,
) -> None:
    """Start the job (the actor checked with Auth0 first); a quick one is announced now, a longer one gets
    the progress panel `panel` (drawn by `progress`), which announces it when it ends."""
    try:
        job_id = jobrunner.start(identity=require_change(), action=action, users=users, role=role)
    except NotAllowed as exc:
        refused(exc)
        return
    if jobrunner.wait(job_id, QUICK_SECONDS):
        announce(report_of(job_id))
    else:
        st.session_state.setdefault(ACTIVE, {})[panel] = (job_id, announce)


def report_of(job_id: str) -> ActionReport:
    """What a job did, as the bulk bars announce it: who was done, who failed and why."""
    report = ActionReport()
    for item in jobrunner.outcomes(job_id):
        user = User(user_id=item.person.user_id, email=item.person.email, name=item.person.name)
        if item.state == DONE:
            report.done.append(user)
        elif item.state == FAILED:
            report.failed.append((user, item.reason or "Failed."))
    return report


def progress(panel: str) -> None:
    """The progress panel of this session's job started from `panel`, if one is running."""
    if panel in st.session_state.get(ACTIVE, {}):
        _panel(panel)


def _time_left(seconds: float | None) -> str:
    if seconds is None:
        return "working out the time left"
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    return f"about {round(seconds / 60)} min left"


@st.fragment(run_every=REFRESH_SECONDS)
def _panel(panel: str) -> None:
    entry = st.session_state.get(ACTIVE, {}).get(panel)
    if entry is None:
        return
    job_id, announce = entry
    try:
        job = jobrunner.job(job_id)
    except AppError as exc:
        show_error(exc)
        return
    if job is None or job.status != RUNNING:
        st.session_state[ACTIVE].pop(panel, None)
        if job is not None:
            announce(report_of(job_id))
            if job.status == INTERRUPTED:
                st.session_state.setdefault("jobs.notices", []).append(
                    "The job was interrupted (the app restarted). The Audit page can resume it."
                    if job.note != HANDED_OVER
                    else "This app instance is restarting: the job was handed over, and another instance "
                    "takes over the rest (the Audit page shows it)."
                )
        st.rerun(scope="app")
    through = job.done + job.failed
    st.progress(
        through / job.total if job.total else 1.0,
        text=md(
            f"{job.verb}: {job.done} done, {job.failed} failed, {job.left} left of {job.total}, "
            f"{_time_left(job.seconds_left())}"
        ),
    )
    st.caption("This goes on on the server if you close the tab; the Audit page shows every job.")
    if job.cancel_requested:
        st.caption("Cancelling: the changes already on their way to Auth0 finish first.")
    elif st.button("Cancel", key=f"jobs.cancel.{panel}", icon=":material/stop_circle:"):
        try:
            jobrunner.cancel(identity=require_session(), job_id=job_id)
        except NotAllowed as exc:
            show_error(exc.message)


def show_notices() -> None:
    for notice in st.session_state.pop("jobs.notices", []):
        show_error(notice, level="warning")


# --- the Audit page ------------------------------------------------------------------------------------

STATUS_WORDS = {
    "running": "running",
    "finished": "finished",
    "cancelled": "cancelled",
    "interrupted": "interrupted",
}


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def audit_section(identity: Identity) -> None:
    """Running and finished bulk jobs, newest first, each person's outcome, Resume for interrupted ones."""
    st.header("Bulk jobs")
    try:
        found = jobrunner.recent()
    except AppError as exc:
        show_error(exc)
        return
    if not found:
        st.caption("No bulk job yet. Bulk delete, block, unblock and role changes on Users run as jobs.")
        return
    _jobs_listing(identity, any(j.status == RUNNING for j in found))


def _jobs_listing(identity: Identity, live: bool) -> None:
    if live:
        _live_listing(identity)
    else:
        _listing(identity, jobrunner.recent())


@st.fragment(run_every=2.0)
def _live_listing(identity: Identity) -> None:
    found = jobrunner.recent()
    _listing(identity, found)
    if not any(j.status == RUNNING for j in found):
        st.rerun(scope="app")  # the last one ended: stop updating


def _listing(identity: Identity, found: list[Job]) -> None:
    frame = pd.DataFrame(
        [
            {
                "started": _when(j.created_at),
                "by": j.created_by,
                "action": j.verb,
                "status": STATUS_WORDS.get(j.status, j.status),
                "done": j.done,
                "failed": j.failed,
                "left": j.left,
                "total": j.total,
            }
            for j in found
        ]
    )
    st.dataframe(frame, hide_index=True, key="jobs.table")
    for job in found:
        label = f"{job.verb}, {job.total} people, {STATUS_WORDS.get(job.status, job.status)} ({_when(job.created_at)})"
        with st.expander(md(label), expanded=job.status == INTERRUPTED):
            if job.status == INTERRUPTED:
                if job.note:  # handed over at a shutdown, or why no instance took it over
                    st.info(md(job.note))
                st.warning(
                    md(
                        f"Interrupted: the app stopped with {job.left} of {job.total} not started. Resume "
                        "runs only those, as you, after Auth0 confirms you are an admin."
                    )
                )
                if identity.can_change and st.button(
                    "Resume", key=f"jobs.resume.{job.id}", icon=":material/play_arrow:"
                ):
                    try:
                        jobrunner.resume(identity=require_change(), job_id=job.id)
                    except (NotAllowed, AppError) as exc:
                        show_error(exc)
                    else:
                        st.rerun(scope="app")
            if job.status == RUNNING and job.started_at != job.created_at:
                st.caption("Taken over or resumed: this run does only the people not tried before.")
            stoppable = job.status == RUNNING and identity.can_change and not job.cancel_requested
            if stoppable and st.button("Cancel", key=f"jobs.stop.{job.id}", icon=":material/stop_circle:"):
                try:
                    jobrunner.cancel(identity=require_session(), job_id=job.id)
                except (NotAllowed, AppError) as exc:
                    show_error(exc)
            people = jobrunner.outcomes(job.id)
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "who": i.person.email or i.person.name or "",
                            "user_id": i.person.user_id,
                            "outcome": ITEM_WORDS.get(i.state, i.state),
                            "reason": i.reason or "",
                        }
                        for i in people
                    ]
                ),
                hide_index=True,
                key=f"jobs.items.{job.id}",
            )
