"""`python -m bench.timed_server run app.py ...`: Streamlit's own command line, with the app's timing log
lines (logger `admin_core.timing`, INFO) printed to stderr for bench/signin.py to read. The app configures
no logging handler, so under `streamlit run` these lines go nowhere."""

import logging
import sys

from streamlit.web.cli import main

handler = logging.StreamHandler(sys.stderr)
handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
timing = logging.getLogger("admin_core.timing")
timing.addHandler(handler)
timing.setLevel(logging.INFO)
timing.propagate = False

if __name__ == "__main__":
    sys.exit(main())
