"""Parts 1-3 of the bench, in-process with AppTest: requests per view, token grants, warm-rerun server time."""

from __future__ import annotations

import gc
import math
import re
import statistics
import time
from collections import Counter as Tally
from collections.abc import Callable

from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block
from streamlit.testing.v1.local_script_runner import LocalScriptRunner

from admin_core import runtime
from admin_core.auth import IDENTITY_KEY
from admin_core.domain import PAGE_SIZES, SEARCH_CAP, SORTS, UserQuery
from admin_core.overview import BUCKETS
from admin_core.support import Unavailable
from admin_core.ui import cards as card_ui
from admin_core.ui import chrome, listing
from admin_core.ui.chrome import md
from bench import floors
from bench.env import TIMEOUT, Counter, check, clear_app_caches, measure, sign_in, summary
from tests.support.fragments import LISTING, ROWS, rerun_fragment

USERS = "pages/users.py"
OVERVIEW = "pages/overview.py"
FLOOR_DIR = floors.__path__[0]


def total_users(at: AppTest) -> int:
    for m in at.markdown:
        found = re.search(r"· ([\d,]+) users", m.value)
        if found:
            return int(found[1].replace(",", ""))
    raise RuntimeError("the Users page shows no total")


def overview_budget(total: int) -> int:
    return min(math.ceil(total / 100) + 1, 30)


def _card_keys(at: AppTest, prefix: str) -> list[str]:
    return [b.key for b in at.button if b.key and b.key.startswith(prefix)]


# --- part 1: requests and wall time per view ------------------------------------------------------------


def requests_per_view(tenant) -> dict:
    """Cold and warm views of one session. 'Cold' = the process's listing cache (or Overview store) is
    empty for that view; the Management API token and JWKS are already held (sign-in fetched them)."""
    counter = Counter(tenant)
    clear_app_caches()
    out: dict = {}
    before = counter.snapshot()
    started = time.perf_counter()
    at = sign_in()
    out["sign_in"] = {
        "seconds": round(time.perf_counter() - started, 4),
        **Counter.delta(before, counter.snapshot()),
    }
    total = total_users(at)
    out["total_users"] = total

    def run():
        at.run(timeout=TIMEOUT)
        check(at, "view")

    # Users, page 1
    runtime.clear_listing()
    out["users_cold"] = measure(counter, run).as_json()
    out["users_warm"] = measure(counter, run).as_json()
    if len(_card_keys(at, "detail:")) != 24:
        raise RuntimeError(f"the grid shows {len(_card_keys(at, 'detail:'))} cards, not 24")

    # Next page (page 2 never seen: cold); then back to page 1 and Next again (warm)
    at.button(key="page.next").click()
    out["next_cold"] = measure(counter, run).as_json()
    at.button(key="page.prev").click().run()
    at.button(key="page.next").click()
    out["next_warm"] = measure(counter, run).as_json()
    at.button(key="page.prev").click().run()

    # Search: a 4-letter prefix of a shown email (cold), cleared, then the same search again (warm)
    email = next(c.value for c in at.caption if "@" in c.value)
    term = re.sub(r"[^a-z]", "", email.split("@")[0].lower())[:4] or "user"
    at.text_input(key="users.text").input(term)
    out["search_cold"] = measure(counter, run).as_json()
    at.text_input(key="users.text").input("").run()
    at.text_input(key="users.text").input(term)
    out["search_warm"] = measure(counter, run).as_json()
    out["search_term"] = term
    at.text_input(key="users.text").input("").run()

    # Overview: the first view of this process (its store is empty), then again
    at.switch_page(OVERVIEW)
    out["overview_cold"] = measure(counter, run).as_json()
    out["overview_warm"] = measure(counter, run).as_json()
    out["overview_budget"] = overview_budget(total)

    # Delete: open the dialog from a card, confirm; twice (the second with everything warm)
    at.switch_page(USERS)
    run()
    for label in ("delete_cold", "delete_warm"):
        key = _card_keys(at, "delete:")[0]
        at.button(key=key).click().run()
        at.button(key="confirm.delete").click()
        out[label] = measure(counter, run).as_json()
        toasts = [t.value for t in at.toast]
        if not any(t.startswith("Deleted") for t in toasts):
            raise RuntimeError(f"no 'Deleted' toast after the delete: {toasts}")
        if key in _card_keys(at, "delete:"):
            raise RuntimeError("the deleted user is still on the page")
    return out


