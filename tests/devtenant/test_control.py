"""The test-control API: stats, faults, latency, rate limit, index lag, loopback-only."""

from __future__ import annotations

import time

import httpx
import pytest
from auth0.management.core.api_error import ApiError
from auth0.management.errors import TooManyRequestsError

from tests.devtenant.conftest import get_token, management


def test_stats_counts_by_route_template(dt, api, token):
    uid = dt.users()[0]["user_id"]
    api.users.list(per_page=5)
    api.users.list(per_page=5, page=1)
    api.users.get(uid)
    get_token(dt)
    stats = dt.stats()
    assert stats["requests"]["GET /api/v2/users"] == 2
    assert stats["requests"]["GET /api/v2/users/{id}"] == 1
    assert stats["requests"]["POST /oauth/token"] == 1
    assert stats["token_grants"] == {"client_credentials": 1}
    assert stats["management_requests"] == 3
    assert not any(k.split()[1].startswith("/__dev") for k in stats["requests"])
    dt.reset()
    assert dt.stats() == {"requests": {}, "token_grants": {}, "management_requests": 0}


def test_fault_status_with_body_and_times(dt, raw):
    dt.add_fault(
        method="GET",
        path="/api/v2/users",
        status=503,
        body={"statusCode": 503, "message": "down"},
        headers={"retry-after": "1"},
        times=2,
    )
    assert len(dt.faults()) == 1
    for _ in range(2):
        r = raw.get("/users")
        assert r.status_code == 503 and r.json() == {"statusCode": 503, "message": "down"}
        assert r.headers["retry-after"] == "1" and "x-ratelimit-limit" in r.headers
    assert dt.faults() == []
    assert raw.get("/users").status_code == 200
    assert dt.stats()["requests"]["GET /api/v2/users"] == 3


def test_fault_default_body_method_and_prefix(dt, raw, api):
    dt.add_fault(method="DELETE", path="/api/v2/users", status=500)
    assert raw.get("/users").status_code == 200  # method does not match
    with pytest.raises(ApiError) as err:
        api.users.delete("auth0|whatever")
    assert err.value.status_code == 500
    assert err.value.body == {
        "statusCode": 500,
        "error": "Internal Server Error",
        "message": "Internal Server Error",
    }


def test_fault_429_for_sdk(dt, api):
    dt.add_fault(path="/api/v2/users", status=429)
    with pytest.raises(TooManyRequestsError) as err:
        api.users.list()
    assert err.value.body["errorCode"] == "too_many_requests"
    assert err.value.headers["x-ratelimit-remaining"] == "0"


def test_fault_on_token_endpoint_and_jwks(dt, http):
    dt.add_fault(path="/oauth/token", status=500)
    r = http.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert r.status_code == 500 and r.json()["error"] == "server_error"
    dt.add_fault(path="/.well-known/jwks.json", status=503)
    assert http.get("/.well-known/jwks.json").status_code == 503


def test_fault_delay(dt, raw):
    dt.add_fault(path="/api/v2/users", delay_ms=400)
    t0 = time.monotonic()
    assert raw.get("/users").status_code == 200
    assert time.monotonic() - t0 >= 0.4
    dt.add_fault(path="/api/v2/users", delay_ms=300, status=500)
    with pytest.raises(httpx.ReadTimeout):
        raw.get("/users", timeout=0.1)


def test_fault_drop(dt, raw, api):
    dt.add_fault(path="/api/v2/users", drop=True, times=2)
    with pytest.raises(httpx.RemoteProtocolError):
        raw.get("/users")
    with pytest.raises(httpx.TransportError):
        api.users.list()
    assert raw.get("/users").status_code == 200  # the server is fine afterwards


def test_fault_malformed(dt, raw, api):
    dt.add_fault(path="/api/v2/users", malformed=True, times=2)
    r = raw.get("/users")
    assert (
        r.status_code == 200 and r.headers["content-type"] == "application/json" and r.text == '{"users": ['
    )
    with pytest.raises(Exception) as err:  # noqa: B017 - the SDK's JSON error type is not public
        api.users.list()
    assert "Expecting" in str(err.value) or "JSON" in type(err.value).__name__ or err.value


def test_fault_validation_and_clear(dt, http):
    assert http.post("/__dev/faults", json={"path": "/x"}).status_code == 400
    assert http.post("/__dev/faults", json={"path": "nope", "status": 500}).status_code == 400
    dt.add_fault(path="/api/v2", status=500, times=5)
    dt.clear_faults()
    assert dt.faults() == []


def test_every_response_has_rate_limit_headers(dt, http):
    for path in ("/healthz", "/api/v2/users", "/.well-known/jwks.json", "/nowhere"):
        r = http.get(path)
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(r.headers), path
        assert abs(int(r.headers["x-ratelimit-reset"]) - time.time()) < 5


