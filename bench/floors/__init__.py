"""Floors: bare scripts with the same Streamlit calls as a page, fed from memory (no data access, auth or
caching). Their warm rerun time is what Streamlit itself costs for that output."""

# Filled by bench.appviews before a floor script runs (AppTest runs scripts in this process).
DATA: dict = {}