# --- part 2: token grants ---------------------------------------------------------------------------


def token_grants(tenant, *, sessions: int = 5, reruns: int = 40) -> dict:
    """Client-credentials grants while `sessions` sessions sign in and rerun the Users page `reruns` times
    each (round robin), starting from empty process caches."""
    counter = Counter(tenant)
    clear_app_caches()
    start = counter.snapshot()
    apps = [sign_in() for _ in range(sessions)]
    after_sign_in = counter.snapshot()
    for _ in range(reruns):
        for at in apps:
            at.run(timeout=TIMEOUT)
            check(at, "rerun")
    end = counter.snapshot()
    total = Counter.delta(start, end)
    during = Counter.delta(after_sign_in, end)
    return {
        "sessions": sessions,
        "reruns": sessions * reruns,
        "client_credentials_grants": total["token_grants"].get("client_credentials", 0),
        "client_credentials_grants_during_reruns": during["token_grants"].get("client_credentials", 0),
        "management_requests_during_reruns": during["management_requests"],
    }


# --- the server's part of an AppTest run ---------------------------------------------------------------


class ScriptRunClock:
    """The server's time of AppTest runs, for the app and its floors alike.

    Timed: `LocalScriptRunner.run` alone (the widget states handed to the runner, the script, the messages
    it sends and their parse), not what AppTest does before it to stand in for the browser: walking the
    previous run's element tree for the widget states and for upload widgets. The server never walks a
    tree, and that walk grows with what the previous run drew: after the grid of 100 cards it was ~100 ms,
    which the listing's view switch (grid -> table) was charged and its floor (after a bare table) was not.

    Sent: the widget states as the browser sends them. AppTest sends every button's trigger as `False`
    (300 of them after the grid of 100 cards, each compared and reset by the server: ~20 ms); the browser
    sends a trigger only for the button pressed and forgets it after sending (its WidgetStateManager's
    `pendingTriggerIds`), so untriggered buttons are left out here.
    """

    def __init__(self) -> None:
        self.last: float | None = None
        self._saved: Callable | None = None

    def __enter__(self) -> ScriptRunClock:
        original = LocalScriptRunner.run
        self._saved = original
        clock = self

        def run(runner, widget_state=None, *args, **kwargs):
            if widget_state is not None:
                widget_state = _as_the_browser_sends(widget_state)
            started = time.perf_counter()
            try:
                return original(runner, widget_state, *args, **kwargs)
            finally:
                clock.last = time.perf_counter() - started

        LocalScriptRunner.run = run  # type: ignore[method-assign]
        return self

    def __exit__(self, *_exc) -> None:
        LocalScriptRunner.run = self._saved  # type: ignore[method-assign]

    def time(self, action: Callable[[], object]) -> float:
        """Run `action` (one AppTest run) and return its server time in seconds."""
        self.last = None
        action()
        if self.last is None:
            raise RuntimeError("no script run was timed")
        return self.last


def _as_the_browser_sends(states: WidgetStates) -> WidgetStates:
    """`states` without the triggers that did not fire (see ScriptRunClock)."""
    sent = WidgetStates()
    for state in states.widgets:
        if state.WhichOneof("value") == "trigger_value" and not state.trigger_value:
            continue
        sent.widgets.append(state)
    return sent


CLOCK = ScriptRunClock()  # entered for the whole of warm_reruns


# --- part 3: warm rerun server time vs the floor --------------------------------------------------------


