"""Reliability case 6 in the browser: no secret or token the server holds ever reaches the browser or the log.

The server holds the client secret, a Management API token (client credentials) and, after sign-in, the
person's ID and access tokens, plus the PKCE code_verifier of each sign-in attempt. Every one of those
tokens is a JWT signed by the tenant, so every one begins with the tenant's JWT header. This test records
everything the browser received (and sent) in a whole session, in the main page and in the sign-in popup:
every websocket frame (binary protobuf: searched as raw bytes), every HTTP response's headers and body,
every request's URL and body; then searches it, and the server's debug-level log, for any of them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from admin_core.ui.chrome import md
from tests.browser.helpers import (
    ADMIN,
    BROWSER_TIMEOUT_MS,
    card_delete_buttons,
    open_signed_out,
    shown,
    sign_in,
    wait_idle,
)
from tests.support.devtenant_proc import CLIENT_ID, CLIENT_SECRET

pytestmark = [pytest.mark.browser, pytest.mark.case("6 secrets")]

JWT = re.compile(rb"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
URLSAFE_RUN = re.compile(rb"[A-Za-z0-9_-]{43,}")
VERIFIER_LENGTH = 128  # streamlit-oauth: secrets.token_urlsafe(96)
STAFF_EMAILS = {"admin@example.com", "viewer@example.com", "staff@example.com"}
VICTIM = {"email": "secrets-victim@example.org", "name": "Secrets Victim"}


@dataclass
class Capture:
    """Everything that crossed the wire to or from the browser, as (where, bytes)."""

    received: list[tuple[str, bytes]] = field(default_factory=list)
    sent: list[tuple[str, bytes]] = field(default_factory=list)
    frames_received: int = 0
    responses: int = 0
    bodies_unreadable: list[str] = field(default_factory=list)
    code_challenges: set[str] = field(default_factory=set)
    response_urls: list[str] = field(default_factory=list)

    def attach(self, context, page) -> None:
        context.on("response", self._response)
        context.on("request", self._request)
        context.on("page", lambda new_page: new_page.on("websocket", self._websocket))
        page.on("websocket", self._websocket)

    def _websocket(self, ws) -> None:
        def received(payload) -> None:
            self.frames_received += 1
            self.received.append((f"ws frame from {ws.url}", _bytes(payload)))

        ws.on("framereceived", received)
        ws.on("framesent", lambda payload: self.sent.append((f"ws frame to {ws.url}", _bytes(payload))))

    def _request(self, request) -> None:
        where = f"request {request.method} {request.url}"
        self.sent.append((where, request.url.encode()))
        try:
            body = request.post_data_buffer
        except PlaywrightError:
            body = None
        if body:
            self.sent.append((where, body))
        query = parse_qs(urlsplit(request.url).query)
        self.code_challenges.update(query.get("code_challenge", []))

    def _response(self, response) -> None:
        self.responses += 1
        where = f"response {response.status} {response.url}"
        self.response_urls.append(response.url)
        headers = "\n".join(f"{h['name']}: {h['value']}" for h in response.headers_array())
        self.received.append((where + " (headers)", headers.encode()))
        if 300 <= response.status < 400:
            return  # a redirect has no body; its Location header is in the headers above
        try:
            self.received.append((where, response.body()))
        except PlaywrightError as exc:  # e.g. the popup closed before the body was read
            self.bodies_unreadable.append(f"{where}: {exc}")

    def everything(self) -> list[tuple[str, bytes]]:
        return self.received + self.sent


def _bytes(payload) -> bytes:
    return payload if isinstance(payload, bytes) else payload.encode()


def claims_of(token: bytes) -> dict | str:
    try:
        payload = token.split(b".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
    except (ValueError, IndexError) as exc:
        return f"undecodable ({exc})"


def pkce_challenge(verifier: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()


def find_secrets(blobs: list[tuple[str, bytes]], jwt_header: bytes, challenges: set[str]) -> list[str]:
    """Every place a secret or a token shows up, with what it was."""
    literal = {
        b"dashboard-secret": "the client secret",
        CLIENT_SECRET.encode(): "the client secret",
        base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()): "the client's Basic credentials",
        jwt_header: "the tenant's JWT header (the start of every token it signs)",
    }
    found = []
    for where, blob in blobs:
        for needle, what in literal.items():
            if needle in blob:
                at = blob.index(needle)
                found.append(f"{what} in {where}: …{blob[max(0, at - 80) : at + 120]!r}…")
        for match in JWT.finditer(blob):
            found.append(f"a JWT in {where}: claims {claims_of(match.group())}")
        for run in URLSAFE_RUN.findall(blob):
            for start in range(0, max(0, len(run) - VERIFIER_LENGTH) + 1):
                if pkce_challenge(run[start : start + VERIFIER_LENGTH]) in challenges:
                    found.append(f"the PKCE code_verifier in {where}")
    return found


def assert_no_secret_in_dom_or_url(page, jwt_header: bytes) -> None:
    """The person's page as the browser holds it: its address carries the person's id and nothing else, and
    neither the address nor the DOM (every frame) holds a secret or a token."""
    url = urlsplit(page.url)
    assert url.path.endswith("/user"), page.url
    assert set(parse_qs(url.query)) == {"id"}, page.url
    blobs = [("the address bar", page.url.encode())]
    for frame in page.frames:
        if not frame.is_detached():
            blobs.append((f"the DOM of {frame.url}", frame.content().encode()))
    leaks = find_secrets(blobs, jwt_header, set())
    assert not leaks, "secrets or tokens on the person's page:\n" + "\n".join(leaks[:20])


@pytest.fixture
def victim(reliability_tenant):
    existing = {u.get("email"): u for u in reliability_tenant.users()}
    return existing.get(VICTIM["email"]) or reliability_tenant.create_user(**VICTIM)


def test_no_secret_or_token_reaches_the_browser_or_the_log_through_a_whole_session(
    context, page, reliability_app, reliability_tenant, victim
):
    tenant = reliability_tenant
    capture = Capture()
    capture.attach(context, page)
    jwt_header = tenant.management_token().split(".")[0].encode()
    assert jwt_header.startswith(b"eyJ")

    # Sign in through the popup (its pages and redirects are captured too).
    open_signed_out(page, reliability_app.url("/"))
    sign_in(page, ADMIN)

    # The listing.
    details = page.get_by_role("button", name="Details", exact=True)
    expect(details.first).to_be_visible()
    assert details.count() >= 12
    wait_idle(page)  # a click on a button whose widget code is still loading is lost on a busy machine

    # A user's page (`/user?id=...`): the Summary, then the Profile tab, then back to the list.
    details.first.click()
    expect(page.get_by_role("heading", name="Summary")).to_be_visible()
    wait_idle(page)
    assert_no_secret_in_dom_or_url(page, jwt_header)
    page.get_by_role("tab", name="Profile").click()
    expect(page.get_by_text("User ID").first).to_be_visible()
    wait_idle(page)
    assert_no_secret_in_dom_or_url(page, jwt_header)
    page.get_by_role("button", name=re.compile("^Back to the")).click()
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Next", exact=True)).to_be_visible()
    wait_idle(page)
    assert "/user" not in urlsplit(page.url).path

    # An error from Auth0 on the next page (the error text is shown, nothing more).
    try:
        tenant.add_fault(method="GET", path="/api/v2/users", status=500, times=5)
        page.get_by_role("button", name="Next", exact=True).click()
        expect(page.get_by_test_id("stAlert").filter(has_text="HTTP 500")).to_be_visible()
        wait_idle(page)
    finally:
        tenant.clear_faults()
    page.get_by_role("button", name="Back to the first page").click()
    expect(page.get_by_test_id("stAlert").filter(has_text="HTTP 500")).to_have_count(0)
    expect(page.get_by_role("button", name="Previous", exact=True)).to_be_disabled()
    wait_idle(page)

    # Delete one user through the dialog.
    box = page.get_by_label("Search")
    box.fill("secrets-victim")
    box.press("Enter")
    wait_idle(page)
    expect(card_delete_buttons(page)).to_have_count(1, timeout=BROWSER_TIMEOUT_MS)
    card_delete_buttons(page).click()
    confirm = page.get_by_role("dialog")
    expect(confirm.get_by_text(shown(VICTIM["email"], exact=False))).to_be_visible()
    confirm.get_by_role("button", name="Delete", exact=True).click()
    expect(
        page.get_by_test_id("stToast").filter(has_text=shown(f"Deleted {VICTIM['email']}", exact=False))
    ).to_be_visible()
    wait_idle(page)
    page.wait_for_timeout(500)  # let the last frames arrive
    assert VICTIM["email"] not in {u.get("email") for u in tenant.users()}

    # The capture is not empty: it saw the session's data, the popup and the sign-in.
    received = b"\n".join(blob for _, blob in capture.received)
    assert capture.frames_received >= 20, capture.frames_received
    assert capture.responses >= 10, capture.responses
    # Cards show emails escaped for markdown (`a\\.b@c\\.d`); look for either form.
    listed = [
        u["email"]
        for u in tenant.users()
        if u.get("email") and (u["email"].encode() in received or md(u["email"]).encode() in received)
    ]
    listed = [e for e in listed if e not in STAFF_EMAILS]  # those are on the sign-in screen's dev hint
    assert len(listed) >= 10, f"the listing's emails were not in the captured frames: {listed}"
    assert VICTIM["email"].encode() in received or md(VICTIM["email"]).encode() in received
    assert victim["user_id"].encode() in received
    assert any(url.startswith(f"{tenant.base_url}/authorize") for url in capture.response_urls)
    assert any(url.startswith(f"{tenant.base_url}/u/login") for url in capture.response_urls), (
        capture.response_urls
    )
    assert capture.code_challenges, "the sign-in's authorization request was not captured"
    assert tenant.stats()["token_grants"]["authorization_code"] >= 1

    leaks = find_secrets(capture.everything(), jwt_header, capture.code_challenges)
    assert not leaks, "secrets or tokens reached the browser:\n" + "\n".join(leaks[:20])

    # The server's own output at debug level: no token, no secret.
    log = reliability_app.output()
    assert "Running script" in log, "the server is not logging at debug level"
    log_leaks = find_secrets([("the streamlit server's output", log.encode())], jwt_header, set())
    assert not log_leaks, "secrets or tokens in the server log:\n" + "\n".join(log_leaks[:20])
