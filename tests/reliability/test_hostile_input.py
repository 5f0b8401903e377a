"""Hostile input: typed search text can never widen the query; hostile user fields render as text."""

from __future__ import annotations

import base64
import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admin_core.auth0.users import Directory
from admin_core.domain import UserQuery
from admin_core.errors import AdminError
from admin_core.query import build_query
from admin_core.settings import load_settings
from tests.support.app_env import app_environment

LUCENE = '+-&|!(){}[]^"~*?:\\/ '
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
LONG_NAME = "Long" + "o" * 9_996


@pytest.fixture(scope="module")
def directory(tenant, tmp_path_factory):
    tenant.reset()
    env = app_environment(tenant.base_url, tmp_path_factory.mktemp("hostile"))
    return Directory.from_settings(load_settings(env, dotenv_path=None))


@pytest.fixture(scope="module")
def fragments(tenant) -> list[str]:
    out = []
    for user in tenant.users()[:60]:
        for field in ("email", "name", "nickname"):
            value = user.get(field) or ""
            out += [value[:3], value[:6], value[:12], value]
    return [f for f in out if f]


def search_text():
    alphabet = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
    return st.one_of(
        st.text(alphabet=st.sampled_from(LUCENE + "abcAND OR NOT TO"), min_size=1, max_size=30),
        st.text(alphabet=alphabet, min_size=1, max_size=40),
        st.text(alphabet=st.sampled_from("ab*?\\\"' "), min_size=1000, max_size=2000),
    )


@pytest.mark.case("4 hostile input")
@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_plain_search_never_returns_a_user_without_the_text(directory, fragments, data):
    text = data.draw(st.one_of(search_text(), st.sampled_from(fragments)))
    needle = " ".join(text.split()).lower()
    q = build_query(text)
    if q is None:
        assert not needle
        return
    try:
        page = directory.list_users(UserQuery(q=q, per_page=100))
    except AdminError as exc:  # a clear message is fine; a syntax error from our own escaping is not
        assert "could not understand" not in exc.message, (text, q)
        return
    for user in page.users:
        haystacks = [(user.email or "").lower(), (user.name or "").lower(), (user.nickname or "").lower()]
        assert any(needle in h for h in haystacks), (text, q, user.email, user.name, user.nickname)


@pytest.mark.case("4 hostile input")
def test_fragments_of_real_users_do_find_them(directory, tenant):
    """The property above is not vacuous: searching a user's email prefix finds that user."""
    user = next(u for u in tenant.users() if u.get("name"))
    page = directory.list_users(UserQuery(q=build_query(user["email"][:8]), per_page=100))
    assert user["user_id"] in {u.user_id for u in page.users}


# What md() must turn each hostile name into on a card, written out by hand: a backslash before each of
# \ ` * _ [ ] < | ~ $ & (and before a line-start # > + - = or the dot of "1."), a word joiner (U+2060) after
# every `:` and `@` and inside `www.` (Streamlit's renderer finds autolinks, :shortcodes: and :colour[...]
# after resolving escapes, so only the joiner stops them).
WJ = "\u2060"
CARD_NAMES = (
    ("hostile@evil.test", HOSTILE_NAME, r"**\<img src=x onerror=alert(1)>**"),
    (
        "markdown@evil.test",
        "**bold** [link](javascript:alert(1)) `code`",
        rf"**\*\*bold\*\* \[link\](javascript:{WJ}alert(1)) \`code\`**",
    ),
    ("long@evil.test", LONG_NAME, "**Long" + "o" * 55 + "…**"),
    (
        "autolink@evil.test",
        "Reset at https://203.0.113.9/reset or www.evil.example",
        f"**Reset at https:{WJ}//203.0.113.9/reset or www{WJ}.evil.example**",
    ),
    (
        "colour@evil.test",
        ":red[Admin] :material/verified: bob@evil.test",
        rf"**:{WJ}red\[Admin\] :{WJ}material/verified:{WJ} bob@{WJ}evil.test**",
    ),
)
HOSTILE_EMAIL = "![x](https://evil.example/p.png)[verify](https://evil.example/login)@evil.test"


def search(at, text: str):
    at.text_input(key="users.text").input(text).run()
    assert not at.exception, at.exception
    return at


def card_names(at) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**") and m.value.endswith("**")]


@pytest.mark.case("4 hostile input")
def test_hostile_user_fields_render_as_text(sign_in, fresh_tenant):
    for email, name, _ in CARD_NAMES:
        fresh_tenant.create_user(email=email, name=name, picture="javascript:alert(1)")
    at = sign_in("admin")
    for email, _, expected in CARD_NAMES:
        search(at, email)
        for element in at.markdown:
            assert not element.proto.allow_html or "auth0-logout" in element.value
        assert card_names(at) == [expected]
        for image in at.get("image"):
            assert image.proto.imgs[0].url.startswith("data:image/svg+xml;base64,")


@pytest.mark.case("4 hostile input")
def test_block_toast_shows_a_hostile_email_as_text(sign_in, fresh_tenant):
    user = fresh_tenant.create_user(email=HOSTILE_EMAIL, name="Toast Target")
    at = search(sign_in("admin"), HOSTILE_EMAIL)
    at.button(key=f"block:{user['user_id']}").click().run()
    assert not at.exception
    assert [t.value for t in at.toast] == [
        rf"Blocked !\[x\](https:{WJ}//evil.example/p.png)\[verify\](https:{WJ}//evil.example/login)@{WJ}evil.test"
    ]


