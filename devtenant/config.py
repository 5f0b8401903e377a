"""Options of one dev tenant run (the CLI in ``__main__`` fills this in)."""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass, field

RATE_LIMITS = ("none", "free")
PLANS = ("free", "essentials", "professional", "enterprise")


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 8600  # 0: pick a free port (serve() fills the real one in)
    users: int = 150  # generated end users (staff accounts come on top)
    seed: int = 42
    latency_ms: int = 0
    rate_limit: str = "none"  # "none" | "free" (Auth0 Free plan: burst 2, 2 per second)
    token_ttl: int = 86400  # Management API (client credentials) token lifetime, seconds
    id_token_ttl: int = 36000
    index_lag_ms: int = 0  # user search/list lags behind writes by this much
    plan: str = "enterprise"  # sessions and refresh tokens answer only on enterprise
    now_ms: int = field(default_factory=lambda: int(time.time() * 1000))  # "now" for generated dates

    def __post_init__(self) -> None:
        if self.rate_limit not in RATE_LIMITS:
            raise ValueError(f"rate_limit must be one of {RATE_LIMITS}, not {self.rate_limit!r}")
        if self.plan not in PLANS:
            raise ValueError(f"plan must be one of {PLANS}, not {self.plan!r}")
        for name in ("users", "latency_ms", "index_lag_ms", "port"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.token_ttl <= 0 or self.id_token_ttl <= 0:
            raise ValueError("token lifetimes must be > 0")
        check_loopback(self.host)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def issuer(self) -> str:
        return self.base_url + "/"

    @property
    def api_audience(self) -> str:
        return self.base_url + "/api/v2/"


def check_loopback(host: str) -> None:
    """Refuse anything but a loopback address: the dev tenant has fixed, public secrets."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        raise ValueError(f"cannot resolve host {host!r}: {exc}") from exc
    for info in infos:
        addr = info[4][0].split("%", 1)[0]
        if not ipaddress.ip_address(addr).is_loopback:
            raise ValueError(f"devtenant only binds loopback addresses; {host!r} resolves to {addr}")
