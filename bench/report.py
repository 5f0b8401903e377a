"""The bench's one table (Markdown, printed and written to bench/results.md) and its target verdicts."""

from __future__ import annotations

import math

PAGE_TO_ELEMENTS_MAX = 1.25  # a warm rerun of the whole Users page next to its elements drawn bare (issue 19)
INTERACTION_MAX = (
    1.3  # a listing interaction (its fragment's rerun) next to the bare cards / table (issue 19)
)
MEDIAN_MAX_MS = 100.0
SCALE_MAX = 1.2
DELETE_TOAST_MAX_S = 1.0
USERS_CLICK_MAX_S = 1.5
RSS_GROWTH_MAX_MB = 5.0
PERSON_COLD_MAX = 5  # user, roles, first logs page, brute-force locks, MFA (issue 15)
PERSON_WALL_MAX = 2.0  # the five are issued at once: the wait is about the slowest, not their sum
EXPORT_RSS_GROWTH_MAX_MB = 50.0  # issue 19: the whole-tenant export never holds the file whole
ROLE_CHANGE_MAX = 1  # POST or DELETE /users/{id}/roles; then the one person's page is read again (issue 16)
SIGNIN_COLD_MAX_S = 1.2  # popup closed -> first card usable, fresh browser profile (issue 19)
SIGNIN_RELOAD_MAX_S = 1.0  # the same after a reload (Auth0 remembers the browser: one click)
SIGNIN_NAV_RATIO_MAX = 2.0  # ... at most this many warm in-app navigations to the same page
SIGNIN_RUNS_MAX = 1  # script runs from the popup's answer to the signed-in page (the page drawn in that run)
SIGNIN_CHUNKS_MAX = 0  # widget code fetched after the popup closed (loaded on the sign-in screen instead)
# Issue 17: two instances behind nginx against one. On 2 shared cores (the load generator, nginx and both
# instances) no 2x is possible; the target is that a second instance costs nothing and nothing fails.
CLUSTER_RATIO_MIN = 0.9


def _sizes(results: dict) -> list[str]:
    return [
        s for s in results["sizes"] if results["sizes"][s].get("views") or results["sizes"][s].get("timing")
    ]


def _get(d: dict | None, *path, default=None):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return default
        d = d[key]
    return d


def _overview_budget(total: int) -> int:
    return min(math.ceil(total / 100) + 1, 30)


