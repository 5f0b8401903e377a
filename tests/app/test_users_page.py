"""The Users page against the dev tenant over real HTTP (AppTest)."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from admin_core.auth import IDENTITY_KEY
from admin_core.auth0.users import Directory
from admin_core.errors import NotAllowed
from tests.support.app_env import ROOT, app_environment, clear_app_caches
from tests.support.browserless import FakePopup
from tests.support.devtenant_proc import DevTenant
from tests.support.markdown import visible

STAFF = {"admin@example.com", "viewer@example.com", "staff@example.com"}


def list_requests(tenant) -> int:
    return tenant.stats()["requests"].get("GET /api/v2/users", 0)


def last_search(tenant) -> dict[str, str]:
    """The query parameters of the latest user listing the dev tenant answered (literally as sent)."""
    return tenant.stats()["last_query"]["GET /api/v2/users"]


def infos(at: AppTest) -> list[str]:
    """The page's own st.info messages (app.py's header adds the dev tenant banner on every run)."""
    return [i.value for i in at.info if not i.value.startswith("Local dev tenant at ")]


def card_names(at: AppTest) -> list[str]:
    return [m.value.strip("*") for m in at.markdown if m.value.startswith("**") and m.value.endswith("**")]


def delete_buttons(at: AppTest) -> list[str]:
    return [b.key for b in at.button if b.key and b.key.startswith("delete:")]


def search(at: AppTest, text: str) -> AppTest:
    return at.text_input(key="users.text").input(text).run()


def find(tenant, predicate) -> dict:
    return next(u for u in tenant.users() if u.get("email") not in STAFF and predicate(u))


def test_grid_shows_24_cards_with_actions_for_admins_but_not_on_their_own_card(sign_in, fresh_tenant):
    at = sign_in("admin")
    assert len([b for b in at.button if b.key and b.key.startswith("detail:")]) == 24
    assert len(delete_buttons(at)) == 23  # the admin's own card (newest login) has none
    admin_id = at.session_state[IDENTITY_KEY].sub
    assert f"delete:{admin_id}" not in delete_buttons(at) and f"block:{admin_id}" not in [
        b.key for b in at.button
    ]
    assert any("Page **1** of **7** · 153 users" in m.value for m in at.markdown)


def test_viewer_sees_cards_but_no_change_controls(sign_in):
    at = sign_in("viewer")
    assert len([b for b in at.button if b.key and b.key.startswith("detail:")]) == 24
    assert not [b for b in at.button if b.key and b.key.startswith(("delete:", "block:", "bulk."))]


def avatar_sources(at: AppTest) -> list[str]:
    """What each st.image shows: an http(s) URL, or the decoded SVG markup of an initials avatar."""
    import base64

    out = []
    for image in at.get("image"):
        url = image.proto.imgs[0].url
        prefix = "data:image/svg+xml;base64,"
        out.append(base64.b64decode(url[len(prefix) :]).decode() if url.startswith(prefix) else url)
    return out


def test_card_for_a_user_without_name_who_never_logged_in(sign_in, fresh_tenant):
    # A nickname of letters only, so the expected card title is the nickname as typed (no Markdown escapes).
    user = find(
        fresh_tenant,
        lambda u: "name" not in u and "last_login" not in u and (u.get("nickname") or "").isalpha(),
    )
    at = search(sign_in("admin"), user["email"])
    assert card_names(at) == [user["nickname"]]  # no name: the nickname
    assert any(m.value.startswith("Last login **never** · 0 logins") for m in at.markdown)


def test_card_without_picture_shows_initials(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: "picture" not in u and u.get("name"))
    at = search(sign_in("admin"), user["email"])
    (source,) = avatar_sources(at)
    assert "<svg" in source and ">" + "".join(p[0] for p in user["name"].split()[:2]).upper() + "<" in source


def test_blocked_user_card_has_badge_and_unblock(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: u.get("blocked"))
    at = search(sign_in("admin"), user["email"])
    assert any("Blocked" in m.value for m in at.markdown)
    assert at.button(key=f"block:{user['user_id']}").label == "Unblock"


def test_paging_costs_one_list_request_per_page_and_none_when_warm(sign_in, fresh_tenant):
    at = sign_in("admin")
    assert list_requests(fresh_tenant) == 1
    at.button(key="page.next").click().run()
    assert list_requests(fresh_tenant) == 2
    assert any("Page **2** of **7**" in m.value for m in at.markdown)
    at.run()
    at.run()
    assert list_requests(fresh_tenant) == 2
    at.button(key="page.prev").click().run()
    assert list_requests(fresh_tenant) == 2  # page 1 is still cached
    assert fresh_tenant.stats()["token_grants"]["client_credentials"] == 1


def test_search_escapes_lucene_so_operators_find_nothing_extra(sign_in, fresh_tenant):
    # Lowercasing leaves "*" and ":" as they are: unescaped, "mar*" and "blocked:true" would find people.
    at = search(sign_in("admin"), "Mar* OR blocked:true")
    assert last_search(fresh_tenant)["q"] == (
        r"(email:mar\*\ or\ blocked\:true* OR name:mar\*\ or\ blocked\:true* OR nickname:mar\*\ or\ blocked\:true*)"
    )
    assert not delete_buttons(at)
    assert infos(at) == [
        "No users match. Widen the search: fewer characters, no filters, or switch off Advanced."
    ]


def test_plain_search_finds_by_email_prefix(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: "name" in u)
    at = search(sign_in("admin"), user["email"][:12])
    ids = [b.key.split(":", 1)[1] for b in at.button if b.key and b.key.startswith("detail:")]
    assert user["user_id"] in ids
    everyone = {u["user_id"]: u for u in fresh_tenant.users()}
    prefix = user["email"][:12].lower()
    for user_id in ids:
        u = everyone[user_id]
        assert any((u.get(f) or "").lower().startswith(prefix) for f in ("email", "name", "nickname"))


def test_advanced_lucene_and_its_syntax_errors(sign_in, fresh_tenant):
    at = sign_in("admin")
    at.toggle(key="users.advanced").set_value(True).run()
    at = search(at, "blocked:true")
    blocked = [u for u in fresh_tenant.users() if u.get("blocked")]
    assert any(f"{len(blocked)} users" in m.value for m in at.markdown)
    at = search(at, "email:(unclosed")
    assert any("could not understand that search" in e.value for e in at.error)
    at = search(at, "")
    assert not at.error


def test_the_widgets_write_the_view_to_the_url(sign_in):
    at = sign_in("admin")
    assert at.query_params == {}
    at = search(at, "mar")
    assert at.query_params == {"text": "mar"}
    at = search(at, "")
    at.checkbox(key="users.never").check().run()
    assert at.query_params == {"never": "1"}
    at.segmented_control(key="users.view").set_value("table").run()
    assert at.query_params == {"never": "1", "view": "table"}
    at.checkbox(key="users.never").uncheck().run()
    at.selectbox(key="users.sort").set_value("email").run()
    assert at.query_params == {"sort": "email", "view": "table"}
    at.button(key="page.next").click().run()
    assert at.query_params == {"sort": "email", "view": "table", "page": "1"}
    at.selectbox(key="users.size").set_value(50).run()
    assert at.query_params == {"sort": "email", "view": "table", "size": "50"}  # back to page 1


def test_filters_and_state_live_in_query_params(app_env, monkeypatch):
    FakePopup(email="admin@example.com").install(monkeypatch)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.query_params.update({"blocked": "1", "view": "table", "sort": "email"})
    at.run()
    assert at.checkbox(key="users.blocked").value is True
    frame = at.dataframe[0].value
    assert frame["blocked"].all()
    assert list(frame["email"]) == sorted(frame["email"])
    assert at.query_params["blocked"] == ["1"] or at.query_params["blocked"] == "1"


def test_a_full_rerun_after_an_interaction_keeps_the_gate_and_the_header(sign_in):
    # AppTest reruns the whole script (app.py, then the page) on every interaction; in the browser paging
    # reruns only the listing fragment (tests/app/test_listing_fragment.py counts that).
    at = sign_in("admin")
    at.button(key="page.next").click().run()
    assert any("Page **2** of **7**" in m.value for m in at.markdown)
    assert at.button(key="header.logout").label == "Log out"  # the header, drawn by app.py
    at = search(at, "mar")
    assert at.button(key="header.logout").label == "Log out"


def test_a_typed_link_with_q_searches_too(app_env, monkeypatch):
    FakePopup(email="admin@example.com").install(monkeypatch)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.query_params.update({"q": "ada"})
    at.run()
    assert at.text_input(key="users.text").value == "ada"
    assert card_names(at) == ["Ada Admin"]
    assert at.query_params == {"text": "ada"}


def test_table_view_columns(sign_in):
    at = sign_in("admin")
    at.query_params["view"] = "table"
    at.session_state["users.loaded_params"] = None
    at.run()
    frame = at.dataframe[0].value
    assert list(frame.columns) == [
        "avatar", "name", "email", "verified", "connection", "last_login", "logins", "created", "blocked", "user_id"
    ]  # fmt: skip
    assert len(frame) == 24


def test_delete_flow_with_dialog_and_toast(sign_in, fresh_tenant):
    at = sign_in("admin")
    target = next(k for k in delete_buttons(at)).split(":", 1)[1]
    email = next(u["email"] for u in fresh_tenant.users() if u["user_id"] == target)
    at.button(key=f"delete:{target}").click().run()
    # The id's part after "auth0|" is letters and digits: found as typed whatever the Markdown escaping.
    assert any("user_id: auth0" in m.value and target.split("|", 1)[1] in m.value for m in at.markdown)
    assert fresh_tenant.stats()["requests"].get("DELETE /api/v2/users/{id}", 0) == 0
    at.button(key="confirm.delete").click().run()
    assert [visible(t.value) for t in at.toast] == [f"Deleted {email}"]
    assert target not in {u["user_id"] for u in fresh_tenant.users()}
    assert f"delete:{target}" not in delete_buttons(at)


def test_a_delete_refreshes_the_other_views_seen_before(sign_in, fresh_tenant):
    at = sign_in("admin")
    target = delete_buttons(at)[0].split(":", 1)[1]
    email = next(u["email"] for u in fresh_tenant.users() if u["user_id"] == target)
    at = search(at, email)  # a second cached view holding the user
    assert delete_buttons(at) == [f"delete:{target}"]
    at = search(at, "")  # back to the first page (cached)
    before = list_requests(fresh_tenant)
    at.button(key=f"delete:{target}").click().run()
    at.button(key="confirm.delete").click().run()
    assert list_requests(fresh_tenant) - before == 1  # the page shown, asked again
    at = search(at, email)
    assert list_requests(fresh_tenant) - before == 2  # the search seen before is asked again, not cached
    assert delete_buttons(at) == []
    assert infos(at) == [
        "No users match. Widen the search: fewer characters, no filters, or switch off Advanced."
    ]


def test_a_block_refreshes_the_other_views_seen_before(sign_in, fresh_tenant):
    at = sign_in("admin")
    page_one = [k.split(":", 1)[1] for k in delete_buttons(at)]
    user = next(u for u in fresh_tenant.users() if u["user_id"] in page_one and not u.get("blocked"))
    at = search(at, user["email"])
    assert at.button(key=f"block:{user['user_id']}").label == "Block"
    at = search(at, "")
    before = list_requests(fresh_tenant)
    at.button(key=f"block:{user['user_id']}").click().run()
    assert [visible(t.value) for t in at.toast] == [f"Blocked {user['email']}"]
    assert list_requests(fresh_tenant) - before == 1
    at = search(at, user["email"])
    assert list_requests(fresh_tenant) - before == 2
    assert at.button(key=f"block:{user['user_id']}").label == "Unblock"


def test_cancel_deletes_nothing(sign_in, fresh_tenant):
    at = sign_in("admin")
    target = delete_buttons(at)[0].split(":", 1)[1]
    at.button(key=f"delete:{target}").click().run()
    at.button(key="confirm.cancel").click().run()
    assert fresh_tenant.stats()["requests"].get("DELETE /api/v2/users/{id}", 0) == 0
    assert target in {u["user_id"] for u in fresh_tenant.users()}


def test_bulk_delete_of_three_from_the_table(sign_in, fresh_tenant):
    at = sign_in("admin")
    at.query_params["view"] = "table"
    at.session_state["users.loaded_params"] = None
    at.run()
    frame = at.dataframe[0].value
    admin_id = at.session_state[IDENTITY_KEY].sub
    rows = [i for i, uid in enumerate(frame["user_id"]) if uid != admin_id][:3]
    chosen = [frame["user_id"][i] for i in rows]
    at.session_state["users.table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    at.run()
    at.button(key="bulk.delete").click().run()
    at.button(key="confirm.delete").click().run()
    assert [t.value for t in at.toast] == ["Deleted 3 users"]
    remaining = {u["user_id"] for u in fresh_tenant.users()}
    assert not set(chosen) & remaining
    assert len(remaining) == 150


def test_block_and_unblock(sign_in, fresh_tenant):
    at = sign_in("admin")
    user = find(fresh_tenant, lambda u: not u.get("blocked"))
    at = search(at, user["email"])
    at.button(key=f"block:{user['user_id']}").click().run()
    assert [visible(t.value) for t in at.toast] == [f"Blocked {user['email']}"]
    assert next(u for u in fresh_tenant.users() if u["user_id"] == user["user_id"])["blocked"] is True
    assert at.button(key=f"block:{user['user_id']}").label == "Unblock"
    at.button(key=f"block:{user['user_id']}").click().run()
    assert not next(u for u in fresh_tenant.users() if u["user_id"] == user["user_id"]).get("blocked")


def test_detail_shows_profile_identities_metadata_and_roles(sign_in, fresh_tenant):
    at = sign_in("admin")
    admin_id = at.session_state[IDENTITY_KEY].sub
    at.button(key=f"detail:{admin_id}").click().run()
    table = at.table[0].value
    assert table.loc["User ID", "value"] == admin_id
    assert table.loc["Roles", "value"] == "User Admin"
    profile, identities, app_metadata, user_metadata = (json.loads(j.value) for j in at.json)
    assert profile["email"] == "admin@example.com" and profile["name"] == "Ada Admin"
    assert [(i["connection"], i["provider"], i["isSocial"]) for i in identities] == [
        ("Username-Password-Authentication", "auth0", False)
    ]
    assert app_metadata == {"staff": True}
    assert user_metadata == {}


def test_detail_of_a_social_user_shows_their_identity_and_both_metadata(sign_in, fresh_tenant):
    user = find(
        fresh_tenant,
        lambda u: (
            u["identities"][0]["connection"] == "google-oauth2"
            and u.get("user_metadata")
            and u.get("app_metadata")
        ),
    )
    at = search(sign_in("admin"), user["email"])
    at.button(key=f"detail:{user['user_id']}").click().run()
    _, identities, app_metadata, user_metadata = (json.loads(j.value) for j in at.json)
    assert [(i["connection"], i["provider"], i["isSocial"]) for i in identities] == [
        ("google-oauth2", "google-oauth2", True)
    ]
    assert sorted(app_metadata) == ["plan", "region"]
    assert sorted(user_metadata) == ["locale", "newsletter"]


def test_the_wrapper_refuses_self_delete_and_self_block(app_env):
    from admin_core.settings import load_settings

    directory = Directory.from_settings(load_settings(app_env, dotenv_path=None))
    with pytest.raises(NotAllowed):
        directory.delete_user(actor_sub="auth0|me", user_id="auth0|me")
    with pytest.raises(NotAllowed):
        directory.set_blocked(actor_sub="auth0|me", user_id="auth0|me", blocked=True)


def test_deleted_user_stays_gone_while_the_search_index_lags(tmp_path, monkeypatch):
    with DevTenant(users=40, index_lag_ms=60_000) as lagging:
        for key, value in app_environment(lagging.base_url, tmp_path).items():
            monkeypatch.setenv(key, value)
        clear_app_caches()
        FakePopup(email="admin@example.com").install(monkeypatch)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
        target = delete_buttons(at)[0].split(":", 1)[1]
        at.button(key=f"delete:{target}").click().run()
        at.button(key="confirm.delete").click().run()
        assert f"delete:{target}" not in delete_buttons(at)
        assert any("42 users" in m.value for m in at.markdown)
        clear_app_caches()


def test_past_the_1000_cap_the_page_says_so(tmp_path, monkeypatch):
    with DevTenant(users=1200) as big:
        for key, value in app_environment(big.base_url, tmp_path).items():
            monkeypatch.setenv(key, value)
        clear_app_caches()
        FakePopup(email="admin@example.com").install(monkeypatch)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
        at.query_params.update({"page": "500", "size": "100"})
        at.run()
        assert any("Page **10** of **10** · 1,203 users" in m.value for m in at.markdown)
        assert any("only the first 1,000" in c.value for c in at.caption)
        assert at.button(key="page.next").disabled
        assert not at.error
        clear_app_caches()


def test_export_gives_every_result_of_the_search_as_csv(sign_in, fresh_tenant):
    import csv
    import io

    at = sign_in("admin")
    assert len(delete_buttons(at)) == 23  # this page: 24 cards (one is the admin's own)
    assert at.button(key="users.export").label == "Export all 153 results as CSV"
    before = list_requests(fresh_tenant)
    at.button(key="users.export").click().run()
    assert list_requests(fresh_tenant) - before == 2  # 153 users: pages of 100, 100 + 53
    (button,) = [b for b in at.get("download_button")]
    assert button.proto.label == "Download 153 users as CSV"
    data = at.session_state["users.export_data"][3]
    rows = list(csv.DictReader(io.StringIO(data)))
    assert len(rows) == 153
    assert sorted(r["user_id"] for r in rows) == sorted(u["user_id"] for u in fresh_tenant.users())
    assert set(rows[0]) >= {"name", "email", "last_login", "blocked", "user_id"}


def test_export_of_a_filtered_search_gives_only_its_results(sign_in, fresh_tenant):
    import csv
    import io

    at = sign_in("admin")
    at.checkbox(key="users.blocked").check().run()
    at.button(key="users.export").click().run()
    (button,) = [b for b in at.get("download_button")]
    assert button.proto.label == "Download 8 users as CSV"
    rows = list(csv.DictReader(io.StringIO(at.session_state["users.export_data"][3])))
    assert sorted(r["user_id"] for r in rows) == sorted(
        u["user_id"] for u in fresh_tenant.users() if u.get("blocked")
    )


def test_one_token_grant_for_the_process_across_sessions_and_reruns(sign_in, fresh_tenant):
    sessions = [sign_in(who) for who in ("admin", "viewer", "admin")]
    for at in sessions:
        for _ in range(5):
            at.run()
        at.button(key="page.next").click().run()
    stats = fresh_tenant.stats()
    assert stats["token_grants"]["client_credentials"] == 1
    assert stats["token_grants"]["authorization_code"] == 3
