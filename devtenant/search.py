"""Auth0 user search (``search_engine=v3``): Lucene query string -> predicate over a search doc.

Parsing is luqum's; this module only walks its tree. Supported: ``field:value``, quoted phrases,
``*``/``?`` wildcards (prefix, suffix, inner), AND / OR / NOT / ``-`` / ``+`` and implicit AND,
parentheses, ``field:(a OR b)``, ranges ``[a TO b]`` / ``{a TO b}`` with ``*`` open ends on dates
and numbers, ``>``/``>=``/``<``/``<=``, ``_exists_:field``, ``/regex/``.

Semantics (close to Auth0's):
- email, name, nickname, given_name, family_name: case-insensitive, whole-value match (use
  wildcards for "contains": ``name:*smith*``).
- a term without a field matches email, name, nickname, user_id, or any word of the name.
- dates (created_at, last_login, updated_at): a value is a unit (year, month, day, minute,
  second, ms), so ``created_at:2026-10-01`` is that whole day and ``[2026-10-01 TO 2026-10-31]``
  includes the whole of October 31 (Elasticsearch date rounding).
- backslash escapes are taken literally (``\\*`` is a star, not a wildcard).
- an unknown field matches nothing.
"""

from __future__ import annotations

import calendar
import math
import re
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from luqum import tree
from luqum.exceptions import ParseError
from luqum.parser import parser

from devtenant.people import iso_ms

Doc = dict
Pred = Callable[[Doc], bool]

TEXT_CI = ("email", "name", "nickname", "given_name", "family_name")
DATE_FIELDS = ("created_at", "last_login", "updated_at")
NUMBER_FIELDS = ("logins_count",)
BOOL_FIELDS = ("blocked", "email_verified")
EXACT_FIELDS = ("user_id", "last_ip", "username", "phone_number")
LIST_FIELDS = ("identities.connection", "identities.provider", "identities.user_id", "identities.isSocial")
BARE_FIELDS = ("email", "name", "nickname", "user_id")


class QueryError(ValueError):
    """The query cannot be parsed or used; the message is shown to the caller."""