def targets(results: dict) -> list[dict]:
    """One verdict per target: what was measured (worst case over the sizes), the limit, met, margin."""
    out: list[dict] = []
    sizes = _sizes(results)

    def add(name: str, measured, limit, met: bool, margin: str) -> None:
        out.append({"target": name, "measured": measured, "limit": limit, "met": met, "margin": margin})

    views = {s: results["sizes"][s].get("views") for s in sizes if results["sizes"][s].get("views")}
    if views:
        cold = {s: v["users_cold"]["requests"] for s, v in views.items()}
        add(
            "Users view cold: 1 request",
            cold,
            1,
            all(c == 1 for c in cold.values()),
            "exactly 1 at every size",
        )
        warm = {s: v["users_warm"]["requests"] for s, v in views.items()}
        add("Users view warm: 0 requests", warm, 0, all(c == 0 for c in warm.values()), "0 at every size")
        over = {s: (v["overview_cold"]["requests"], v["overview_budget"]) for s, v in views.items()}
        spare = {s: b - c for s, (c, b) in over.items()}
        add(
            "Overview cold: <= min(ceil(N/100)+1, 30) requests",
            {s: c for s, (c, _) in over.items()},
            {s: b for s, (_, b) in over.items()},
            all(c <= b for c, b in over.values()),
            "; ".join(f"{int(s):,}: {c} of {b} ({spare[s]} spare)" for s, (c, b) in over.items()),
        )
        warm_o = {s: v["overview_warm"]["requests"] for s, v in views.items()}
        add("Overview warm: 0 requests", warm_o, 0, all(c == 0 for c in warm_o.values()), "0 at every size")
    tokens = {s: results["sizes"][s]["tokens"] for s in sizes if results["sizes"][s].get("tokens")}
    if tokens:
        grants = {s: t["client_credentials_grants"] for s, t in tokens.items()}
        add(
            "Token grants: 1 per process per token lifetime",
            grants,
            1,
            all(g == 1 for g in grants.values()),
            "1 grant per process at every size, however many sessions and reruns",
        )
    person = {s: results["sizes"][s]["person"] for s in sizes if results["sizes"][s].get("person")}
    if person:
        cold = {s: p["cold"]["requests"] for s, p in person.items()}
        add(
            f"Person page cold: <= {PERSON_COLD_MAX} requests",
            cold,
            PERSON_COLD_MAX,
            all(c <= PERSON_COLD_MAX for c in cold.values()),
            "; ".join(f"{int(s):,}: {c}" for s, c in cold.items()),
        )
        warm = {s: p["warm"]["requests"] for s, p in person.items()}
        add("Person page warm: 0 requests", warm, 0, all(c == 0 for c in warm.values()), "0 at every size")
        ratio = {
            s: round(p["cold"]["median_ms"] / p["one_request"]["median_ms"], 2) for s, p in person.items()
        }
        worst = max(ratio.values())
        add(
            f"Person page cold wall < {PERSON_WALL_MAX}x one request's (median)",
            ratio,
            PERSON_WALL_MAX,
            worst < PERSON_WALL_MAX,
            f"worst {worst:.2f}x ("
            + "; ".join(
                f"{int(s):,}: {p['cold']['median_ms']:.0f} ms vs {p['one_request']['median_ms']:.0f} ms"
                for s, p in person.items()
            )
            + ")",
        )
    role = {s: results["sizes"][s]["role_change"] for s in sizes if results["sizes"][s].get("role_change")}
    if role:
        cost = {
            s: (
                max(r[k]["change"]["requests"] for k in ("add", "remove")),
                max(r[k]["refetch"]["requests"] for k in ("add", "remove")),
                sum(r[k]["listing_requests"] for k in ("add", "remove")),
            )
            for s, r in role.items()
        }
        add(
            f"Role change: {ROLE_CHANGE_MAX} request + the one person's refetch, no listing",
            {s: c[0] for s, c in cost.items()},
            ROLE_CHANGE_MAX,
            all(c[0] <= ROLE_CHANGE_MAX and c[1] <= PERSON_COLD_MAX and c[2] == 0 for c in cost.values()),
            "; ".join(f"{int(s):,}: {c[0]} + {c[1]} (listing {c[2]})" for s, c in cost.items()),
        )
    saves = {
        s: results["sizes"][s]["metadata_save"] for s in sizes if results["sizes"][s].get("metadata_save")
    }
    if saves:
        cost = {s: m["save"]["requests"] for s, m in saves.items()}
        add(
            "Metadata save: 1 PATCH + the one person's read (the stale check), none after, no listing",
            cost,
            2,
            all(c == 2 and saves[s]["refetch"]["requests"] == 0 for s, c in cost.items()),
            "; ".join(
                f"{int(s):,}: {c} + {saves[s]['refetch']['requests']} refetch" for s, c in cost.items()
            ),
        )
    timing = {s: results["sizes"][s]["timing"] for s in sizes if results["sizes"][s].get("timing")}
    for view, label in (("grid", "Users grid (24)"), ("table", "Users table (100)")):
        rows = {s: t[view] for s, t in timing.items() if view in t}
        if not rows:
            continue
        # The whole page against its own elements drawn bare (bench/floors/grid_page.py, table_page.py): what
        # the app adds to Streamlit's cost of the same output. (The first round compared the page with the
        # bare cards / table, whose ratio is the elements' cost as much as the app's; still in the table.)
        own = {s: r["ratio_to_elements_median"] for s, r in rows.items() if "ratio_to_elements_median" in r}
        if own:
            worst = max(own.values())
            add(
                f"{label} page warm rerun <= {PAGE_TO_ELEMENTS_MAX}x its elements bare (median)",
                own,
                PAGE_TO_ELEMENTS_MAX,
                worst <= PAGE_TO_ELEMENTS_MAX,
                f"worst {worst:.2f}x: {(PAGE_TO_ELEMENTS_MAX - worst) / PAGE_TO_ELEMENTS_MAX:+.0%} of the limit left",
            )
        steps = {s: t[f"{view}_interactions"] for s, t in timing.items() if f"{view}_interactions" in t}
        if steps:
            names = list(next(iter(steps.values())))
            worst_by = {n: max(x[n]["ratio_median"] for x in steps.values()) for n in names}
            worst = max(worst_by.values())
            quiet = all(x[n]["requests_during"] == 0 for x in steps.values() for n in names)
            bare = "the 24 bare cards" if view == "grid" else "the bare table of 100 rows"
            add(
                f"{label} listing interactions (a rerun of the listing alone) <= {INTERACTION_MAX}x {bare}, "
                "each (median)",
                worst_by,
                INTERACTION_MAX,
                worst <= INTERACTION_MAX,
                f"worst {worst:.2f}x ({max(worst_by, key=worst_by.__getitem__)}): "
                f"{(INTERACTION_MAX - worst) / INTERACTION_MAX:+.0%} of the limit left; "
                + ", ".join(f"{n} {r:.2f}x" for n, r in worst_by.items())
                # A series longer than the listing cache's 30 s refetches a page once: said, not failed.
                + ("" if quiet else "; a listing was read again meanwhile (its 30 s cache expired)"),
            )
        medians = {s: r["app"]["median_ms"] for s, r in rows.items()}
        worst_ms = max(medians.values())
        add(
            f"{label} warm rerun median < {MEDIAN_MAX_MS:.0f} ms",
            medians,
            MEDIAN_MAX_MS,
            worst_ms < MEDIAN_MAX_MS,
            f"worst {worst_ms:.0f} ms ({MEDIAN_MAX_MS - worst_ms:+.0f} ms)",
        )
        small, big = min(rows, key=int), max(rows, key=int)
        if small != big:
            raw = rows[big]["app"]["median_ms"] / rows[small]["app"]["median_ms"]
            # The floor is the same 24 cards / 100 rows at both sizes: dividing by it takes out the machine's
            # load drift between two series run minutes apart on a shared 2-core machine.
            normalized = rows[big]["ratio_median"] / rows[small]["ratio_median"]
            add(
                f"{label} cost at {int(big):,} users <= {SCALE_MAX}x cost at {int(small):,}",
                {"raw": round(raw, 2), "floor_normalized": round(normalized, 2)},
                SCALE_MAX,
                normalized <= SCALE_MAX,
                f"{normalized:.2f}x normalized by the floor (raw medians {raw:.2f}x)",
            )
    browser = results.get("browser") or {}
    t = browser.get("timings")
    if t:
        worst = max(t["delete_to_toast_s"])
        add(
            f"Browser: delete confirmed -> toast < {DELETE_TOAST_MAX_S:.0f} s",
            {"median": t["delete_to_toast_median_s"], "all": t["delete_to_toast_s"]},
            DELETE_TOAST_MAX_S,
            t["delete_to_toast_median_s"] < DELETE_TOAST_MAX_S,
            f"median {t['delete_to_toast_median_s']:.2f} s, slowest {worst:.2f} s",
        )
        clicks = t["users_click_to_grid_s"]
        add(
            f"Browser: 'Users' click -> grid < {USERS_CLICK_MAX_S} s",
            {"cold": t["users_click_to_grid_cold_s"], "warm_median": t["users_click_to_grid_warm_median_s"]},
            USERS_CLICK_MAX_S,
            max(clicks) < USERS_CLICK_MAX_S,
            f"slowest {max(clicks):.2f} s ({USERS_CLICK_MAX_S - max(clicks):+.2f} s)",
        )
    sig = results.get("signin")
    if sig:
        _signin_targets(sig, add)
    m = browser.get("memory")
    if m:
        g = m["growth_per_session_mb"]
        add(
            f"RSS growth per signed-in session < {RSS_GROWTH_MAX_MB:.0f} MB",
            g,
            RSS_GROWTH_MAX_MB,
            g < RSS_GROWTH_MAX_MB,
            f"{g:.2f} MB/session ({RSS_GROWTH_MAX_MB - g:+.2f} MB)",
        )
    e = results.get("export")
    if e:
        add(
            f"Export of every user at {e['size']:,}: server RSS growth <= {EXPORT_RSS_GROWTH_MAX_MB:.0f} MB",
            e["growth_mb"],
            EXPORT_RSS_GROWTH_MAX_MB,
            e["growth_mb"] <= EXPORT_RSS_GROWTH_MAX_MB,
            f"{e['growth_mb']:.1f} MB ({EXPORT_RSS_GROWTH_MAX_MB - e['growth_mb']:+.1f} MB); "
            f"{e['users_in_file']:,} users in a {e['file_mb']:.1f} MB file; {e['management_requests']} Management "
            f"API requests, {e['requests'].get('GET /user-exports/{job}/{file}', 0)} download",
        )
    c = results.get("cluster")
    if c:
        for key, label in (("health", "/_stcore/health"), ("page", "page loads")):
            ratio = c[key]["ratio"] or 0.0
            add(
                f"Cluster: {label} per second, 2 instances / 1 >= {CLUSTER_RATIO_MIN}",
                ratio,
                CLUSTER_RATIO_MIN,
                ratio >= CLUSTER_RATIO_MIN,
                f"{ratio:.2f}x ({c[key]['two']['rps']:.0f} / {c[key]['one']['rps']:.0f} per s, "
                f"{ratio - CLUSTER_RATIO_MIN:+.2f})",
            )
        failed = sum(c[key][n]["failed"] for key in ("health", "page") for n in ("two", "one"))
        add("Cluster: failed requests through the proxy: 0", failed, 0, failed == 0, f"{failed} failed")
    out += bulk_targets(results.get("bulk") or {})
    return out


