"""Shared data and helpers for the audit store tests."""

from __future__ import annotations

import os
from pathlib import Path

from admin_core.audit import Actor, Target

ROOT = Path(__file__).resolve().parents[2]

ALICE = Actor(sub="auth0|alice", email="alice@example.com")
BOB = Actor(sub="github|4242", email="bob@example.org")
CAROL = Target(user_id="auth0|carol", email="carol@example.com", name="Carol Jones")


def subprocess_env() -> dict[str, str]:
    """Environment for child Python processes that import admin_core."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env