def _grid_floor_data(at: AppTest, page) -> dict:
    identity = at.session_state[IDENTITY_KEY]
    prepared = []
    for user in page.users:
        is_self = user.user_id == identity.sub
        badges = [f":gray-badge[{md(user.connection or 'unknown connection')}]"]
        if user.blocked:
            badges.insert(0, ":red-badge[:material/block: Blocked]")
        verified = " :green[:material/verified:]" if user.email_verified else ""
        buttons = [("Details", f"detail:{user.user_id}", "secondary")]
        if identity.can_change and not is_self:
            buttons += [
                ("Unblock" if user.blocked else "Block", f"block:{user.user_id}", "secondary"),
                ("Delete", f"delete:{user.user_id}", "primary"),
            ]
        prepared.append(
            {
                "id": user.user_id,
                "avatar": card_ui.avatar(user),
                "name": f"**{md(card_ui.clip(user.display_name))}**",
                "name_help": md(user.display_name) if len(user.display_name) > card_ui.NAME_LIMIT else None,
                "container_key": f"user-card-{card_ui._key(user.user_id)}",
                "email": f"{md(card_ui.clip(user.email or 'no email', 80))}{verified}",
                "badges": " ".join(badges),
                "login": f"Last login **{card_ui.relative_time(user.last_login)}** · {user.logins_count or 0} logins",
                "created": f"Created {user.created_at:%Y-%m-%d}" if user.created_at else "Created: unknown",
                "buttons": buttons,
            }
        )
    return {"cards": prepared}


def _frame_floor_data(at: AppTest) -> dict:
    """Constants for floors.in_app_frame: the header and banner strings the app computes."""
    return {
        "style": chrome.STYLE,
        "who": chrome.who(at.session_state[IDENTITY_KEY]),
        "banner": chrome.dev_banner_text(runtime.get_settings()),
    }


def _table_page_floor_data(at: AppTest, page) -> dict:
    """Constants for floors/table_page.py: the strings the app computes for the same view."""
    reachable = min(page.total, SEARCH_CAP)
    return {
        **_frame_floor_data(at),
        "lucene_help": listing.LUCENE_HELP,
        "connections": ["", *listing.KNOWN_CONNECTIONS],
        "sorts": {key: label for key, (_, label) in SORTS.items()},
        "sizes": list(PAGE_SIZES),
        "pager": f"Page **1** of **{page.page_count}** · {page.total:,} users",
        "export": f"Export {'all ' if reachable > len(page.users) else ''}{reachable:,} results as CSV",
        # Shown when a search has over 1,000 results: the app's own words, as it rendered them.
        "capped": [c.value for c in at.caption if c.value.startswith("Auth0 shows only")],
    }


def _overview_floor_data(at: AppTest) -> dict | None:
    """Constants for floors/overview.py: the figures the app shows, and its captions and metric texts as it
    rendered them (so the floor formats nothing)."""
    store = runtime.get_overview_store()
    figures = store.fresh() if store is not None else None
    if figures is None:
        return None
    return {
        **_frame_floor_data(at),
        "figures": figures,
        "buckets": list(BUCKETS),
        "captions": [c.value for c in at.caption],
        "metrics": [(m.label, m.value, m.proto.help or None) for m in at.metric],
    }


def _elements(at: AppTest) -> list[tuple[str, str]]:
    """Every element a run rendered, as (type, label or value); tables by their shape."""
    out: list[tuple[str, str]] = []

    def walk(node) -> None:
        if isinstance(node, Block):
            for child in node.children.values():
                walk(child)
            return
        text = getattr(node, "label", None) or getattr(node, "value", None)
        if hasattr(text, "shape"):
            text = f"shape {text.shape}"
        # A card's "Last login **12 minutes ago**" moves on while a series runs; the floor's is fixed.
        text = re.sub(r"^Last login \*\*.*?\*\*", "Last login **…**", str(text))
        out.append((node.type, text[:80]))

    walk(at._tree)
    return out


def _check_same_elements(app: AppTest, floor: AppTest, name: str) -> None:
    """A floor must render what the app renders, else its time means nothing."""
    mine, theirs = sorted(_elements(app)), sorted(_elements(floor))
    if mine != theirs:
        more, fewer = Tally(mine) - Tally(theirs), Tally(theirs) - Tally(mine)
        differ = f"the app has more of {sorted(more.items())}, the floor more of {sorted(fewer.items())}"
        raise RuntimeError(f"floors/{name} renders other elements than the app: {differ}")