# --- bulk jobs (issue 19, part 3) ---------------------------------------------------------------------

BULK_FREE_MAX_RATIO = 1.15  # of the rate limit's floor, with 0 people failed
BULK_NONE_MAX_PER_10 = 3.0  # one request's latency per 10 people


def bulk_targets(bulk: dict) -> list[dict]:
    out: list[dict] = []
    free, none = bulk.get("free"), bulk.get("none")
    if free and free.get("ratio") is not None:
        met = free["ratio"] <= BULK_FREE_MAX_RATIO and free["failed"] == 0 and free["still_in_tenant"] == 0
        out.append({
            "target": f"{free['people']} deletes at the Free plan's limit within {BULK_FREE_MAX_RATIO}x its floor, 0 errors",
            "measured": free["ratio"],
            "limit": BULK_FREE_MAX_RATIO,
            "met": met,
            "margin": f"{free['seconds']:.1f} s vs {free['floor_s']:.1f} s floor = {free['ratio']:.3f}x "
            f"({BULK_FREE_MAX_RATIO - free['ratio']:+.3f}); {free['failed']} failed",
        })  # fmt: skip
    if none:
        ratio = none["per_10_users"]
        out.append({
            "target": f"{none['people']} deletes, no limit: <= {BULK_NONE_MAX_PER_10:.0f}x one request's latency per 10 users",
            "measured": ratio,
            "limit": BULK_NONE_MAX_PER_10,
            "met": ratio <= BULK_NONE_MAX_PER_10 and none["failed"] == 0,
            "margin": f"{none['seconds']:.2f} s for {none['people']} at {none['latency_s'] * 1000:.0f} ms a "
            f"request = {ratio:.2f}x per 10 ({BULK_NONE_MAX_PER_10 - ratio:+.2f}); {none['failed']} failed",
        })  # fmt: skip
    return out