def test_rate_limit_free(make_tenant):
    free = make_tenant(rate_limit="free")
    tok = get_token(free)["access_token"]
    with httpx.Client(base_url=f"{free.base_url}/api/v2", headers={"authorization": f"Bearer {tok}"}) as c:
        time.sleep(1.1)  # full bucket
        codes = [c.get("/users", params={"per_page": 1}) for _ in range(8)]
        assert [r.status_code for r in codes[:2]] == [200, 200]
        assert 429 in [r.status_code for r in codes[2:]]
        limited = next(r for r in codes if r.status_code == 429)
        assert limited.json() == {
            "statusCode": 429,
            "error": "Too Many Requests",
            "message": "Global limit has been reached",
            "errorCode": "too_many_requests",
        }
        assert limited.headers["x-ratelimit-limit"] == "2" and limited.headers["x-ratelimit-remaining"] == "0"
        assert int(limited.headers["x-ratelimit-reset"]) >= int(time.time())
        time.sleep(0.6)
        assert c.get("/users", params={"per_page": 1}).status_code == 200  # refilled at 2/s
    # the token endpoint is not limited
    for _ in range(4):
        get_token(free)
    # auth0-python retries a 429 and gets through
    time.sleep(1.1)
    api = management(free, tok, max_retries=3)
    for _ in range(3):
        assert api.users.list(per_page=1, include_totals=True).items


def test_latency(make_tenant):
    slow = make_tenant(latency_ms=600)
    t0 = time.monotonic()
    assert httpx.get(f"{slow.base_url}/.well-known/jwks.json").status_code == 200
    assert time.monotonic() - t0 >= 0.6
    t0 = time.monotonic()
    slow.stats()  # the control API is not slowed
    assert time.monotonic() - t0 < 0.5
    # the delay is an async sleep: concurrent requests wait together, not one after another
    from concurrent.futures import ThreadPoolExecutor

    t0 = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        codes = list(
            pool.map(lambda _: httpx.get(f"{slow.base_url}/.well-known/jwks.json").status_code, range(4))
        )
    assert codes == [200] * 4 and time.monotonic() - t0 < 1.8


def test_index_lag(make_tenant):
    lag = make_tenant(index_lag_ms=1500)
    api = management(lag, get_token(lag)["access_token"])
    victim, renamed = lag.users()[4], lag.users()[5]
    api.users.delete(victim["user_id"])
    api.users.update(renamed["user_id"], name="Renamed Person")
    t_change = time.monotonic()
    listed = {u.user_id: u for u in api.users.list(per_page=100, include_totals=True).items}
    assert victim["user_id"] in listed  # still in search results
    assert listed[renamed["user_id"]].name == renamed.get("name")  # with its old data
    assert (
        api.users.list(q='name:"Renamed Person"', search_engine="v3", include_totals=True).response.total == 0
    )
    assert api.users.get(renamed["user_id"]).name == "Renamed Person"  # by id: immediate
    time.sleep(max(0.0, 1.6 - (time.monotonic() - t_change)))
    listed = {u.user_id: u for u in api.users.list(per_page=100, include_totals=True).items}
    assert victim["user_id"] not in listed
    assert listed[renamed["user_id"]].name == "Renamed Person"


def test_dev_users_create_and_conflict(dt, http):
    made = dt.create_user(
        email="someone@example.com", connection="google-oauth2", app_metadata={"plan": "pro"}
    )
    assert (
        made["user_id"].startswith("google-oauth2|") and made["identities"][0]["provider"] == "google-oauth2"
    )
    assert made["created_at"].endswith("Z") and made in dt.users()
    assert http.post("/__dev/users", json={"email": "someone@example.com"}).status_code == 409
    assert http.post("/__dev/users", json={"email": "x@example.com", "roles": ["Nope"]}).status_code == 400
    assert dt.accounts() == [
        {"email": "admin@example.com", "password": "devtenant", "role": "User Admin"},
        {"email": "viewer@example.com", "password": "devtenant", "role": "User Viewer"},
        {"email": "staff@example.com", "password": "devtenant", "role": None},
    ]


def test_control_api_is_loopback_only():
    """In-process (ASGI) with a non-loopback client address: the only way to test it on loopback."""
    import asyncio

    from devtenant.config import Config
    from devtenant.server import create_app

    app = create_app(Config(port=1, users=5))

    async def probe(client):
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:1") as c:
            return (await c.get("/__dev/stats")).status_code

    assert asyncio.run(probe(("10.1.2.3", 5000))) == 403
    assert asyncio.run(probe(("127.0.0.1", 5000))) == 200


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"path": "/oauth/token", "id_token": {"forge": "nope"}}, "id_token.forge must be one of"),
        ({"path": "/oauth/token", "id_token": "alg_none"}, 'id_token must be {"forge": kind}'),
        ({"path": "/api/v2/users", "id_token": {"forge": "alg_none"}}, "applies to /oauth/token only"),
        (
            {"path": "/oauth/token", "id_token": {"forge": "alg_none"}, "status": 500},
            "an id_token forgery takes no status",
        ),
    ],
)
def test_id_token_forgery_requests_are_checked(dt, http, fault, message):
    r = http.post("/__dev/faults", json=fault)
    assert r.status_code == 400 and message in r.json()["message"]
    assert dt.faults() == []


def test_an_id_token_forgery_is_listed_and_cleared(dt):
    added = dt.add_fault(path="/oauth/token", id_token={"forge": "alg_none"})
    assert added["id_token"] == {"forge": "alg_none"} and added["times"] == 1 and added["status"] is None
    assert [f["id_token"] for f in dt.faults()] == [{"forge": "alg_none"}]
    dt.clear_faults()
    assert dt.faults() == []