def _paired_ratio(times: list[float], floor_times: list[float]) -> float:
    """Each app rerun against the floor rerun right after it, then the median of those ratios: load from
    elsewhere on the machine drifts over a series, and a pair shares it."""
    return round(statistics.median(a / f for a, f in zip(times, floor_times, strict=True)), 2)


def _series(
    counter: Counter, app: AppTest, floor: AppTest | None, reruns: int, *, elements: AppTest | None = None
) -> dict:
    """`reruns` warm reruns of the app's page and of its floor (and of its elements floor, if given),
    interleaved (so load from elsewhere on the machine hits all alike). The app's reruns must cost no
    request (checked)."""
    others = [t for t in (floor, elements) if t is not None]
    for _ in range(3):  # warm up all (imports, first serialisations, the listing cache)
        app.run(timeout=TIMEOUT)
        for other in others:
            other.run(timeout=TIMEOUT)
    check(app, "warm-up")
    app_times: list[float] = []
    times: dict[int, list[float]] = {id(other): [] for other in others}
    before = counter.snapshot()
    gc.collect()
    for _ in range(reruns):
        app_times.append(CLOCK.time(lambda: app.run(timeout=TIMEOUT)))
        for other in others:
            times[id(other)].append(CLOCK.time(lambda other=other: other.run(timeout=TIMEOUT)))
    check(app, "warm rerun")
    requests = Counter.delta(before, counter.snapshot())["management_requests"]
    out = {"app": summary(app_times), "requests_during": requests}
    if floor is not None:
        check(floor, "floor")
        floor_times = times[id(floor)]
        out["floor"] = summary(floor_times)
        out["ratio_median"] = _paired_ratio(app_times, floor_times)
        out["ratio_of_medians"] = round(out["app"]["median_ms"] / out["floor"]["median_ms"], 2)
        out["ratio_p95"] = round(out["app"]["p95_ms"] / out["floor"]["p95_ms"], 2)
    if elements is not None:
        check(elements, "elements floor")
        element_times = times[id(elements)]
        out["elements_floor"] = summary(element_times)
        # What the app adds to Streamlit's cost of the same elements, and what those elements cost next to
        # the bare floor (Streamlit alone, no app code at all).
        out["ratio_to_elements_median"] = _paired_ratio(app_times, element_times)
        if floor is not None:
            out["elements_to_floor_median"] = _paired_ratio(element_times, times[id(floor)])
    return out


def warm_reruns(tenant, *, reruns: int = 30) -> dict:
    with CLOCK:
        return _warm_reruns(tenant, reruns=reruns)