def bulk_markdown(bulk: dict) -> list[str]:
    """The bulk-job rows, a table of their own (one run each, not per tenant size)."""
    if not bulk:
        return []
    rows = [
        "| Bulk job: deletes | People | Requests | Wall time | Against | Failed | Target |",
        "|---|---|---|---|---|---|---|",
    ]
    if free := bulk.get("free"):
        rows.append(
            f"| Free plan (burst 2, 2/s), no undo copies | {free['people']} | {free['requests']} | "
            f"{free['seconds']:.1f} s | {free['ratio']:.3f}x the {free['floor_s']:.0f} s floor | {free['failed']} | "
            f"<= {BULK_FREE_MAX_RATIO}x, 0 failed |"
        )
    for key, label in (
        ("none", "no limit, no undo copies"),
        ("none_keep", "no limit, undo copies kept (3 requests each)"),
    ):
        if run := bulk.get(key):
            rows.append(
                f"| {label} | {run['people']} | {run['requests']} | {run['seconds']:.2f} s | "
                f"{run['per_10_users']:.2f}x latency ({run['latency_s'] * 1000:.0f} ms) per 10 | {run['failed']} | "
                + (f"<= {BULK_NONE_MAX_PER_10:.0f}x |" if key == "none" else "(for information) |")
            )
    return ["", *rows]


def _signin_targets(sig: dict, add) -> None:
    """Issue 19 part 1: popup closed -> first card usable, cold and after a reload, and its ratio to a warm
    navigation to the same page measured in the same run (the ratio is what holds on a busy machine)."""
    nav = sig.get("warm_navigation_median_ms")
    for case, limit in (("cold", SIGNIN_COLD_MAX_S), ("reload", SIGNIN_RELOAD_MAX_S)):
        median = _get(sig, case, "popup_closed_to_card_usable_ms_median")
        if median is None:
            continue
        words = "fresh browser profile" if case == "cold" else "after a reload, one click"
        add(
            f"Sign-in ({words}): popup closed -> first card usable, median <= {limit} s",
            {"median_s": round(median / 1000, 2), "all_ms": sig[case]["popup_closed_to_card_usable_all_ms"]},
            limit,
            median / 1000 <= limit,
            f"{median / 1000:.2f} s ({limit - median / 1000:+.2f} s)",
        )
        ratio = sig.get(f"{case}_ratio_to_warm_navigation")
        if ratio is not None:
            add(
                f"Sign-in ({words}): popup closed -> first card usable <= {SIGNIN_NAV_RATIO_MAX:.0f}x a warm "
                "navigation to Users (medians, same run)",
                ratio,
                SIGNIN_NAV_RATIO_MAX,
                ratio <= SIGNIN_NAV_RATIO_MAX,
                f"{ratio:.2f}x: {median:.0f} ms vs {nav:.0f} ms "
                f"({(SIGNIN_NAV_RATIO_MAX - ratio) / SIGNIN_NAV_RATIO_MAX:+.0%} of the limit left)",
            )
    chunks = [r["js_chunks_after_popup_closed"] for r in sig.get("cold_runs", [])]
    if chunks:
        worst = max(chunks)
        add(
            f"Sign-in (fresh browser profile): widget JS chunks fetched after the popup closed <= {SIGNIN_CHUNKS_MAX}",
            chunks,
            SIGNIN_CHUNKS_MAX,
            worst <= SIGNIN_CHUNKS_MAX,
            f"most in one run {worst} ({SIGNIN_CHUNKS_MAX - worst:+d})",
        )
    runs = [
        r["script_runs_after_popup"]
        for case in ("cold", "reload")
        for r in sig.get(f"{case}_runs", [])
        if r.get("script_runs_after_popup") is not None
    ]
    if runs:
        worst = max(runs)
        add(
            f"Sign-in: script runs from the popup's answer to the page <= {SIGNIN_RUNS_MAX} (no second run)",
            runs,
            SIGNIN_RUNS_MAX,
            worst <= SIGNIN_RUNS_MAX,
            f"most in one sign-in {worst} ({SIGNIN_RUNS_MAX - worst:+d})",
        )


