"""Metadata and profile edits, end to end against the dev tenant over real HTTP: the actions (audited,
admin-only, refused on a stale copy, Auth0's own refusal in words), the page's editors (AppTest) and every
fault kind on the save's two requests."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from admin_core import actions, runtime
from admin_core.auth import Identity, Role
from admin_core.errors import NotAllowed
from admin_core.metadata import Change, MetadataEdit, ProfileEdit, prepare
from tests.app.test_support_calls import a_person, management_requests, requests, rows
from tests.support.identities import identity_of
from tests.support.markdown import visible

PERSON = "pages/user.py"
PATCH = "PATCH /api/v2/users/{id}"
GET = "GET /api/v2/users/{id}"


@pytest.fixture
def admin(fresh_tenant) -> Identity:
    return identity_of(fresh_tenant, "admin@example.com", Role.ADMIN)


@pytest.fixture
def viewer(fresh_tenant) -> Identity:
    return identity_of(fresh_tenant, "viewer@example.com", Role.VIEWER)


def another_admin_patches(tenant, user_id: str, body: dict) -> dict:
    """A second admin (another app, the Dashboard) changing the person in Auth0 directly."""
    with httpx.Client(base_url=f"{tenant.base_url}/api/v2", timeout=10, trust_env=False) as c:
        answer = c.patch(
            "/users/" + user_id.replace("|", "%7C"),
            json=body,
            headers={"authorization": f"Bearer {tenant.management_token()}"},
        )
    answer.raise_for_status()
    return answer.json()


def stored(tenant, user_id: str) -> dict:
    return next(u for u in tenant.users() if u["user_id"] == user_id)


# --- the actions ---------------------------------------------------------------------------------------


def test_a_metadata_save_merges_audits_refreshes_and_costs_one_patch_and_one_read(
    app_env, fresh_tenant, admin
):
    person = a_person(fresh_tenant)
    runtime.get_directory().actor_standing(admin.sub)  # the actor's check is counted elsewhere
    shown = {"plan": "free", "old": 1}
    another_admin_patches(fresh_tenant, person.user_id, {"user_metadata": shown})
    runtime.forget_person(person.user_id)
    opened = runtime.person_file(person.user_id).user
    edit = prepare("user_metadata", shown=opened.user_metadata, text='{"plan": "gold", "extra": {"a": 1}}')
    before_patch, before_get = requests(fresh_tenant, PATCH), requests(fresh_tenant, GET)
    report = actions.save_metadata(identity=admin, user=opened, edit=edit)
    assert report.done == [opened] and report.failed == []
    assert requests(fresh_tenant, PATCH) - before_patch == 1
    assert requests(fresh_tenant, GET) - before_get == 1  # the stale check's read
    saved = stored(fresh_tenant, person.user_id)["user_metadata"]
    assert saved == {"plan": "gold", "extra": {"a": 1}}  # what was typed: every removed key sent as null
    # The PATCH's answer is the person as Auth0 now has them: their page shows it without asking again, and
    # its sections that a metadata save cannot change (roles, logs, locks, MFA) stay as they were read.
    before_page = management_requests(fresh_tenant)
    page = runtime.person_file(person.user_id)
    assert management_requests(fresh_tenant) == before_page
    assert page.user.user_metadata == saved
    (row,) = rows(app_env, "edit_metadata")
    assert (row.state, row.actor_sub, row.target_user_id) == ("ok", admin.sub, person.user_id)
    again = prepare("user_metadata", shown=page.user.user_metadata, text='{"plan": "platinum"}')
    assert actions.save_metadata(identity=admin, user=page.user, edit=again).failed == []  # not "stale"


def test_a_viewer_is_refused_below_the_ui_and_auth0_is_never_asked(app_env, fresh_tenant, viewer):
    person = a_person(fresh_tenant)
    edit = MetadataEdit(field="app_metadata", body={"plan": "gold"}, changes=(Change("plan", "added"),))
    before = management_requests(fresh_tenant)
    for call in (
        lambda: actions.save_metadata(identity=viewer, user=person, edit=edit),
        lambda: actions.save_profile(identity=viewer, user=person, edit=ProfileEdit(fields={"name": "X"})),
    ):
        with pytest.raises(NotAllowed) as refused:
            call()
        assert refused.value.message == "Only admins can change users."
    assert management_requests(fresh_tenant) == before
    assert rows(app_env, "edit_metadata") == [] and rows(app_env, "edit_profile") == []


def test_a_save_on_a_stale_copy_is_refused_and_overwrites_nothing(app_env, fresh_tenant, admin):
    person = a_person(fresh_tenant)
    opened = runtime.person_file(person.user_id).user  # admin 1 opens the page
    time.sleep(0.005)  # Auth0's updated_at has milliseconds
    another_admin_patches(fresh_tenant, person.user_id, {"app_metadata": {"plan": "theirs"}})
    edit = prepare("app_metadata", shown=opened.app_metadata, text='{"plan": "mine"}')
    before = requests(fresh_tenant, PATCH)
    report = actions.save_metadata(identity=admin, user=opened, edit=edit)
    ((_, message),) = report.failed
    assert "changed by someone else since you opened it" in message
    assert requests(fresh_tenant, PATCH) == before  # nothing sent
    assert stored(fresh_tenant, person.user_id)["app_metadata"]["plan"] == "theirs"
    (row,) = rows(app_env, "edit_metadata")
    assert row.state == "error" and row.message == message
    before_page = management_requests(fresh_tenant)
    fresh = runtime.person_file(person.user_id).user  # the page now has Auth0's copy: a save on it works
    assert management_requests(fresh_tenant) == before_page  # the copy the stale check read, kept
    assert fresh.app_metadata["plan"] == "theirs"
    edit = prepare("app_metadata", shown=fresh.app_metadata, text='{"plan": "mine"}')
    assert actions.save_metadata(identity=admin, user=fresh, edit=edit).failed == []


def test_two_saves_at_once_on_the_same_copy_one_wins_the_other_is_refused(app_env, fresh_tenant, admin):
    """Two admins' sessions (threads of one app process) saving the same opened copy at the same moment:
    the claim on the person (admin_core.claims, as across instances) refuses the second while the first
    runs; one arriving after the first PATCH re-reads and is refused as stale. Either way, not applied."""
    person = a_person(fresh_tenant)
    runtime.get_directory().actor_standing(admin.sub)
    opened = runtime.person_file(person.user_id).user
    time.sleep(0.005)
    # Each stale-check read takes 300 ms: without the lock both reads would see the opened copy.
    fresh_tenant.add_fault(method="GET", path=f"/api/v2/users/{person.user_id}", times=2, delay_ms=300)
    start = threading.Barrier(2)

    def save(value: str):
        edit = prepare("app_metadata", shown=opened.app_metadata, text=json.dumps({"who": value}))
        start.wait()
        return actions.save_metadata(identity=admin, user=opened, edit=edit)

    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(save, ["first", "second"]))
    assert sorted(len(r.done) for r in reports) == [0, 1]
    (loser,) = [r for r in reports if r.failed]
    message = loser.failed[0][1]
    assert (
        "is already being changed by" in message or "changed by someone else since you opened it" in message
    )
    assert requests(fresh_tenant, PATCH) == 1
    assert stored(fresh_tenant, person.user_id)["app_metadata"]["who"] in ("first", "second")


def test_auth0s_own_refusal_is_shown_in_its_words(app_env, fresh_tenant, admin):
    """A body our checks would have stopped, sent anyway: Auth0's 400 message reaches the admin as text."""
    person = a_person(fresh_tenant)
    edit = MetadataEdit(field="user_metadata", body={"a.b": 1}, changes=(Change("a.b", "added"),))
    report = actions.save_metadata(identity=admin, user=person, edit=edit)
    ((_, message),) = report.failed
    assert message.startswith("Auth0 refused the change: Payload validation error") and "a.b" in message
    (row,) = rows(app_env, "edit_metadata")
    assert row.state == "error"


