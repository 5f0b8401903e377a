"""Auth0 v3 Lucene queries built from what a person typed or picked: typed text can never widen a search.

Streamlit-free and SDK-free.
"""

from __future__ import annotations

# Elasticsearch's reserved characters (Auth0 search runs on it) plus the apostrophe, which some Lucene
# parsers read as a quote; escaping a character that needs none is harmless.
LUCENE_SPECIAL = set("+-=&|!(){}[]^\"~*?:\\/<>'")


def escape_lucene(text: str) -> str:
    """Escape every Lucene special character (and spaces) so typed text is matched literally."""
    out = []
    for char in text:
        if char in LUCENE_SPECIAL or char.isspace():
            out.append("\\" + (" " if char.isspace() else char))
        else:
            out.append(char)
    return "".join(out)


def phrase(text: str) -> str:
    """`text` as one quoted Lucene phrase, matched literally (the only way this app quotes a value)."""
    return f'"{escape_lucene(text)}"'


def build_query(
    text: str = "",
    *,
    advanced: bool = False,
    blocked: bool = False,
    never_logged_in: bool = False,
    connection: str | None = None,
) -> str | None:
    """The v3 Lucene query for the Users page: plain text is a prefix match on email, name and nickname."""
    parts: list[str] = []
    # An email copied from a card carries the invisible word joiner that keeps it from becoming a link
    # (admin_core.ui.chrome.md); pasted back here, it must still find the person.
    text = " ".join(text.replace("\u2060", "").split())
    if text and advanced:
        parts.append(f"({text})")
    elif text:
        # Auth0 wants at least three characters before a wildcard; shorter text matches whole words.
        value = f"{escape_lucene(text.lower())}*" if len(text) >= 3 else phrase(text.lower())
        parts.append(f"(email:{value} OR name:{value} OR nickname:{value})")
    if blocked:
        parts.append("blocked:true")
    if never_logged_in:
        parts.append("NOT _exists_:last_login")
    if connection:
        parts.append(f"identities.connection:{phrase(connection)}")
    return " AND ".join(parts) or None