def _signin_rows(sig: dict, row, col: str) -> None:
    def ms(value) -> str:
        return "—" if value is None else f"{value:.0f}"

    for case, words in (("cold", "fresh profile: submit"), ("reload", "after a reload: click")):
        c = sig.get(case) or {}
        row(
            f"Sign-in, {words} → popup closed → sign-in frame gone → first card usable, median ms "
            "(popup closed → usable)",
            {col: f"{ms(c.get('start_to_popup_closed_ms_median'))} → +{ms(c.get('popup_closed_to_frame_gone_ms_median'))}"
             f" → +{ms(c.get('frame_gone_to_card_usable_ms_median'))} "
             f"({ms(c.get('popup_closed_to_card_usable_ms_median'))})"},
            f"≤ {SIGNIN_COLD_MAX_S if case == 'cold' else SIGNIN_RELOAD_MAX_S} s and ≤ {SIGNIN_NAV_RATIO_MAX:.0f}x "
            "warm navigation",
        )  # fmt: skip
        server = c.get("server_ms_median") or {}
        parts = [
            ("code exchange", "sign_in.exchange"),
            ("ID-token check", "sign_in.verify"),
            ("roles", "sign_in.roles"),
            ("audit record", "sign_in.record"),
            ("sign-in screen", "run.sign_in_screen"),
            ("listing", "run.listing"),
            ("page run", "run.page"),
        ]
        row(
            f"&nbsp;&nbsp;server, median ms: {' / '.join(p for p, _ in parts)}",
            {col: " / ".join(ms(server.get(k)) for _, k in parts)},
        )
        row(
            "&nbsp;&nbsp;browser: JS chunks fetched after the popup closed, median count (last done, ms after "
            "the close)",
            {col: f"{ms(c.get('js_chunks_after_popup_closed_median'))} "
             f"({ms(c.get('js_chunks_last_end_after_close_ms_median'))})"},
            f"{SIGNIN_CHUNKS_MAX}",
        )  # fmt: skip
        runs = [r.get("script_runs_after_popup") or 0 for r in sig.get(f"{case}_runs") or []]
        row(
            "&nbsp;&nbsp;script runs from the popup's answer to the page, median (most)",
            {col: f"{ms(c.get('script_runs_after_popup_median'))} ({ms(max(runs, default=None))})"},
            f"{SIGNIN_RUNS_MAX}",
        )  # fmt: skip
    row(
        "Warm navigation Overview → Users, click → first card usable, median ms (all)",
        {col: f"{ms(sig.get('warm_navigation_median_ms'))} ("
         + ", ".join(ms(x) for x in sig.get("warm_navigation_ms", [])) + ")"},
    )  # fmt: skip


