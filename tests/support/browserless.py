"""Stand-in for streamlit-oauth's browser component under AppTest (the one allowed stand-in).

The real component opens a popup, lets the person sign in, and hands back the `code` and `state` from the
callback URL. This does the same over real HTTP against the dev tenant: it opens the authorization URL the
app built, submits the sign-in form, and reads `code` and `state` off the redirect. Everything after that
(the code exchange, ID token verification, role lookup) runs for real in the app.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import streamlit_oauth


class _Form(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action") or ""
        elif tag == "input" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""


def authorize(
    authorization_url: str, *, email: str, password: str, cookies: httpx.Cookies | None = None
) -> dict:
    """Do what the person does in the popup; returns the callback's query as the component would."""
    with httpx.Client(timeout=10, cookies=cookies) as client:
        answer = client.get(authorization_url)
        if answer.status_code in (301, 302, 303):
            location = answer.headers["location"]
        else:
            if answer.status_code != 200:
                return {"error": f"authorize answered {answer.status_code}", "page": answer.text}
            form = _Form()
            form.feed(answer.text)
            fields = {**form.fields, "email": email, "password": password}
            posted = client.post(urljoin(authorization_url, form.action or ""), data=fields)
            if posted.status_code not in (301, 302, 303):
                return {"error": "sign-in refused", "page": posted.text}
            location = posted.headers["location"]
    query = parse_qs(urlsplit(location).query)
    return {key: values[0] for key, values in query.items()}


def with_params(url: str, overrides: dict[str, str]) -> str:
    """`url` with some query parameters replaced (the others, and their order, kept)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(overrides)
    return urlunsplit(parts._replace(query=urlencode(query)))


def drop_state(result: dict) -> dict:
    """A callback result without `state` (streamlit-oauth then skips its own state comparison)."""
    return {key: value for key, value in result.items() if key != "state"}


def change_state(result: dict) -> dict:
    return {**result, "state": "not-the-state-we-sent"}


class FakePopup:
    """Replaces `streamlit_oauth._authorize_button`: answers like the component after `clicks` clicks.

    A real component returns None until the person clicks; so does this once its clicks are used up.
    `tamper` may rewrite the result (e.g. a mismatched state) before the app sees it; `authorize_params`
    replaces query parameters of the app's authorization URL before the popup opens it (e.g. another
    session's `nonce`), so the dev tenant issues a real code for that request.
    """

    def __init__(
        self,
        *,
        email: str,
        password: str = "devtenant",
        clicks: int = 1,
        tamper=None,
        authorize_params: dict[str, str] | None = None,
    ):
        self.email = email
        self.password = password
        self.clicks = clicks
        self.tamper = tamper
        self.authorize_params = authorize_params or {}
        self.urls: list[str] = []
        self.results: list[dict] = []

    def __call__(self, *, authorization_url: str, **_ignored):
        self.urls.append(authorization_url)
        if self.clicks <= 0:
            return None
        self.clicks -= 1
        url = (
            with_params(authorization_url, self.authorize_params)
            if self.authorize_params
            else authorization_url
        )
        result = authorize(url, email=self.email, password=self.password)
        result.pop("page", None)
        if self.tamper:
            result = self.tamper(result)
        self.results.append(result)
        return result

    def install(self, monkeypatch) -> FakePopup:
        monkeypatch.setattr(streamlit_oauth, "_authorize_button", self)
        return self
