"""The listing's own elements drawn bare for a view switch (see switch.py): its row, the cards or the
table, the pager and the export, whichever `DATA["switch_to"]` says, in one session."""

from bench.floors import DATA
from bench.floors.grid_page import grid
from bench.floors.table_page import table
from bench.floors.users_parts import listing_alone

listing_alone(DATA["switch_to"], grid if DATA["switch_to"] == "grid" else table)