def cluster_markdown(c: dict) -> str:
    """The cluster part's own small table (its columns are instance counts, not tenant sizes)."""
    rows = [
        "| Through nginx (`--only cluster`) | 2 instances | 1 instance | Ratio | Target |",
        "|---|---|---|---|---|",
    ]
    for key, label in (("health", "`/_stcore/health`, requests/s"), ("page", "page load `/`, requests/s")):
        rows.append(
            f"| {label} | {c[key]['two']['rps']:.0f} | {c[key]['one']['rps']:.0f} | {c[key]['ratio']:.2f}x "
            f"| >= {CLUSTER_RATIO_MIN}x |"
        )

    def per_instance(figures: dict, digits: int = 0) -> str:
        return ", ".join(
            f"{name} {mb:.{digits}f}" if mb is not None else f"{name} -" for name, mb in figures.items()
        )

    if c.get("rss_started_mb"):
        rows.append(f"| RSS per instance when started, MB | {per_instance(c['rss_started_mb'])} | | | |")
    rows.append(f"| RSS per instance after the load, MB | {per_instance(c['rss_mb'])} | | | |")
    signed_in = c.get("signed_in") or {}
    if signed_in.get("rss_mb"):
        held = ", ".join(f"{name} {count}" for name, count in signed_in["held"].items())
        rows.append(
            f"| RSS per instance with {signed_in['sessions']} signed-in sessions ({held}), MB "
            f"| {per_instance(signed_in['rss_mb'])} | | | |"
        )
        rows.append(
            f"| RSS added by the first signed-in session, MB | {per_instance(signed_in['first_session_mb'])} "
            "| | | |"
        )
        rows.append(
            f"| RSS added per further signed-in session, MB | {per_instance(signed_in['growth_per_session_mb'], 1)} "
            "| | | |"
        )
    elif signed_in.get("skipped"):
        rows.append(f"| RSS with signed-in sessions | skipped: {signed_in['skipped']} | | | |")
    rows.append(
        f"\n{c['clients']} closed-loop clients (each its own affinity cookie) in {c['load_processes']} "
        f"processes on the same machine, {c['seconds']:.0f} s per series."
    )
    return "\n".join(rows)


# --- the table ---------------------------------------------------------------------------------------


def _req(views: dict, key: str) -> str:
    return str(_get(views, key, "requests", default="—"))


def _ms(views: dict, key: str) -> str:
    seconds = _get(views, key, "seconds")
    return "—" if seconds is None else f"{seconds * 1000:.0f}"


def _pair(a: str, b: str) -> str:
    return f"{a} / {b}"


def _timing(t: dict | None, view: str) -> tuple[str, str, str]:
    r = _get(t, view)
    if not r:
        return "—", "—", "—"
    app = f"{r['app']['median_ms']:.1f} / {r['app']['p95_ms']:.1f}"
    floor = f"{r['floor']['median_ms']:.1f} / {r['floor']['p95_ms']:.1f}" if "floor" in r else "—"
    ratio = f"{r['ratio_median']:.2f}x / {r['ratio_p95']:.2f}x" if "ratio_median" in r else "—"
    return app, floor, ratio