def _warm_reruns(tenant, *, reruns: int) -> dict:
    counter = Counter(tenant)
    clear_app_caches()
    at = sign_in()
    out: dict = {}

    # Grid of 24 (page 1, default sort): the whole page next to the bare cards and to the page's elements
    at.run(timeout=TIMEOUT)
    page = runtime.list_users(UserQuery(per_page=24))
    floors.DATA.clear()
    floors.DATA.update(_grid_floor_data(at, page))
    floors.DATA.update(_table_page_floor_data(at, page))
    grid_floor = AppTest.from_file(f"{FLOOR_DIR}/grid.py", default_timeout=TIMEOUT)
    grid_page_floor = AppTest.from_file(f"{FLOOR_DIR}/grid_page.py", default_timeout=TIMEOUT)
    out["grid"] = _series(counter, at, grid_floor, reruns, elements=grid_page_floor)
    if len(_card_keys(at, "detail:")) != 24 or len(_card_keys(grid_floor, "detail:")) != 24:
        raise RuntimeError("the grid or its floor does not show 24 cards")
    _check_same_elements(at, grid_page_floor, "grid_page.py")
    # The listing's own interactions, each a rerun of the listing alone, next to the bare cards
    floors.DATA["columns"] = card_ui.TABLE_COLUMNS

    def cards(query: UserQuery) -> FloorView:
        return ("grid", _grid_floor_data(at, runtime.list_users(query))["cards"])

    first = cards(UserQuery(per_page=24))
    views: dict[str, tuple[FloorView | None, FloorView]] = {  # (the view left, the view landed on)
        "next_page": (first, cards(UserQuery(page=1, per_page=24))),
        "previous_page": (cards(UserQuery(page=1, per_page=24)), first),
        "sort": (cards(UserQuery(sort="email", per_page=24)), first),
        "per_page": (cards(UserQuery(per_page=50)), first),
        "view_switch": (("table", card_ui.users_table(page.users)), first),
        "open_dialog": (None, first),  # the floors draw no dialog: the app's run draws it besides
        "close_dialog": (first, first),
    }
    out["grid_interactions"] = listing_interactions(
        counter, at, *_step_floors(), reruns, GRID_STEPS, views=views
    )

    # Table of 100 (?view=table&size=100)
    at.query_params["view"] = "table"
    at.query_params["size"] = "100"
    at.run(timeout=TIMEOUT)
    page = runtime.list_users(UserQuery(per_page=100))
    floors.DATA.clear()
    # The same argument the app gives st.dataframe: the page's rows as an Arrow table (cards.users_table).
    floors.DATA.update(frame=card_ui.users_table(page.users), columns=card_ui.TABLE_COLUMNS)
    floors.DATA.update(_table_page_floor_data(at, page))
    table_floor = AppTest.from_file(f"{FLOOR_DIR}/table.py", default_timeout=TIMEOUT)
    elements_floor = AppTest.from_file(f"{FLOOR_DIR}/table_page.py", default_timeout=TIMEOUT)
    out["table"] = _series(counter, at, table_floor, reruns, elements=elements_floor)
    if at.dataframe[0].value.shape[0] != 100 or elements_floor.dataframe[0].value.shape[0] != 100:
        raise RuntimeError("the table or its elements floor does not show 100 rows")
    _check_same_elements(at, elements_floor, "table_page.py")
    floors.DATA["pandas_frame"] = card_ui.users_frame(page.users)  # one frame, reused (table_frame.py)
    rows: FloorView = ("table", floors.DATA["frame"])
    hundred: FloorView = ("grid", _grid_floor_data(at, page)["cards"])  # the same page as 100 cards
    ticked: FloorView = ("rows", floors.DATA["frame"])  # a tick reruns the table's fragment alone
    views = {"view_switch": (hundred, rows), "tick_rows": (ticked, ticked), "untick_rows": (ticked, ticked)}
    out["table_interactions"] = listing_interactions(
        counter,
        at,
        *_step_floors(),
        reruns,
        TABLE_STEPS,
        views=views,
        pandas_floor=AppTest.from_file(f"{FLOOR_DIR}/table_frame.py", default_timeout=TIMEOUT),
    )
    at.run(timeout=TIMEOUT)  # the whole page again (a listing's rerun leaves AppTest a tree of the listing)

    # The page's fixed cost: menu, header, search, filters, view switch, pager; no listing shown.
    at.text_input(key="users.text").input("zzqxj-no-such-user").run()
    out["chrome"] = _series(counter, at, None, reruns)
    if not any("No users match" in i.value for i in at.info):
        raise RuntimeError("the search meant to match nobody matched someone")
    at.text_input(key="users.text").input("").run()
    del at.query_params["view"]
    del at.query_params["size"]

    # Overview (the figures are gathered once, then warm)
    at.switch_page(OVERVIEW)
    at.run(timeout=TIMEOUT)
    check(at, "overview")
    data = _overview_floor_data(at)
    floor = None
    if data is not None:
        floors.DATA.clear()
        floors.DATA.update(data)
        floor = AppTest.from_file(f"{FLOOR_DIR}/overview.py", default_timeout=TIMEOUT)
    out["overview"] = _series(counter, at, floor, reruns)
    if floor is not None:
        _check_same_elements(at, floor, "overview.py")
    floors.DATA.clear()
    return out


# --- part 3b: the listing's own interactions, each a rerun of the listing fragment alone -------------------

