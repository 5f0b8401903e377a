"""Each Management API failure gives its message on the Users page, and the next rerun works again."""

from __future__ import annotations

import pytest

FAULTS = {
    "401": ({"status": 401, "times": 2}, "did not accept the app's Management API token"),
    "403": (
        {
            "status": 403,
            "body": {
                "statusCode": 403,
                "error": "Forbidden",
                "message": "Insufficient scope, expected any of: read:users",
                "errorCode": "insufficient_scope",
            },
        },
        "It needs the scope read:\u2060users",  # shown escaped: a word joiner keeps `:` from linking
    ),
    "429": ({"status": 429, "headers": {"x-ratelimit-reset": "4102444800"}}, "rate limit"),
    "500": ({"status": 500}, "having trouble right now (HTTP 500)"),
    "503": ({"status": 503}, "having trouble right now (HTTP 503)"),
    "timeout": ({"delay_ms": 10_000}, "did not answer in time"),
    "dropped connection": ({"drop": True}, "Could not reach Auth0"),
    "malformed JSON": ({"malformed": True}, "could not read"),
}


@pytest.mark.parametrize("kind", list(FAULTS))
def test_listing_fault_is_explained_and_the_page_recovers(sign_in, fresh_tenant, kind):
    fault, expected = FAULTS[kind]
    at = sign_in("admin")
    fresh_tenant.add_fault(method="GET", path="/api/v2/users", **{"times": 1, **fault})
    at.button(key="page.next").click().run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert len(messages) == 1 and expected in messages[0], messages
    assert not any(b.key and b.key.startswith("delete:") for b in at.button)  # nothing shown as if it worked
    fresh_tenant.clear_faults()
    at.run()
    assert not at.error
    assert any("Page **2** of **7**" in m.value for m in at.markdown)


def test_delete_of_a_user_already_gone_says_so(sign_in, fresh_tenant):
    at = sign_in("admin")
    target = next(b.key for b in at.button if b.key and b.key.startswith("delete:")).split(":", 1)[1]
    at.button(key=f"delete:{target}").click().run()
    fresh_tenant.add_fault(method="DELETE", path="/api/v2/users/", status=404, times=1)
    at.button(key="confirm.delete").click().run()
    assert not at.toast
    assert any("no longer exists" in e.value for e in at.error)
    fresh_tenant.clear_faults()
    at.run()
    assert not at.error