def test_a_profile_save_sets_fields_and_the_email_option(app_env, fresh_tenant, admin):
    person = a_person(fresh_tenant)
    fresh_tenant.clear_outbox()
    edit = ProfileEdit(fields={"name": "Ada Lovelace", "email": "ada.new@example.org"}, verify_email=True)
    assert actions.save_profile(identity=admin, user=person, edit=edit).failed == []
    now = stored(fresh_tenant, person.user_id)
    assert (now["name"], now["email"], now["email_verified"]) == (
        "Ada Lovelace",
        "ada.new@example.org",
        False,
    )
    assert [m["kind"] for m in fresh_tenant.outbox() if m["to"] == "ada.new@example.org"] == [
        "verification_email"
    ]
    (row,) = rows(app_env, "edit_profile")
    assert row.state == "ok"


# --- the page -----------------------------------------------------------------------------------------


def open_person(at: AppTest, user_id: str) -> AppTest:
    at.switch_page(PERSON)
    at.query_params["id"] = user_id
    return at.run()


def texts(at: AppTest) -> list[str]:
    return [visible(t.value) for t in at.text]


def notices(at: AppTest) -> list[str]:
    return [visible(e.value) for e in [*at.error, *at.warning, *at.info]]


def test_an_admin_edits_metadata_sees_the_diff_and_saves(sign_in, fresh_tenant, app_env):
    person = a_person(fresh_tenant)
    another_admin_patches(fresh_tenant, person.user_id, {"user_metadata": {"theme": "dark", "drop": 1}})
    at = open_person(sign_in("admin"), person.user_id)
    area = at.text_area(key=f"editor.user_metadata.{person.user_id}.0")
    assert json.loads(area.value)["theme"] == "dark"
    assert any("top level only" in visible(c.value) for c in at.caption)  # the merge rule is said
    current = json.loads(area.value)
    current.pop("drop")
    current["theme"] = "light"
    area.input(json.dumps(current)).run()
    assert 'change theme from "dark" to "light"' in texts(at)
    assert "remove drop (was 1; sent as null)" in texts(at)
    at.button(key="editor.save.user_metadata").click().run()
    assert not at.exception
    assert any("Saved 2 changes to the user_metadata" in visible(t.value) for t in at.toast)
    saved = stored(fresh_tenant, person.user_id)["user_metadata"]
    assert saved["theme"] == "light" and "drop" not in saved
    area = at.text_area(key=f"editor.user_metadata.{person.user_id}.1")  # fresh editor on Auth0's copy
    assert json.loads(area.value) == saved
    (row,) = rows(app_env, "edit_metadata")
    assert row.state == "ok"