# Each step is (name, away, back): `away` and `back` set a widget on the listing's tree; only the rerun after
# `back` is timed, and it lands on the view its floor draws (24 cards of page 1 or 2, or the 100-row table),
# so the pair compares like with like (paging: pages 1 and 2 are both 24 cards). Opening a dialog is timed with the dialog drawn; closing it (its X or Escape: the
# callback forgets the dialog and reruns the listing) is timed as that listing rerun.
# The fourth item is the fragment the browser reruns for that widget: the listing, or the table's own rows
# (a fragment inside the listing: ticking rows reruns only the table and what ticking changes).
Step = tuple[str, Callable[[AppTest], None] | None, Callable[[AppTest], None], str]


def _click(key: str) -> Callable[[AppTest], None]:
    return lambda at: at.button(key=key).click()  # type: ignore[func-returns-value]


def _back_to_first_page(at: AppTest) -> None:
    if not at.button(key="page.prev").disabled:
        at.button(key="page.prev").click()


def _select(key: str, value) -> Callable[[AppTest], None]:
    return lambda at: at.selectbox(key=key).set_value(value)  # type: ignore[func-returns-value]


def _view(value: str) -> Callable[[AppTest], None]:
    return lambda at: at.segmented_control(key="users.view").set_value(value)  # type: ignore[func-returns-value]


