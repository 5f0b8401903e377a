"""The whole-tenant export (issue 19, part 4): how much the Streamlit process grows while it runs.

Chromium against a real `streamlit run` on a dev tenant of `size` users (100,000 in `make bench`): sign in,
settle, then "Export all users" -> the job runs on the server -> "Download" -> the file saved and read back.
The server's RSS (children included) is sampled every 50 ms from just before the click to after the
download; the target is the peak's growth over the settled RSS. The Management API requests of the export
(the job's creation, its polls, a fresh link) and the file's size and rows come along.
"""

from __future__ import annotations

import gzip
import time
from pathlib import Path

from bench.browser import MB, PeakSampler, _launch, _new_page, _wait
from tests.browser.helpers import ADMIN, open_signed_out, sign_in, wait_idle
from tests.support.app_server import AppServer
from tests.support.devtenant_proc import DevTenant

RSS_GROWTH_MAX_MB = 50.0
EXPORT_ROUTES = ("POST /api/v2/jobs/users-exports", "GET /api/v2/jobs/{id}", "GET /api/v2/connections")
DOWNLOAD_ROUTE = "GET /user-exports/{job}/{file}"
READY = """() => [...document.querySelectorAll('[data-testid="stDownloadButton"] button')]
  .some(b => b.innerText.includes('Download users') && b.offsetParent !== null)"""
GRID = """() => [...document.querySelectorAll('[data-testid="stButton"] button')]
  .some(b => b.innerText.includes('Export all users') && b.offsetParent !== null)"""


def _requests(tenant: DevTenant) -> dict[str, int]:
    requests = tenant.stats()["requests"]
    return {k: requests.get(k, 0) for k in (*EXPORT_ROUTES, DOWNLOAD_ROUTE)}


def export_memory(size: int, workdir: Path, *, timeout_s: float = 600) -> dict:
    """Peak RSS growth of the Streamlit process during one export of every user, and its requests."""
    from playwright.sync_api import sync_playwright

    workdir.mkdir(parents=True, exist_ok=True)
    with DevTenant(users=size, startup_timeout=300) as tenant:  # a loaded machine starts 100,000 slowly
        server = AppServer(tenant, workdir, "bench-export")
        try:
            with sync_playwright() as playwright:
                browser = _launch(playwright)
                try:
                    context, page = _new_page(browser)
                    context.set_default_timeout(timeout_s * 1000)
                    open_signed_out(page, server.url("/"))
                    sign_in(page, ADMIN)
                    _wait(page, GRID, timeout_ms=60_000)
                    wait_idle(page)
                    time.sleep(2.0)  # let the server settle (the first runs' garbage, the sends)
                    before_requests = _requests(tenant)
                    settled = server.rss()
                    sampler = PeakSampler(server)
                    started = time.monotonic()
                    page.get_by_role("button", name="Export all users", exact=True).click()
                    _wait(page, READY, timeout_ms=timeout_s * 1000)
                    job_s = time.monotonic() - started
                    with page.expect_download(timeout=timeout_s * 1000) as info:
                        page.locator('[data-testid="stDownloadButton"] button').first.click()
                    saved = workdir / "export.csv.gz"
                    info.value.save_as(saved)
                    wall_s = time.monotonic() - started
                    time.sleep(1.0)  # the download's bytes released by the server
                    peak = sampler.peak()
                    after = server.rss()
                    sampler.stop()
                    context.close()
                finally:
                    browser.close()
        finally:
            server.stop()
        used = _requests(tenant)
    rows = 0
    with gzip.open(saved, "rt", encoding="utf-8") as f:
        for rows, _ in enumerate(f):  # noqa: B007 - the header is line 0: the count is the rows
            pass
    spent = {k: used[k] - before_requests[k] for k in used}
    return {
        "size": size,
        "users_in_file": rows,
        "file_mb": round(saved.stat().st_size / MB, 2),
        "settled_rss_mb": round(settled / MB, 1),
        "peak_rss_mb": round(peak / MB, 1),
        "after_rss_mb": round(after / MB, 1),
        "growth_mb": round((peak - settled) / MB, 1),
        "job_to_ready_s": round(job_s, 1),
        "click_to_saved_s": round(wall_s, 1),
        "management_requests": sum(v for k, v in spent.items() if k != DOWNLOAD_ROUTE),
        "requests": spent,
    }
