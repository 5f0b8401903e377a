"""``python -m devtenant``: run a local Auth0-compatible tenant on loopback.

Once it accepts connections it prints a banner to stdout whose last line is
``devtenant ready on http://HOST:PORT``, with the real port when started with ``--port 0``
(devtenant/processes.py reads that line to find it).
"""

from __future__ import annotations

import argparse
import sys

from devtenant.config import Config


def parse(argv: list[str] | None = None) -> Config:
    p = argparse.ArgumentParser(prog="python -m devtenant", description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8600, help="port (default 8600; 0 picks a free one)")
    p.add_argument("--users", type=int, default=150, help="generated end users (default 150, up to 100000+)")
    p.add_argument("--seed", type=int, default=42, help="seed for generated users (default 42)")
    p.add_argument("--latency-ms", type=int, default=0, help="added to every response (default 0)")
    p.add_argument(
        "--rate-limit",
        choices=("none", "free"),
        default="none",
        help="Management API rate limit: none, or free (Auth0 Free plan: burst 2, 2/s)",
    )
    p.add_argument("--token-ttl", type=int, default=86400, help="Management API token lifetime, s (86400)")
    p.add_argument("--id-token-ttl", type=int, default=36000, help="ID token lifetime, s (36000)")
    p.add_argument(
        "--index-lag-ms",
        type=int,
        default=0,
        help="user search/list shows old data this long after a change (default 0)",
    )
    p.add_argument(
        "--plan",
        choices=("free", "essentials", "professional", "enterprise"),
        default="enterprise",
        help="Auth0 plan: user sessions and refresh tokens answer only on enterprise (the default)",
    )
    p.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    args = p.parse_args(argv)
    try:
        cfg = Config(
            host=args.host,
            port=args.port,
            users=args.users,
            seed=args.seed,
            latency_ms=args.latency_ms,
            rate_limit=args.rate_limit,
            token_ttl=args.token_ttl,
            id_token_ttl=args.id_token_ttl,
            index_lag_ms=args.index_lag_ms,
            plan=args.plan,
        )
    except ValueError as exc:
        p.error(str(exc))
    cfg.log_level = args.log_level  # type: ignore[attr-defined]
    return cfg


def main(argv: list[str] | None = None) -> int:
    cfg = parse(argv)
    from devtenant.server import serve

    try:
        serve(cfg, log_level=cfg.log_level)  # type: ignore[attr-defined]
    except OSError as exc:
        print(f"devtenant: cannot listen on {cfg.host}:{cfg.port}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
