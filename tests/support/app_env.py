"""The app's settings for a test or the bench, pointed at a dev tenant, and the caches to clear between runs."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from admin_core.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
STAFF = {"admin": "admin@example.com", "viewer": "viewer@example.com", "staff": "staff@example.com"}


def app_environment(base_url: str, tmp_path: Path, **overrides: str) -> dict[str, str]:
    """Every setting explicitly (so a developer's .env never leaks into a test), pointed at a dev tenant."""
    env = {spec.name: "" for spec in SETTINGS}
    env.update(
        AUTH0_DOMAIN=base_url,
        AUTH0_CLIENT_ID="dashboard",
        AUTH0_CLIENT_SECRET="dashboard-secret",
        APP_URL="http://localhost:8501",
        DATA_DIR=str(tmp_path / "data"),
        AUTH0_TIMEOUT_SECONDS="5",  # generous on a loaded 2-core CI machine; fault tests delay 10 s
        AUTH0_MAX_RETRIES="0",
    )
    env.update(overrides)
    return env


def clear_app_caches() -> None:
    """Streamlit's caches are process-wide: clear them so one test's data never reaches the next."""
    st.cache_data.clear()
    st.cache_resource.clear()
