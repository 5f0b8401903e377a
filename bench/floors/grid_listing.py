"""The Users grid's listing fragment alone, bare: its own row, the 24 cards, the pager and the export, from
constants (what a rerun of the listing draws; beside the bare cards, grid.py, it shows what the listing's
own controls cost). Keep it in step with grid_page.py."""

from bench.floors.grid_page import grid
from bench.floors.users_parts import listing_alone

listing_alone("grid", grid)
