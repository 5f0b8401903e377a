"""Hostile input: typed search text can never widen the query; hostile user fields render as text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admin_core.directory import Directory, UserQuery, build_query
from admin_core.errors import AdminError
from admin_core.settings import load_settings
from tests.conftest import app_environment

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


@pytest.mark.case("4 hostile input")
def test_hostile_user_fields_render_as_text(sign_in, fresh_tenant):
    fresh_tenant.create_user(email="hostile@evil.test", name=HOSTILE_NAME, picture="javascript:alert(1)")
    fresh_tenant.create_user(email="markdown@evil.test", name="**bold** [link](javascript:alert(1)) `code`")
    fresh_tenant.create_user(email="long@evil.test", name=LONG_NAME)
    at = sign_in("admin")
    for email, name in (
        ("hostile@evil.test", HOSTILE_NAME),
        ("markdown@evil.test", "**bold** [link](javascript:alert(1)) `code`"),
        ("long@evil.test", LONG_NAME),
    ):
        at.text_input(key="users.text").input(email).run()
        assert not at.exception
        from admin_core.ui.chrome import md

        for element in at.markdown:
            assert not element.proto.allow_html or "auth0-logout" in element.value
        names = [m.value for m in at.markdown if m.value.startswith("**") and m.value.endswith("**")]
        expected = md(name if len(name) <= 60 else name[:59] + "…")
        assert names == [f"**{expected}**"]
        for image in at.get("image"):
            assert not image.proto.imgs[0].url.startswith("javascript:")
