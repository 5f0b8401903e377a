"""The whole-tenant export on the Users page: start, progress, download (admin_core.exports does the work).

The export runs in a thread of the server (`runtime.get_exports()`), so the page stays usable; a fragment
rerunning every second shows its progress, then a Download button hands out the finished file (read from
disk only when clicked: `st.download_button` with a callable). Viewers may export too: it reads, it
changes nothing. Each export is in the audit log (who exported what), never its download link.
"""

from __future__ import annotations

import streamlit as st

from admin_core import runtime
from admin_core.auth import Identity
from admin_core.errors import AdminError
from admin_core.exports import ExportRun
from admin_core.ui.chrome import md, show_error

RUN = "export.run_id"  # this session's export (its id in the process's registry)
FORMAT = "export.format"
PROGRESS_EVERY_SECONDS = 1.0
FORMATS = {"csv": "CSV", "json": "JSON lines"}


def _size(n: int | None) -> str:
    if not n:
        return "0 KB"
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{max(1, round(n / 1e3))} KB"


def _left(seconds: int | None) -> str:
    if seconds is None:
        return ""
    if seconds < 90:
        return f", about {max(1, seconds)} s left"
    return f", about {round(seconds / 60)} min left"


def progress_text(run: ExportRun) -> str:
    """Where the export is, in words (Markdown: the connection's name escaped)."""
    if run.phase == "starting":
        return f"Asking Auth0 to export {md(run.what)}…"
    if run.phase == "waiting":
        return f"Auth0 is preparing the file of {md(run.what)}: {run.percent} %{_left(run.time_left)}"
    if run.phase == "downloading":
        return "Fetching the file from Auth0…"
    return "Preparing the file for download…"


def _current(identity: Identity) -> ExportRun | None:
    registry = runtime.get_exports()
    run = registry.get(st.session_state.get(RUN)) or registry.latest_for(identity.sub)
    if run is not None:
        st.session_state[RUN] = run.run_id
    return run


def render(*, identity: Identity, connection: str = "") -> None:
    """The export panel: the start buttons, or the running export's progress, or its file."""
    with st.container(border=True, key="export-all"):
        run = _current(identity)
        if run is None:
            _start(identity, connection)
        elif not run.done:
            _progress(run.run_id)
        else:
            _finished(run)


def _start(identity: Identity, connection: str) -> None:
    st.caption(
        "Export the whole tenant: every user, past the 1,000-result limit of a search, through Auth0's "
        "export job. It runs on the server (you can keep working) and gives a gzip-compressed file with "
        "the table's columns."
    )
    fmt = st.segmented_control(
        "File format", list(FORMATS), format_func=lambda f: FORMATS[f], default="csv", key=FORMAT
    )
    wanted: str | None = None
    with st.container(horizontal=True):
        if st.button("Export all users", key="export.all", icon=":material/cloud_download:"):
            wanted = ""
        if connection and st.button(
            f"Export all users of {md(connection)}", key="export.connection", icon=":material/cloud_download:"
        ):
            wanted = connection
    if wanted is None:
        return
    try:
        run = runtime.get_exports().start(
            actor=identity.actor, format=fmt or "csv", connection=wanted or None
        )
    except AdminError as exc:
        show_error(exc.message)
        return
    st.session_state[RUN] = run.run_id
    st.rerun()


@st.fragment(run_every=PROGRESS_EVERY_SECONDS)
def _progress(run_id: str) -> None:
    """Redrawn every second on its own (not the page); once the export ends, the page draws its outcome."""
    run = runtime.get_exports().get(run_id)
    if run is None or run.done:
        st.rerun()
        return
    st.progress(run.percent / 100, text=progress_text(run))  # the connection name escaped there
    if st.button("Cancel export", key="export.cancel", icon=":material/close:"):
        run.cancel()


def _finished(run: ExportRun) -> None:
    registry = runtime.get_exports()
    if run.phase == "ready":
        st.success(
            f"Ready: {run.rows:,} users, {md(run.what)}, gzip-compressed ({_size(run.size)}).",
            icon=":material/check_circle:",
        )
        with st.container(horizontal=True):
            st.download_button(
                f"Download {run.file_name}",
                data=lambda: registry.read(run.run_id),  # read from disk when clicked, not on every rerun
                file_name=run.file_name,
                mime="application/gzip",
                key="export.download",
                icon=":material/download:",
                on_click="ignore",
                type="primary",
            )
            st.button("Done", key="export.done", on_click=_dismiss, args=(run.run_id,))
        st.caption(
            "The file is deleted from the server when you press Done, or 30 minutes after it was made."
        )
        return
    if run.phase == "cancelled":
        st.info("Export cancelled.")
    else:
        show_error(run.error or "The export failed.")
    st.button("Start again", key="export.again", on_click=_dismiss, args=(run.run_id,))


def _dismiss(run_id: str) -> None:
    runtime.get_exports().dismiss(run_id)
    st.session_state.pop(RUN, None)