@pytest.mark.case("4 hostile input")
def test_auth0_error_text_echoing_the_query_shows_as_text(sign_in, fresh_tenant):
    # Auth0's 400 for a bad Lucene query quotes the query back; a shared link can carry any query.
    echoed = "Query validation error: 'Invalid query: ![x](https://evil.example/p.png) [verify](https://evil.example/login)'"
    at = sign_in("admin")
    fresh_tenant.add_fault(
        method="GET",
        path="/api/v2/users",
        status=400,
        body={
            "statusCode": 400,
            "error": "Bad Request",
            "message": echoed,
            "errorCode": "invalid_query_string",
        },
    )
    search(at, "anything")
    assert [e.value for e in at.error] == [
        f"Auth0 could not understand that search:{WJ} Query validation error:{WJ} 'Invalid query:{WJ} "
        rf"!\[x\](https:{WJ}//evil.example/p.png) \[verify\](https:{WJ}//evil.example/login)'"
    ]


@pytest.mark.case("4 hostile input")
def test_pictures_load_only_from_allowed_hosts_and_a_hostless_one_does_not_break_the_grid(
    sign_in, fresh_tenant
):
    pictures = {
        "pic-hostless@evil.test": ("Hostless Picture", "https:avatar.png"),
        "pic-tracker@evil.test": ("Tracker Picture", "https://tracker.evil.example/p.png"),
        "pic-port@evil.test": ("Port Picture", "https://s.gravatar.com:8443/avatar/1"),
        "pic-backslash@evil.test": ("Backslash Picture", "https://evil.example\\.s.gravatar.com/a.png"),
        "pic-gravatar@evil.test": ("Gravatar Picture", "https://s.gravatar.com/avatar/0a1b?d=identicon"),
        "pic-google@evil.test": ("Google Picture", "https://lh3.googleusercontent.com/a/ACg8oc=s96-c"),
    }
    for email, (name, picture) in pictures.items():
        fresh_tenant.create_user(email=email, name=name, picture=picture)
    at = search(sign_in("admin"), "pic-")
    assert sorted(card_names(at)) == [
        "**Backslash Picture**",
        "**Google Picture**",
        "**Gravatar Picture**",
        "**Hostless Picture**",
        "**Port Picture**",
        "**Tracker Picture**",
    ]
    urls = [image.proto.imgs[0].url for image in at.get("image")]
    assert sorted(u for u in urls if not u.startswith("data:")) == [
        "https://lh3.googleusercontent.com/a/ACg8oc=s96-c",
        "https://s.gravatar.com/avatar/0a1b?d=identicon",
    ]
    initials = sorted(
        base64.b64decode(u.split(",", 1)[1]).decode().split('middle">')[1].split("<")[0]
        for u in urls
        if u.startswith("data:image/svg+xml;base64,")
    )
    assert initials == ["BP", "HP", "PP", "TP"]

    # The table view's image column goes through the same check.
    at.segmented_control(key="users.view").set_value("table").run()
    assert not at.exception
    avatars = dict(zip(at.dataframe[0].value["name"], at.dataframe[0].value["avatar"], strict=True))
    assert avatars["Gravatar Picture"] == "https://s.gravatar.com/avatar/0a1b?d=identicon"
    assert avatars["Google Picture"] == "https://lh3.googleusercontent.com/a/ACg8oc=s96-c"
    for name in ("Hostless Picture", "Tracker Picture", "Port Picture", "Backslash Picture"):
        assert avatars[name].startswith("data:image/svg+xml;base64,"), (name, avatars[name])


@pytest.mark.case("4 hostile input")
def test_users_csv_export_defuses_spreadsheet_formulas(sign_in, fresh_tenant):
    for email, name in (
        ("formula-eq@evil.test", '=HYPERLINK("https://evil.example","click")'),
        ("formula-plus@evil.test", "+1+cmd|' /C calc'!A0"),
        ("formula-minus@evil.test", "-2+3"),
        ("formula-at@evil.test", "@SUM(1,2)"),
        ("formula-tab@evil.test", "\t=1+2"),
        ("formula-plain@evil.test", "Plain Name"),
    ):
        fresh_tenant.create_user(email=email, name=name)
    at = search(sign_in("admin"), "formula-")
    at.button(key="users.export").click().run()
    assert not at.exception
    rows = list(csv.DictReader(io.StringIO(at.session_state["users.export_data"][3])))
    assert {r["email"]: r["name"] for r in rows} == {
        "formula-eq@evil.test": '\'=HYPERLINK("https://evil.example","click")',
        "formula-plus@evil.test": "'+1+cmd|' /C calc'!A0",
        "formula-minus@evil.test": "'-2+3",
        "formula-at@evil.test": "'@SUM(1,2)",
        "formula-tab@evil.test": "'\t=1+2",
        "formula-plain@evil.test": "Plain Name",
    }


@pytest.mark.case("4 hostile input")
def test_auth0_error_text_in_the_detail_view_shows_as_text(sign_in, fresh_tenant):
    user = fresh_tenant.create_user(email="roles-error@evil.test", name="Roles Error")
    at = search(sign_in("admin"), "roles-error@evil.test")
    fresh_tenant.add_fault(
        method="GET",
        path=f"/api/v2/users/{user['user_id']}/roles",
        status=409,
        body={"statusCode": 409, "error": "Conflict", "message": "![x](https://evil.example/p.png)"},
    )
    at.button(key=f"detail:{user['user_id']}").click().run()
    assert not at.exception
    assert (
        f"The roles could not be read. Auth0 reported a conflict "
        rf"(!\[x\](https:{WJ}//evil.example/p.png)). Reload and try again."
    ) in [w.value for w in at.warning]  # the person's page: the Summary's own warnings come first