def _tick(rows: list[int]) -> Callable[[AppTest], None]:
    def tick(at: AppTest) -> None:
        at.session_state["users.table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}

    return tick


def _open_first_dialog(at: AppTest) -> None:
    at.button(key=_card_keys(at, "delete:")[0]).click()


def _dismiss_dialog(at: AppTest) -> None:
    # What the dismissal's callback does (pages/users.py `dismissed`) before the listing's rerun.
    del at.session_state["users.confirm_delete"]


GRID_STEPS: list[Step] = [
    ("next_page", _back_to_first_page, _click("page.next"), LISTING),  # page 1 -> 2 is timed
    ("previous_page", _click("page.next"), _click("page.prev"), LISTING),
    ("sort", _select("users.sort", "email"), _select("users.sort", "last_login"), LISTING),
    ("per_page", _select("users.size", 50), _select("users.size", 24), LISTING),
    ("view_switch", _view("table"), _view("grid"), LISTING),
    ("open_dialog", _dismiss_dialog, _open_first_dialog, LISTING),
    ("close_dialog", _open_first_dialog, _dismiss_dialog, LISTING),
]
TABLE_STEPS: list[Step] = [
    ("view_switch", _view("grid"), _view("table"), LISTING),
    ("tick_rows", _tick([]), _tick([1, 2]), ROWS),
    ("untick_rows", _tick([1, 2]), _tick([]), ROWS),
]


FloorView = tuple[str, object]  # ("grid", cards' strings), ("table" or "rows", the rows): floors/step.py


def _step_floors() -> tuple[AppTest, AppTest]:
    """The bare listing floor and the listing's elements floor of the interactions (floors/step.py,
    step_listing.py): new sessions for each view, so each pairs with the app's session."""
    return (
        AppTest.from_file(f"{FLOOR_DIR}/step.py", default_timeout=TIMEOUT),
        AppTest.from_file(f"{FLOOR_DIR}/step_listing.py", default_timeout=TIMEOUT),
    )


def listing_interactions(
    counter: Counter,
    at: AppTest,
    floor: AppTest,
    elements: AppTest,
    reruns: int,
    steps: list[Step],
    *,
    views: dict[str, tuple[FloorView | None, FloorView]],
    pandas_floor: AppTest | None = None,
) -> dict:
    """Each step's timed rerun of the listing alone, paired with a rerun of the bare listing floor (the 24
    cards or the 100-row table: the target's yardstick) and of the listing's own elements drawn bare (its
    row of controls, the cards or table, the pager, the export: what Streamlit alone costs for the same
    output). Checks that every timed run was the listing's alone (the page's run count unchanged); counts
    the Management API requests made meanwhile (0 while the listing cache is warm)."""
    out: dict = {}
    for name, away, back, fragment in steps:
        if name == "open_dialog":
            away = None  # starts closed
        # Each step is paired with the same change drawn bare: the view it leaves (untimed), then the view
        # it lands on (timed), as the app's run is timed.
        left, landed = views[name]
        app_times: list[float] = []
        floor_times: list[float] = []
        element_times: list[float] = []
        pandas_times: list[float] = []
        before = None
        for i in range(reruns + 2):  # the first two warm the views (page 2, another sort) and are not kept
            if away is not None:
                away(at)
                rerun_fragment(at, fragment, timeout=TIMEOUT)
            back(at)
            if i == 2:
                before = counter.snapshot()
            page_runs = at.session_state[listing.RUNS_KEY]["page"]
            elapsed = CLOCK.time(lambda fragment=fragment: rerun_fragment(at, fragment, timeout=TIMEOUT))
            check(at, name)
            if at.session_state[listing.RUNS_KEY]["page"] != page_runs:
                raise RuntimeError(f"{name}: the page ran, not the listing alone")
            if left is not None:
                floors.DATA["step"] = left
                floor.run(timeout=TIMEOUT)
                elements.run(timeout=TIMEOUT)
            floors.DATA["step"] = landed
            floor_elapsed = CLOCK.time(lambda: floor.run(timeout=TIMEOUT))
            elements_elapsed = CLOCK.time(lambda: elements.run(timeout=TIMEOUT))
            if pandas_floor is not None and left == landed:
                pandas_elapsed = CLOCK.time(lambda: pandas_floor.run(timeout=TIMEOUT))
            if i >= 2:
                app_times.append(elapsed)
                floor_times.append(floor_elapsed)
                element_times.append(elements_elapsed)
                if pandas_floor is not None and left == landed:
                    pandas_times.append(pandas_elapsed)
            if name == "open_dialog":
                _dismiss_dialog(at)
                rerun_fragment(at, timeout=TIMEOUT)
        requests = Counter.delta(before or counter.snapshot(), counter.snapshot())["management_requests"]
        out[name] = {
            "app": summary(app_times),
            "floor": summary(floor_times),
            "ratio_median": _paired_ratio(app_times, floor_times),
            "elements_floor": summary(element_times),
            "ratio_to_elements_median": _paired_ratio(app_times, element_times),
            "requests_during": requests,
        }
        if pandas_times:
            out[name]["pandas_floor"] = summary(pandas_times)
            out[name]["ratio_to_pandas_floor_median"] = _paired_ratio(app_times, pandas_times)
    return out


# --- the person's page (support desk): its file, cold and warm ------------------------------------------


def person_file_cost(tenant, *, rounds: int = 5) -> dict:
    """`runtime.person_file` (what the person's page reads) cold and warm, next to one request alone.

    One request = `GET /api/v2/users/{id}` by itself, token in hand (the yardstick: a cold file issues its
    five requests at once, so it should take about as long as the slowest, well under twice one). Medians
    over `rounds` different people, each cold (never read before) then warm.
    """
    counter = Counter(tenant)
    clear_app_caches()
    directory = runtime.get_directory()
    staff = {"admin@example.com", "viewer@example.com", "staff@example.com"}
    people = [u["user_id"] for u in tenant.users() if u.get("email") not in staff][: rounds * 2]
    directory.get_user(people[0])  # the token fetched, so no round below pays for it
    single = [measure(counter, lambda u=u: directory.get_user(u)) for u in people[rounds:]]
    cold, warm = [], []
    for user_id in people[:rounds]:
        cold.append(measure(counter, lambda u=user_id: runtime.person_file(u)))
        warm.append(measure(counter, lambda u=user_id: runtime.person_file(u)))
    file = runtime.person_file(people[0])
    unavailable = [
        name for name in ("roles", "logs", "blocks", "mfa") if isinstance(getattr(file, name), Unavailable)
    ]
    return {
        "one_request": {"requests": max(m.requests for m in single), **summary([m.seconds for m in single])},
        "cold": {"requests": max(m.requests for m in cold), **summary([m.seconds for m in cold])},
        "warm": {"requests": max(m.requests for m in warm), **summary([m.seconds for m in warm])},
        "cold_detail": cold[0].detail,
        "unavailable_sections": unavailable,
    }