# --- search documents -------------------------------------------------------------------------
def parse_ts(value) -> int | None:
    """ISO-8601 -> epoch ms (None if absent/unreadable)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        return calendar.timegm(dt.timetuple()) * 1000 + dt.microsecond // 1000
    return int(dt.timestamp() * 1000)


def make_doc(user: dict) -> Doc:
    """A flat, pre-normalised view of one user for fast predicates."""
    doc: Doc = {"_user": user, "user_id": user.get("user_id")}
    for f in TEXT_CI:
        v = user.get(f)
        if isinstance(v, str):
            doc[f] = v.lower()
    for f in DATE_FIELDS:
        v = user.get(f)
        if v is None:
            continue
        if not (type(v) is str and len(v) == 24 and v[10] == "T" and v[19] == "." and v[23] == "Z"):
            ms = parse_ts(v)
            if ms is None:
                continue
            v = iso_ms(ms)
        doc[f] = v  # canonical ISO strings sort and compare like the instants they name
    for f in NUMBER_FIELDS:
        v = user.get(f)
        if isinstance(v, int | float) and not isinstance(v, bool):
            doc[f] = v
    doc["blocked"] = user.get("blocked") is True
    if "email_verified" in user:
        doc["email_verified"] = bool(user.get("email_verified"))
    for f in ("last_ip", "username", "phone_number"):
        if isinstance(user.get(f), str):
            doc[f] = user[f]
    doc["_idents"] = user.get("identities") or ()
    name = doc.get("name")
    uid = user.get("user_id")
    bare = [doc[f] for f in ("email", "name", "nickname") if f in doc]
    if isinstance(uid, str):
        bare.append(uid.lower())
    if name and " " in name:
        bare.extend(name.split())
    doc["_bare"] = tuple(bare)
    doc["_bare_s"] = "\n".join(bare)
    return doc


def _ident_values(doc: Doc, sub: str) -> list[str]:
    out = []
    for ident in doc["_idents"]:
        if isinstance(ident, dict) and sub in ident:
            v = ident[sub]
            out.append(("true" if v else "false") if isinstance(v, bool) else str(v))
    return out


def _lookup(user: dict, dotted: str):
    cur = user
    for part in dotted.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return _MISSING
    return cur


_MISSING = object()


# --- values ----------------------------------------------------------------------------------
_ESC = re.compile(r"\\(.)", re.S)


def unescape(text: str) -> str:
    return _ESC.sub(r"\1", text)


_ONE = ("?",)  # the single-character wildcard in a segment list (never a str)


def _segments(raw: str) -> list[str | None]:
    """Split a (non-phrase) value into literal runs (unescaped) and wildcards (None = ``*``, ``?``)."""
    out: list = []
    buf: list[str] = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            buf.append(raw[i + 1])
            i += 2
            continue
        if c in "*?":
            if buf:
                out.append("".join(buf))
                buf = []
            out.append(None if c == "*" else _ONE)
        else:
            buf.append(c)
        i += 1
    if buf:
        out.append("".join(buf))
    return out


def _shape(raw: str, ci: bool) -> tuple[str, str | None, list]:
    """("eq"|"prefix"|"suffix"|"contains"|"any"|"regex", literal, segments)."""
    segs = _segments(raw)
    if ci:
        segs = [x.lower() if isinstance(x, str) else x for x in segs]
    lits = [x for x in segs if isinstance(x, str)]
    wild = [x for x in segs if not isinstance(x, str)]
    if not wild:
        return "eq", "".join(lits), segs
    if _ONE not in wild:
        if segs == [None] or all(x is None for x in segs):
            return "any", None, segs
        if len(segs) == 2 and segs[1] is None:
            return "prefix", segs[0], segs
        if len(segs) == 2 and segs[0] is None:
            return "suffix", segs[1], segs
        if len(segs) == 3 and segs[0] is None and segs[2] is None:
            return "contains", segs[1], segs
    return "regex", None, segs


def _regex(segs: list, line: bool, ci: bool) -> re.Pattern:
    star, one = ("[^\n]*", "[^\n]") if line else (".*", ".")
    body = "".join(star if x is None else one if x is _ONE else re.escape(x) for x in segs)
    if line:
        return re.compile("^" + body + "$", re.M | (re.I if ci else 0))
    return re.compile(body, re.S | (re.I if ci else 0))


def value_matcher(raw: str, *, phrase: bool, ci: bool) -> Callable[[str], bool]:
    """A test for one string value: exact (after unescaping) or a wildcard pattern.

    With ``ci`` the value tested must already be lower-case (search docs keep those fields so).
    """
    if phrase:
        text = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw
        lit = unescape(text)
        return (lit.lower() if ci else lit).__eq__
    kind, lit, segs = _shape(raw, ci)
    if kind == "eq":
        return lit.__eq__
    if kind == "prefix":
        return lambda s: s.startswith(lit)
    if kind == "suffix":
        return lambda s: s.endswith(lit)
    if kind == "contains":
        return lambda s: lit in s
    if kind == "any":
        return lambda s: True
    rx = _regex(segs, False, ci)
    return lambda s: rx.fullmatch(s) is not None


def bare_matcher(raw: str, *, phrase: bool) -> Pred:
    """A term without a field: email, name, nickname, user_id or a word of the name (case-insensitive)."""
    if phrase:
        text = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw
        lit = unescape(text).lower()
        return lambda d: lit in d["_bare"]
    kind, lit, segs = _shape(raw, True)
    if kind == "eq":
        return lambda d: lit in d["_bare"]
    if "\n" in (lit or ""):
        return lambda d: False
    if kind == "prefix":
        nl = "\n" + lit
        return lambda d: (s := d["_bare_s"]).startswith(lit) or nl in s
    if kind == "suffix":
        nl = lit + "\n"
        return lambda d: (s := d["_bare_s"]).endswith(lit) or nl in s
    if kind == "contains":
        return lambda d: lit in d["_bare_s"]
    if kind == "any":
        return lambda d: True
    rx = _regex(segs, True, True)
    return lambda d: rx.search(d["_bare_s"]) is not None


def _date_unit(raw: str) -> tuple[int, int]:
    """(first ms, last ms) of the unit a date value names."""
    s = unescape(raw).strip()
    m = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", s)
    if m:
        y, mo, d = int(m[1]), int(m[2] or 1), int(m[3] or 1)
        start = calendar.timegm((y, mo, d, 0, 0, 0))
        if m[3]:
            end = start + 86400
        elif m[2]:
            end = calendar.timegm((y + (mo == 12), mo % 12 + 1, 1, 0, 0, 0))
        else:
            end = calendar.timegm((y + 1, 1, 1, 0, 0, 0))
        return start * 1000, end * 1000 - 1
    ms = parse_ts(s)
    if ms is None:
        raise QueryError(f"invalid date: {s}")
    core = re.sub(r"(Z|[+-]\d{2}:?\d{2})$", "", s)
    if "." in core:
        span = 1
    elif core.count(":") >= 2:
        span = 1000
    elif core.count(":") == 1:
        span = 60_000
    else:
        span = 3_600_000
    return ms, ms + span - 1


def _number(raw: str) -> float:
    try:
        return float(unescape(raw))
    except ValueError as exc:
        raise QueryError(f"not a number: {raw}") from exc


# --- compiling ---------------------------------------------------------------------------------
def _term(field: str | None, node) -> Pred:
    phrase = isinstance(node, tree.Phrase)
    raw = node.value
    if field is None:
        return bare_matcher(raw, phrase=phrase)
    if field == "_exists_":
        target = unescape(raw.strip('"'))
        if target in LIST_FIELDS:
            sub = target.split(".", 1)[1]
            return lambda d: bool(_ident_values(d, sub))
        get = _getter(target)
        return lambda d: get(d) not in (_MISSING, None)
    if field in TEXT_CI:
        m = value_matcher(raw, phrase=phrase, ci=True)
        return lambda d: (v := d.get(field)) is not None and m(v)
    if field in DATE_FIELDS:
        if not phrase and ("*" in raw.replace("\\*", "") or "?" in raw.replace("\\?", "")):
            m = value_matcher(raw, phrase=False, ci=False)
            return lambda d: (v := d.get(field)) is not None and m(v)
        lo, hi = (iso_ms(x) for x in _date_unit(raw[1:-1] if phrase else raw))
        return lambda d: (v := d.get(field)) is not None and lo <= v <= hi
    if field in NUMBER_FIELDS:
        n = _number(raw.strip('"'))
        return lambda d: d.get(field) == n
    if field in BOOL_FIELDS:
        want = unescape(raw.strip('"')).lower()
        if want not in ("true", "false"):
            return lambda d: False
        b = want == "true"
        return lambda d: field in d and d[field] is b
    if field in EXACT_FIELDS:
        m = value_matcher(raw, phrase=phrase, ci=False)
        return lambda d: (v := d.get(field)) is not None and m(v)
    if field in LIST_FIELDS:
        m = value_matcher(raw, phrase=phrase, ci=False)
        sub = field.split(".", 1)[1]

        def ident(d: Doc) -> bool:
            for i in d["_idents"]:
                v = i.get(sub) if type(i) is dict else None
                if v is not None and m(
                    v if type(v) is str else ("true" if v is True else "false" if v is False else str(v))
                ):
                    return True
            return False

        return ident
    if field.startswith(("app_metadata.", "user_metadata.")):
        m = value_matcher(raw, phrase=phrase, ci=False)
        get = _getter(field)

        def meta(d: Doc) -> bool:
            v = get(d)
            if v is _MISSING or v is None:
                return False
            if type(v) is str:
                return m(v)
            vals = v if isinstance(v, list) else [v]
            for x in vals:
                if isinstance(x, bool):
                    x = "true" if x else "false"
                elif isinstance(x, dict | list):
                    continue
                if m(str(x)):
                    return True
            return False

        return meta
    return lambda d: False  # unknown field: matches nothing


def _bounds(field: str, low, high, inc_lo: bool, inc_hi: bool) -> Pred:
    def val(node):
        if node is None:
            return None
        raw = node.value
        if isinstance(node, tree.Phrase):
            raw = raw[1:-1]
        return None if raw == "*" else raw

    lo_raw, hi_raw = val(low), val(high)
    if field in DATE_FIELDS:
        lo = hi = None
        if lo_raw is not None:
            a, b = _date_unit(lo_raw)
            lo = a if inc_lo else b + 1
        if hi_raw is not None:
            a, b = _date_unit(hi_raw)
            hi = b if inc_hi else a - 1
        lo_s = "" if lo is None else iso_ms(max(lo, 0))
        hi_s = "\uffff" if hi is None else iso_ms(max(hi, 0))
        return lambda d: (v := d.get(field)) is not None and lo_s <= v <= hi_s
    elif field in NUMBER_FIELDS:
        lo = -math.inf if lo_raw is None else _number(lo_raw)
        hi = math.inf if hi_raw is None else _number(hi_raw)
        if inc_lo and inc_hi:
            return lambda d: (v := d.get(field)) is not None and lo <= v <= hi
        if inc_lo:
            return lambda d: (v := d.get(field)) is not None and lo <= v < hi
        if inc_hi:
            return lambda d: (v := d.get(field)) is not None and lo < v <= hi
        return lambda d: (v := d.get(field)) is not None and lo < v < hi
    elif field in TEXT_CI or field in EXACT_FIELDS or field.startswith(("app_metadata.", "user_metadata.")):
        ci = field in TEXT_CI
        lo = None if lo_raw is None else (unescape(lo_raw).lower() if ci else unescape(lo_raw))
        hi = None if hi_raw is None else (unescape(hi_raw).lower() if ci else unescape(hi_raw))
        if lo is not None and not inc_lo:
            lo = ("gt", lo)
        if hi is not None and not inc_hi:
            hi = ("lt", hi)
        key = field
        get = (lambda d: _lookup(d["_user"], field)) if "." in field else None
    else:
        return lambda d: False

    def inside(d: Doc) -> bool:
        v = get(d) if get else d.get(key)
        if v is None or v is _MISSING or isinstance(v, bool | dict | list):
            return False
        if isinstance(lo, tuple):
            try:
                if not v > lo[1]:
                    return False
            except TypeError:
                return False
        elif lo is not None:
            try:
                if not v >= lo:
                    return False
            except TypeError:
                return False
        if isinstance(hi, tuple):
            try:
                return v < hi[1]
            except TypeError:
                return False
        if hi is not None:
            try:
                return v <= hi
            except TypeError:
                return False
        return True

    return inside


def _all(preds: list[Pred]) -> Pred:
    if len(preds) == 1:
        return preds[0]
    first, rest = preds[0], _all(preds[1:])
    return lambda d: first(d) and rest(d)


def _any(preds: list[Pred]) -> Pred:
    if len(preds) == 1:
        return preds[0]
    first, rest = preds[0], _any(preds[1:])
    return lambda d: first(d) or rest(d)


def _getter(field: str) -> Callable[[Doc], object]:
    """Value of a (dotted) field of the raw user; _MISSING when absent."""
    parts = field.split(".")
    if len(parts) == 1:
        return lambda d: d["_user"].get(field, _MISSING)
    if len(parts) == 2:
        a, b = parts

        def two(d: Doc):
            inner = d["_user"].get(a)
            return inner.get(b, _MISSING) if isinstance(inner, dict) else _MISSING

        return two
    return lambda d: _lookup(d["_user"], field)


def _compile(node, field: str | None) -> Pred:
    if isinstance(node, tree.SearchField):
        name = node.name
        expr = node.expr
        if isinstance(expr, tree.SearchField):
            # a value with an unescaped colon, e.g. last_login:2026-10-01T10:00:00Z
            inner = expr
            while isinstance(inner, tree.SearchField):
                name_tail = inner.name
                inner = inner.expr
                if isinstance(inner, tree.Term):
                    inner = type(inner)(f"{name_tail}:{inner.value}")
                    break
            return _term(name, inner) if isinstance(inner, tree.Term) else (lambda d: False)
        if field is not None:
            raise QueryError(f"nested field {name} inside {field}")
        return _compile(expr, name)
    if isinstance(node, tree.Group | tree.FieldGroup):
        return _compile(node.expr, field)
    if isinstance(node, tree.AndOperation | tree.UnknownOperation):
        return _all([_compile(c, field) for c in node.children])
    if isinstance(node, tree.OrOperation):
        return _any([_compile(c, field) for c in node.children])
    if isinstance(node, tree.Not | tree.Prohibit):
        p = _compile(node.a, field)
        return lambda d: not p(d)
    if isinstance(node, tree.Plus):
        return _compile(node.a, field)
    if isinstance(node, tree.Boost):
        return _compile(node.expr, field)
    if isinstance(node, tree.Fuzzy | tree.Proximity):
        return _compile(node.term, field)
    if isinstance(node, tree.Range):
        if field is None:
            raise QueryError("a range needs a field")
        return _bounds(field, node.low, node.high, node.include_low, node.include_high)
    if isinstance(node, tree.From):
        if field is None:
            raise QueryError("a range needs a field")
        return _bounds(field, node.a, None, node.include, True)
    if isinstance(node, tree.To):
        if field is None:
            raise QueryError("a range needs a field")
        return _bounds(field, None, node.a, True, node.include)
    if isinstance(node, tree.Regex):
        rx = re.compile(node.value[1:-1], re.S | (re.I if field in TEXT_CI or field is None else 0))
        if field is None:
            return lambda d: any(isinstance(d.get(f), str) and rx.fullmatch(d[f]) for f in BARE_FIELDS)
        if field in LIST_FIELDS:
            sub = field.split(".", 1)[1]
            return lambda d: any(rx.fullmatch(v) for v in _ident_values(d, sub))
        if "." in field:
            return lambda d: isinstance(v := _lookup(d["_user"], field), str) and rx.fullmatch(v) is not None
        return lambda d: isinstance(v := d.get(field), str) and rx.fullmatch(v) is not None
    if isinstance(node, tree.Word | tree.Phrase):
        return _term(field, node)
    raise QueryError(f"unsupported syntax: {node!s}")


def compile_query(q: str) -> Pred:
    try:
        ast = parser.parse(q)
    except ParseError as exc:
        raise QueryError(str(exc)) from exc
    except Exception as exc:  # luqum/ply can raise odd things on odd input
        raise QueryError(f"cannot parse query: {exc}") from exc
    try:
        return _compile(ast, None)
    except re.error as exc:
        raise QueryError(f"invalid regular expression: {exc}") from exc


class QueryCache:
    """Compiled predicates by query string (LRU)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[str, Pred | QueryError] = OrderedDict()

    def get(self, q: str) -> Pred:
        hit = self._items.get(q)
        if hit is None:
            try:
                hit = compile_query(q)
            except QueryError as exc:
                hit = exc
            self._items[q] = hit
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(q)
        if isinstance(hit, QueryError):
            raise hit
        return hit