def test_a_newer_copy_replaces_untouched_editors_without_asking(sign_in, fresh_tenant):
    """A change made meanwhile (another admin, or this admin's own fix) with nothing typed yet: the editors
    simply show Auth0's newer copy."""
    person = a_person(fresh_tenant)
    at = open_person(sign_in("admin"), person.user_id)
    time.sleep(0.005)
    another_admin_patches(fresh_tenant, person.user_id, {"user_metadata": {"fresh": 1}})
    runtime.forget_person(person.user_id)
    at.run()
    assert not any("Auth0 has a newer copy" in n for n in notices(at))
    area = at.text_area(key=f"editor.user_metadata.{person.user_id}.1")
    assert json.loads(area.value)["fresh"] == 1


def test_a_syntax_error_is_shown_and_nothing_can_be_sent(sign_in, fresh_tenant):
    person = a_person(fresh_tenant)
    at = open_person(sign_in("admin"), person.user_id)
    before = requests(fresh_tenant, PATCH)
    at.text_area(key=f"editor.app_metadata.{person.user_id}.0").input('{"plan": gold}').run()
    assert any("app metadata is not valid JSON" in n and "line 1" in n for n in notices(at))
    assert not [b for b in at.button if b.key == "editor.save.app_metadata"]
    assert requests(fresh_tenant, PATCH) == before


def test_a_second_admins_save_on_a_stale_copy_is_refused_on_the_page(sign_in, fresh_tenant, app_env):
    person = a_person(fresh_tenant)
    at = open_person(sign_in("admin"), person.user_id)
    time.sleep(0.005)
    another_admin_patches(fresh_tenant, person.user_id, {"app_metadata": {"plan": "theirs"}})
    at.text_area(key=f"editor.app_metadata.{person.user_id}.0").input('{"plan": "mine"}').run()
    at.button(key="editor.save.app_metadata").click().run()
    assert not at.exception
    assert any("changed by someone else since you opened it" in n for n in notices(at))
    assert stored(fresh_tenant, person.user_id)["app_metadata"]["plan"] == "theirs"
    assert any("Auth0 has a newer copy" in n for n in notices(at))
    at.button(key="editor.reload").click().run()
    area = at.text_area(key=f"editor.app_metadata.{person.user_id}.1")
    assert json.loads(area.value)["plan"] == "theirs"


