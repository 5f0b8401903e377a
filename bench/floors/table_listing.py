"""The Users table's listing fragment alone, bare: its own row, the 100-row table, the bulk bar's hint, the
pager and the export, from constants (what a rerun of the listing draws; beside the bare table, table.py,
it shows what the listing's own controls cost). Keep it in step with table_page.py."""

from bench.floors.table_page import table
from bench.floors.users_parts import listing_alone

listing_alone("table", table)