def markdown(results: dict) -> str:
    sizes = _sizes(results)
    browser = results.get("browser") or {}
    bsize = str(browser.get("size")) if browser else None
    columns = sizes + ([bsize] if bsize and bsize not in sizes else [])
    sig = results.get("signin")
    ssize = str(sig["size"]) if sig else None
    if ssize and ssize not in columns:
        columns.append(ssize)
    head = "| Measure | " + " | ".join(f"{int(s):,} users" for s in columns) + " | Target |"
    rule = "|---|" + "---|" * len(columns) + "---|"
    rows: list[str] = [head, rule]

    def row(label: str, values: dict[str, str], target: str = "") -> None:
        rows.append(f"| {label} | " + " | ".join(values.get(s, "—") for s in columns) + f" | {target} |")

    v = {s: results["sizes"][s].get("views") or {} for s in sizes}
    t = {s: results["sizes"][s].get("timing") for s in sizes}
    tok = {s: results["sizes"][s].get("tokens") or {} for s in sizes}
    if any(v.values()):
        row(
            "Requests: Users view, cold / warm",
            {s: _pair(_req(v[s], "users_cold"), _req(v[s], "users_warm")) for s in sizes},
            "1 / 0",
        )
        row(
            "Requests: next page, cold / warm",
            {s: _pair(_req(v[s], "next_cold"), _req(v[s], "next_warm")) for s in sizes},
            "1 / 0",
        )
        row(
            "Requests: search, cold / warm",
            {s: _pair(_req(v[s], "search_cold"), _req(v[s], "search_warm")) for s in sizes},
            "1 / 0",
        )
        row(
            "Requests: Overview, cold / warm (budget)",
            {
                s: f"{_req(v[s], 'overview_cold')} / {_req(v[s], 'overview_warm')} (≤{v[s].get('overview_budget', '—')})"
                for s in sizes
            },
            "≤ min(⌈N/100⌉+1, 30) / 0",
        )
        row(
            "Requests: delete, 1st / 2nd (the admin's role and blocked flag on the 1st, cached 60 s; DELETE + page refetch)",
            {s: _pair(_req(v[s], "delete_cold"), _req(v[s], "delete_warm")) for s in sizes},
        )
        row(
            "Wall ms: Users view, cold / warm",
            {s: _pair(_ms(v[s], "users_cold"), _ms(v[s], "users_warm")) for s in sizes},
        )
        row(
            "Wall ms: next page, cold / warm",
            {s: _pair(_ms(v[s], "next_cold"), _ms(v[s], "next_warm")) for s in sizes},
        )
        row(
            "Wall ms: search, cold / warm",
            {s: _pair(_ms(v[s], "search_cold"), _ms(v[s], "search_warm")) for s in sizes},
        )
        row(
            "Wall ms: Overview, cold / warm",
            {s: _pair(_ms(v[s], "overview_cold"), _ms(v[s], "overview_warm")) for s in sizes},
        )
        row(
            "Wall ms: delete confirmed, 1st / 2nd",
            {s: _pair(_ms(v[s], "delete_cold"), _ms(v[s], "delete_warm")) for s in sizes},
        )
    if any(tok.values()):
        runs = max((x.get("reruns", 0) for x in tok.values() if x), default=0)
        sessions = max((x.get("sessions", 0) for x in tok.values() if x), default=0)
        row(
            f"Client-credentials grants ({sessions} sign-ins, then {runs} reruns)",
            {s: str(tok[s].get("client_credentials_grants", "—")) for s in sizes},
            "1 per process",
        )
    person = {s: results["sizes"][s].get("person") or {} for s in sizes}
    if any(person.values()):
        row(
            "Requests: person page, cold / warm (user, roles, logs, locks, MFA at once)",
            {s: _pair(_req(person[s], "cold"), _req(person[s], "warm")) for s in sizes},
            f"≤ {PERSON_COLD_MAX} / 0",
        )
        row(
            "Person page cold, median ms (one request alone)",
            {
                s: f"{p['cold']['median_ms']:.0f} ({p['one_request']['median_ms']:.0f})" if p else "—"
                for s, p in person.items()
            },
            f"< {PERSON_WALL_MAX}x one request",
        )
    role = {s: results["sizes"][s].get("role_change") or {} for s in sizes}
    if any(role.values()):
        row(
            "Requests: role change, add / remove (then the one person's refetch)",
            {
                s: f"{r['add']['change']['requests']} + {r['add']['refetch']['requests']} / "
                f"{r['remove']['change']['requests']} + {r['remove']['refetch']['requests']}"
                if r
                else "—"
                for s, r in role.items()
            },
            f"{ROLE_CHANGE_MAX} + ≤ {PERSON_COLD_MAX}",
        )
        row(
            "Role change and refetch, median ms (add / remove)",
            {
                s: f"{r['add']['total']['median_ms']:.0f} / {r['remove']['total']['median_ms']:.0f}"
                if r
                else "—"
                for s, r in role.items()
            },
            "",
        )
    saves = {s: results["sizes"][s].get("metadata_save") or {} for s in sizes}
    if any(saves.values()):
        row(
            "Requests: metadata save / their page after it (PATCH + the person's read as the stale check / none)",
            {s: _pair(_req(saves[s], "save"), _req(saves[s], "refetch")) for s in sizes},
            "2 / 0",
        )
    if any(t.values()):
        for view, label, target in (
            ("grid", "Users grid (24 cards)", f"< {MEDIAN_MAX_MS:.0f} ms"),
            ("table", "Users table (100 rows)", f"< {MEDIAN_MAX_MS:.0f} ms"),
            ("chrome", "Users page, a search with no results (fixed cost: header, filters, pager)", ""),
            ("overview", "Overview", ""),
        ):
            cells = {s: _timing(t[s], view) for s in sizes}
            row(f"Warm rerun ms, median / p95: {label}", {s: c[0] for s, c in cells.items()}, target)
            if any(c[1] != "—" for c in cells.values()):
                row("&nbsp;&nbsp;floor (bare Streamlit), median / p95", {s: c[1] for s, c in cells.items()})
                row(
                    "&nbsp;&nbsp;ratio to the floor: median of paired reruns / p95 to p95",
                    {s: c[2] for s, c in cells.items()},
                )
            elements = {s: _get(t[s], view) for s in sizes if _get(t[s], view, "elements_floor")}
            if elements:
                row(
                    "&nbsp;&nbsp;the page's elements bare (menu, header, controls, cards or table, pager from "
                    "constants; Streamlit alone), median / p95",
                    {s: f"{r['elements_floor']['median_ms']:.1f} / {r['elements_floor']['p95_ms']:.1f}"
                     for s, r in elements.items()},
                )  # fmt: skip
                row(
                    "&nbsp;&nbsp;ratios, medians of paired reruns: those elements to the floor / the app to them",
                    {s: f"{r['elements_to_floor_median']:.2f}x / {r['ratio_to_elements_median']:.2f}x"
                     for s, r in elements.items()},
                    f"the app ≤ {PAGE_TO_ELEMENTS_MAX}x its elements",
                )  # fmt: skip
            steps = {
                s: _get(t[s], f"{view}_interactions") for s in sizes if _get(t[s], f"{view}_interactions")
            }
            for name in next(iter(steps.values()), {}):
                row(
                    f"&nbsp;&nbsp;listing interaction, a rerun of the listing alone: {name.replace('_', ' ')}; "
                    "ms median, listing / bare floor (paired ratio; to the listing's elements drawn bare)",
                    {s: f"{x[name]['app']['median_ms']:.1f} / {x[name]['floor']['median_ms']:.1f} "
                        f"({x[name]['ratio_median']:.2f}x; "
                        f"{x[name].get('ratio_to_elements_median', float('nan')):.2f}x its elements bare"
                        + (f"; {x[name]['ratio_to_pandas_floor_median']:.2f}x the bare table given a pandas "
                           "frame" if "ratio_to_pandas_floor_median" in x[name] else "")
                        + ")"
                     for s, x in steps.items()},
                    f"≤ {INTERACTION_MAX}x",
                )  # fmt: skip
    if browser.get("timings"):
        b = browser["timings"]
        row(
            "Browser: delete confirmed → toast, s (median; all)",
            {
                bsize: f"{b['delete_to_toast_median_s']:.2f}; "
                + ", ".join(f"{x:.2f}" for x in b["delete_to_toast_s"])
            },
            f"< {DELETE_TOAST_MAX_S:.0f} s",
        )
        warm = b.get("users_click_to_grid_warm_median_s")
        row(
            "Browser: 'Users' click → grid of 24, s (cold; warm median)",
            {bsize: f"{b['users_click_to_grid_cold_s']:.2f}; {warm:.2f}" if warm is not None else "—"},
            f"< {USERS_CLICK_MAX_S} s",
        )
    if browser.get("memory"):
        m = browser["memory"]
        n = m["sessions"]
        row("Server RSS, MB: 1 session (peak)", {bsize: f"{m['rss_1_mb']:.0f} ({m['peak_1_mb']:.0f})"})
        row(f"Server RSS, MB: {n} sessions (peak)", {bsize: f"{m['rss_n_mb']:.0f} ({m['peak_n_mb']:.0f})"})
        row(
            "RSS growth per additional session, MB",
            {bsize: f"{m['growth_per_session_mb']:.2f}"},
            f"< {RSS_GROWTH_MAX_MB:.0f} MB",
        )
    rows += bulk_markdown(results.get("bulk") or {})
    if sig:
        _signin_rows(sig, row, ssize)
    mach = results["machine"]
    lines = ["\n".join(rows), ""] if len(rows) > 2 else []  # `--only export`: no size columns
    if results.get("export"):
        e = results["export"]
        lines += [
            f"| Export of every user (issue 19) | {e['size']:,} users | Target |",
            "|---|---|---|",
            f"| Server RSS, MB: settled / peak during the export / growth | {e['settled_rss_mb']:.0f} / "
            f"{e['peak_rss_mb']:.0f} / {e['growth_mb']:.1f} | ≤ {EXPORT_RSS_GROWTH_MAX_MB:.0f} MB growth |",
            f"| Management API requests (create + polls; connection lookup) | {e['management_requests']} | |",
            f"| File: users, gzip MB | {e['users_in_file']:,}, {e['file_mb']:.1f} | |",
            f"| Click -> Download shown / file saved, s | {e['job_to_ready_s']:.0f} / {e['click_to_saved_s']:.0f} | |",
            "",
        ]
    if results.get("cluster"):
        lines += [cluster_markdown(results["cluster"]), ""]
    verdicts = results.get("targets") or []
    if verdicts:
        met = sum(1 for x in verdicts if x["met"])
        lines.append(f"Targets met: {met} of {len(verdicts)}. " + " ".join(
            f"{'✅' if x['met'] else '❌'} {x['target']}: {x['margin']}." for x in verdicts
        ))  # fmt: skip
        lines.append("")
    lines.append(
        f"Measured {results['taken_at']} on {mach['platform']}, {mach['cpu_count']} CPUs, Python {mach['python']}, "
        f"Streamlit {mach['streamlit']}; load average {mach.get('loadavg')} at the start, {mach.get('loadavg_end')} "
        f"at the end; dev tenant latency {results['settings']['latency_ms']} ms; {results['settings']['reruns']} "
        f"warm reruns per series; `make bench` took {results['seconds']:.0f} s. Warm-rerun times are the server's part "
        "of an AppTest run (its script runner's run: app.py and the page both run, as under `streamlit run`; not "
        "AppTest's walk of the previous tree, which stands in for the browser; buttons' untriggered states not "
        "sent, as the browser sends none), each series interleaved with its floors; a listing interaction's floors draw "
        "the same change, the view left then the view landed on (floors/step.py)."
    )
    return "\n".join(lines)
