"""The listing's own elements drawn bare for one listing interaction (see step.py): its row, the cards or
the table of `DATA["step"]`, the pager and the export, in one session: the view left, then the view
landed on. For a tick ("rows"), only what the table's fragment draws: the table and the bulk bar's hint
(the app's run draws the bulk bar instead once rows are ticked)."""

from bench.floors import DATA
from bench.floors.grid_page import grid
from bench.floors.table_page import table
from bench.floors.users_parts import listing_alone

view, data = DATA["step"]
if view == "rows":  # a tick reruns only the table's own fragment: the table and its bulk bar's hint
    table(data)
else:
    listing_alone(view, (lambda: grid(data)) if view == "grid" else (lambda: table(data)))
