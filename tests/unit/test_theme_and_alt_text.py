"""WCAG AA from the theme's own colours, and the avatars' alternative text (issue 18).

axe-core (tests/browser/test_accessibility.py) checks what it sees on the pages it visits; this checks the
theme's colours in every pairing Streamlit draws them in, including ones no page shows right now.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
THEME = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]
WHITE = "#FFFFFF"
TEXT_AA = 4.5  # WCAG 2.1 1.4.3, normal text
CONTROL_AA = 3.0  # WCAG 2.1 1.4.11, the parts of a control that identify it (borders)
# Streamlit's captions and placeholder-like texts: the text colour at 60 % opacity (measured by axe in
# Chromium: #1E212A showed as #787A7F on white).
FADED = 0.6
# The selected option of a segmented control: the primary colour on its own 20 % tint.
TINT = 0.2


def rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def blend(colour: str, alpha: float, over: str) -> str:
    top, bottom = rgb(colour), rgb(over)
    return "#" + "".join(
        f"{round(alpha * t + (1 - alpha) * b):02X}" for t, b in zip(top, bottom, strict=True)
    )


def luminance(colour: str) -> float:
    channels = [c / 255 for c in rgb(colour)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_matches_known_pairs():
    assert contrast("#000000", WHITE) == pytest.approx(21.0)
    assert contrast("#767676", WHITE) == pytest.approx(4.54, abs=0.01)
    assert contrast("#635DFF", blend("#635DFF", TINT, WHITE)) == pytest.approx(3.56, abs=0.01)  # axe's figure


def pairings() -> list[tuple[str, str, str, float]]:
    """(what, foreground, background, needed) for every way the theme's colours meet."""
    bg, bg2 = THEME["backgroundColor"], THEME["secondaryBackgroundColor"]
    text, primary = THEME["textColor"], THEME["primaryColor"]
    link, border = THEME.get("linkColor", primary), THEME["borderColor"]
    return [
        ("text", text, bg, TEXT_AA),
        ("text on widgets", text, bg2, TEXT_AA),
        ("captions", blend(text, FADED, bg), bg, TEXT_AA),
        ("captions on widgets", blend(text, FADED, bg2), bg2, TEXT_AA),
        ("links", link, bg, TEXT_AA),
        ("primary text", primary, bg, TEXT_AA),
        ("selected view switch", primary, blend(primary, TINT, bg), TEXT_AA),
        ("primary button label", WHITE, primary, TEXT_AA),
        ("control borders", border, bg, CONTROL_AA),
        ("control borders on widgets", border, bg2, CONTROL_AA),
        ("focused control border", primary, bg, CONTROL_AA),
    ]


@pytest.mark.parametrize(("what", "fg", "bg", "needed"), pairings(), ids=[p[0] for p in pairings()])
def test_theme_colours_meet_wcag_aa(what, fg, bg, needed):
    assert contrast(fg, bg) >= needed, f"{what}: {fg} on {bg} is {contrast(fg, bg):.2f}:1, needs {needed}:1"


HOSTILE = 'Ada "<img src=x onerror=alert(1)>" **bold**\n[link](https://evil.example) :red[x]'


def _avatars(name: str) -> None:
    from admin_core.domain import User
    from admin_core.ui.cards import render_card, render_detail

    person = User(user_id="auth0|alt", email="ada@example.com", name=name)
    render_card(person, can_change=True, is_self=False, on_detail=print, on_block=print, on_delete=print)
    render_detail(person, [], None)


def _images(at: AppTest) -> list:
    found = []

    def walk(node) -> None:
        if getattr(node, "type", None) == "image":
            found.extend(node.proto.imgs)
        children = getattr(node, "children", None)
        for child in children.values() if isinstance(children, dict) else ():
            walk(child)

    walk(at._tree)
    return found


def test_every_avatar_has_the_persons_name_as_plain_alternative_text():
    """The name goes to the <img alt> attribute as typed (one line), never escaped for Markdown or cut."""
    at = AppTest.from_function(_avatars, args=(HOSTILE,), default_timeout=30).run()
    assert not at.exception
    images = _images(at)
    assert len(images) == 2  # the card and the detail view
    assert {image.alt for image in images} == {" ".join(HOSTILE.split())}
