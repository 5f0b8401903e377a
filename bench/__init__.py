"""`make bench`: Management API request counts, token grants, warm-rerun server time against Streamlit's
own floor, browser timings and memory per session, at several dev-tenant sizes. See `python -m bench -h`."""
