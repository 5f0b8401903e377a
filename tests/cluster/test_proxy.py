"""The proxy in front of two instances, over plain HTTP: websocket upgrade, affinity for many clients on one
IP, the instance named in X-Served-By, the security headers and the Host check."""

from __future__ import annotations

import base64
import os
import socket
from collections import Counter

import httpx
import pytest

from deploy.cluster import Cluster
from deploy.proxy import ROUTE_COOKIE, SERVER_COOKIE


@pytest.fixture(scope="module")
def cluster(start_cluster) -> Cluster:
    return start_cluster("proxy")


def upgrade(cluster: Cluster, cookie: str = "") -> tuple[str, dict[str, str]]:
    """A websocket handshake for /_stcore/stream through the proxy: (status line, response headers)."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        "GET /_stcore/stream HTTP/1.1\r\n"
        f"Host: localhost:{cluster.proxy_port}\r\n"
        f"Origin: http://localhost:{cluster.proxy_port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: streamlit\r\n" + (f"Cookie: {cookie}\r\n" if cookie else "") + "\r\n"
    )
    with socket.create_connection(("127.0.0.1", cluster.proxy_port), timeout=10) as sock:
        sock.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return head[0], headers


def browser_like(cluster: Cluster) -> httpx.Client:
    """A client with its own cookie jar, talking to the proxy under the app's host name."""
    return httpx.Client(
        base_url=cluster.proxy_url(), headers={"Host": f"localhost:{cluster.proxy_port}"}, trust_env=False
    )


def test_the_websocket_upgrade_is_answered_101_by_a_named_instance(cluster):
    status, headers = upgrade(cluster)
    assert status.startswith("HTTP/1.1 101"), (status, headers)
    assert headers["upgrade"].lower() == "websocket"
    assert headers["x-served-by"] in {"app-1", "app-2"}


def test_many_clients_on_one_ip_each_stay_on_one_instance_and_both_instances_get_some(cluster):
    served_first = Counter()
    for _ in range(30):
        with browser_like(cluster) as client:
            first = client.get("/")
            assert first.status_code == 200
            assert ROUTE_COOKIE in client.cookies and SERVER_COOKIE in client.cookies
            instance = first.headers["x-served-by"]
            served_first[instance] += 1
            for path in ("/_stcore/health", "/", "/_stcore/host-config", "/users") * 3:
                assert client.get(path).headers["x-served-by"] == instance, path
            cookie = f"{ROUTE_COOKIE}={client.cookies[ROUTE_COOKIE]}"
            assert upgrade(cluster, cookie)[1]["x-served-by"] == instance
            port = client.cookies[SERVER_COOKIE]
            assert cluster.instance(instance).port == int(port)
    assert set(served_first) == {"app-1", "app-2"}, served_first


def test_every_answer_forbids_framing_by_other_sites(cluster):
    with browser_like(cluster) as client:
        for path in ("/", "/_stcore/health", "/static/does-not-exist.js", "/no-such-page"):
            answer = client.get(path)
            assert answer.headers["content-security-policy"] == "frame-ancestors 'none'", path
            assert answer.headers["x-frame-options"] == "DENY", path
            assert answer.headers["x-content-type-options"] == "nosniff", path
        # The app's own components are iframes of its page: framed by the same origin only.
        component = client.get("/component/streamlit_oauth.authorize_button/index.html")
        assert component.headers["content-security-policy"] == "frame-ancestors 'self'"
        assert component.headers["x-frame-options"] == "SAMEORIGIN"
    status, headers = upgrade(cluster)
    assert headers["content-security-policy"] == "frame-ancestors 'none'"


def test_a_request_for_another_host_name_gets_no_answer(cluster):
    with httpx.Client(trust_env=False) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(cluster.proxy_url("/"), headers={"Host": "evil.example"})
        assert client.get(cluster.proxy_url("/"), headers={"Host": "127.0.0.1"}).status_code == 200


def test_the_instances_share_every_setting_and_trust_only_the_proxys_forwarded_host(cluster):
    """TRUST_PROXY_HEADERS=true is safe only because the proxy replaces X-Forwarded-Host with its own; one
    cookie secret for all instances, so a browser moved to another instance keeps a valid XSRF cookie."""
    conf = (cluster.workdir / "nginx" / "nginx.conf").read_text()
    assert "proxy_set_header X-Forwarded-Host $host:$server_port;" in conf
    assert all(instance.env["TRUST_PROXY_HEADERS"] == "true" for instance in cluster.instances)
    first, second = ({k: v for k, v in i.env.items() if k != "DATA_DIR"} for i in cluster.instances)
    assert first == second
    assert len(first["STREAMLIT_SERVER_COOKIE_SECRET"]) >= 32


def test_the_proxy_closes_idle_instance_connections_before_streamlits_server_does(tmp_path):
    """nginx reuses its connections to the instances (`keepalive`); uvicorn, Streamlit's server, closes an
    idle one after its `timeout_keep_alive`. nginx must let go first, or a request sent on a connection as
    uvicorn closes it is reset and the instance is marked failed (max_fails=1) for every browser."""
    import re

    import uvicorn

    from deploy.proxy import render_conf

    conf = render_conf(tmp_path, listen_port=8080, instances=[("app-1", 8501), ("app-2", 8502)])
    upstream = re.search(r"upstream streamlit \{(.*?)\n    \}", conf, re.S)
    assert upstream is not None
    found = re.search(r"^\s*keepalive_timeout (\d+)s;", upstream.group(1), re.M)
    assert found is not None, "the upstream keeps nginx's default keep-alive (60 s)"
    server_side = uvicorn.Config(app=None).timeout_keep_alive  # what `streamlit run` leaves it at
    assert int(found.group(1)) < server_side