def test_the_profile_form_validates_then_saves(sign_in, fresh_tenant, app_env):
    person = a_person(fresh_tenant)
    at = open_person(sign_in("admin"), person.user_id)
    before = requests(fresh_tenant, PATCH)
    at.text_input(key=f"editor.p.picture.{person.user_id}.0").input("javascript:alert(1)")
    at.button(key="FormSubmitter:editor.profile." + person.user_id + ".0-Save profile").click().run()
    assert any("Picture URL must be a full web address" in n for n in notices(at))
    assert requests(fresh_tenant, PATCH) == before
    at.text_input(key=f"editor.p.picture.{person.user_id}.0").input("")
    at.text_input(key=f"editor.p.nickname.{person.user_id}.0").input("adal")
    at.radio(key=f"editor.p.email_choice.{person.user_id}.0").set_value("verified")
    at.button(key="FormSubmitter:editor.profile." + person.user_id + ".0-Save profile").click().run()
    assert not at.exception
    assert stored(fresh_tenant, person.user_id)["nickname"] == "adal"
    assert any("Saved the profile of" in visible(t.value) for t in at.toast)


def test_social_users_are_told_auth0_may_overwrite_and_have_no_email_field(sign_in, fresh_tenant):
    social = fresh_tenant.support_examples()["social"][0]
    at = open_person(sign_in("admin"), social)
    assert any("may overwrite the name, nickname and picture" in n for n in notices(at))
    keys = {t.key for t in at.text_input}
    assert f"editor.p.name.{social}.0" in keys and f"editor.p.email.{social}.0" not in keys


def test_a_viewer_sees_no_editor(sign_in, fresh_tenant):
    person = a_person(fresh_tenant)
    at = open_person(sign_in("viewer"), person.user_id)
    assert not at.exception
    assert not [a for a in at.text_area if a.key and a.key.startswith("editor.")]
    assert not [t for t in at.text_input if t.key and t.key.startswith("editor.")]


# --- faults -------------------------------------------------------------------------------------------

KINDS = {
    "503": ({"status": 503}, "(HTTP 503)"),
    "429": ({"status": 429, "headers": {"x-ratelimit-reset": str(int(time.time()) + 30)}}, "rate limit"),
    "timeout": ({"delay_ms": 3_000}, "did not answer in time"),
    "dropped": ({"drop": True}, "Could not reach Auth0"),
    "malformed": ({"malformed": True}, "could not read"),
}


@pytest.mark.case("1 Auth0 faults")
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("call", ["GET", "PATCH"])
def test_a_fault_on_a_save_is_a_sentence_and_an_error_row(env, fresh_tenant, admin, call, kind):
    """Either of the save's requests (the stale check's read, the PATCH) failing: words, an error row,
    nothing half-done, and the page reads again."""
    person = a_person(fresh_tenant)
    runtime.get_directory().actor_standing(admin.sub)  # the actor's check is not the call under test
    fault, expected = KINDS[kind]
    fresh_tenant.add_fault(method=call, path=f"/api/v2/users/{person.user_id}", times=1, **fault)
    edit = prepare("user_metadata", shown=person.user_metadata, text='{"fault": "test"}')
    report = actions.save_metadata(identity=admin, user=person, edit=edit)
    assert report.done == []
    ((_, message),) = report.failed
    assert expected in message, message
    assert "Traceback" not in message and "Error(" not in message
    (row,) = rows(env, "edit_metadata")
    assert row.state == "error" and row.message == message
    fresh_tenant.clear_faults()
    if call == "GET" or kind not in ("timeout", "malformed"):  # those two may have reached Auth0
        assert "fault" not in (stored(fresh_tenant, person.user_id).get("user_metadata") or {})
    assert runtime.person_file(person.user_id).user.user_id == person.user_id
