"""In-memory users and roles, thread-safe.

Two views of the users:
- ``live``: what ``GET /users/{id}`` and sign-in see; writes land here at once.
- the search index (``SearchIndex``): what ``GET /users`` lists and searches. Writes reach it
  ``index_lag_ms`` later (Auth0's user search is eventually consistent); with 0 lag at once.

User dicts are never mutated in place (copy on write), so both views can share them.
The index keeps one sorted order per sort field (missing values kept apart so they sort last in
both directions), so a page is "filter + slice", never a sort.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator

from devtenant.search import Doc, Pred, make_doc

SORT_FIELDS = ("created_at", "last_login", "updated_at", "name", "email", "logins_count")
_CI_SORT = ("name", "email")


def _sort_key(doc: Doc, field: str):
    v = doc.get(field)
    if v is None:
        return None
    return v  # text fields are already lower-cased in the doc; dates are epoch ms


class SortedIndex:
    def __init__(self, field: str) -> None:
        self.field = field
        self.present: list[tuple] = []  # (key, user_id), ascending
        self.missing: dict[str, None] = {}  # insertion order

    def build(self, docs: dict[str, Doc]) -> None:
        present = []
        missing = {}
        for uid, doc in docs.items():
            k = _sort_key(doc, self.field)
            if k is None:
                missing[uid] = None
            else:
                present.append((k, uid))
        present.sort()
        self.present, self.missing = present, missing

    def remove(self, uid: str, doc: Doc) -> None:
        k = _sort_key(doc, self.field)
        if k is None:
            self.missing.pop(uid, None)
            return
        i = bisect.bisect_left(self.present, (k, uid))
        if i < len(self.present) and self.present[i] == (k, uid):
            del self.present[i]

    def add(self, uid: str, doc: Doc) -> None:
        k = _sort_key(doc, self.field)
        if k is None:
            self.missing[uid] = None
        else:
            bisect.insort(self.present, (k, uid))

    def order(self, descending: bool) -> Iterator[str]:
        seq = reversed(self.present) if descending else iter(self.present)
        for _, uid in seq:
            yield uid
        yield from self.missing


class SearchIndex:
    def __init__(self) -> None:
        self.users: dict[str, dict] = {}
        self.docs: dict[str, Doc] = {}
        self.sorted = {f: SortedIndex(f) for f in SORT_FIELDS}
        self.version = 0
        self._matches: OrderedDict[tuple, list[str]] = OrderedDict()

    def load(self, users: list[dict]) -> None:
        self.users = {u["user_id"]: u for u in users}
        self.docs = {uid: make_doc(u) for uid, u in self.users.items()}
        for idx in self.sorted.values():
            idx.build(self.docs)
        self.version += 1
        self._matches.clear()

    def apply(self, uid: str, user: dict | None) -> None:
        old = self.docs.pop(uid, None)
        if old is not None:
            for idx in self.sorted.values():
                idx.remove(uid, old)
            del self.users[uid]
        if user is not None:
            doc = make_doc(user)
            self.users[uid] = user
            self.docs[uid] = doc
            for idx in self.sorted.values():
                idx.add(uid, doc)
        self.version += 1
        self._matches.clear()

    def order(self, sort: tuple[str, bool] | None) -> Iterator[str]:
        if sort is None:
            return iter(self.users)
        field, descending = sort
        return self.sorted[field].order(descending)

    def matching(self, q: str, pred: Pred) -> tuple[list[str], set[str]]:
        """Matching user ids (in index order, and as a set), cached until the next write."""
        key = (q, self.version)
        hit = self._matches.get(key)
        if hit is None:
            ids = [uid for uid, d in self.docs.items() if pred(d)]
            hit = (ids, set(ids))
            self._matches[key] = hit
            if len(self._matches) > 64:
                self._matches.popitem(last=False)
        return hit

    def _sorted_matches(self, q: str, ids: list[str], sort: tuple[str, bool]) -> list[str]:
        key = (q, self.version, sort)
        hit = self._matches.get(key)
        if hit is None:
            field, descending = sort
            docs = self.docs
            present = []
            missing = []
            for uid in ids:
                v = docs[uid].get(field)
                if v is None:
                    missing.append(uid)
                else:
                    present.append((v, uid))
            present.sort(reverse=descending)
            hit = [uid for _, uid in present] + missing
            self._matches[key] = hit
            if len(self._matches) > 64:
                self._matches.popitem(last=False)
        return hit

    def page(self, sort, q: str | None, pred: Pred | None, start: int, limit: int) -> tuple[list[dict], int]:
        """(users at [start, start+limit) in the given order, total matches)."""
        if pred is None:
            total = len(self.users)
            chosen = list(itertools.islice(self.order(sort), start, start + limit))
        else:
            ids, matches = self.matching(q or "", pred)
            total = len(ids)
            if sort is None:
                chosen = ids[start : start + limit]
            elif total * 8 < len(self.docs):  # sparse: sort the matches themselves
                chosen = self._sorted_matches(q or "", ids, sort)[start : start + limit]
            else:  # dense: walk the precomputed order, the page fills quickly
                wanted = (uid for uid in self.order(sort) if uid in matches)
                chosen = list(itertools.islice(wanted, start, start + limit))
        return [self.users[u] for u in chosen], total


class Store:
    def __init__(self, index_lag_ms: int = 0) -> None:
        self.lock = threading.RLock()
        self.index_lag_ms = index_lag_ms
        self.live: dict[str, dict] = {}
        self.by_email: dict[str, str] = {}
        self.passwords: dict[str, str] = {}
        self.index = SearchIndex()
        self._pending: deque[tuple[float, str, dict | None]] = deque()
        # roles
        self.roles: dict[str, dict] = {}  # role id -> {"id","name","description"}
        self.user_roles: dict[str, list[str]] = {}  # user id -> role ids (in assignment order)

    # loading ----------------------------------------------------------------------------------
    def load(
        self,
        users: list[dict],
        passwords: dict[str, str],
        roles: list[dict],
        user_roles: dict[str, list[str]],
    ) -> None:
        with self.lock:
            self.live = {u["user_id"]: u for u in users}
            self.by_email = {u["email"].lower(): u["user_id"] for u in users if u.get("email")}
            self.passwords = dict(passwords)
            self._pending.clear()
            self.index.load(users)
            self.roles = {r["id"]: r for r in roles}
            self.user_roles = {k: list(v) for k, v in user_roles.items()}

    # reads -----------------------------------------------------------------------------------
    def get(self, uid: str) -> dict | None:
        with self.lock:
            return self.live.get(uid)

    def by_email_get(self, email: str) -> dict | None:
        with self.lock:
            uid = self.by_email.get(email.strip().lower())
            return self.live.get(uid) if uid else None

    def all_users(self) -> list[dict]:
        with self.lock:
            return list(self.live.values())

    def search_view(self) -> SearchIndex:
        """The search index with every write whose lag has passed applied (call under lock)."""
        now = time.monotonic()
        while self._pending and self._pending[0][0] <= now:
            _, uid, user = self._pending.popleft()
            self.index.apply(uid, user)
        return self.index

    # writes ----------------------------------------------------------------------------------
    def _schedule(self, uid: str, user: dict | None) -> None:
        if self.index_lag_ms <= 0 and not self._pending:
            self.index.apply(uid, user)
        else:
            self._pending.append((time.monotonic() + self.index_lag_ms / 1000, uid, user))

    def put(self, user: dict) -> None:
        with self.lock:
            uid = user["user_id"]
            old = self.live.get(uid)
            if old and old.get("email"):
                self.by_email.pop(old["email"].lower(), None)
            self.live[uid] = user
            if user.get("email"):
                self.by_email[user["email"].lower()] = uid
            self._schedule(uid, user)

    def delete(self, uid: str) -> bool:
        with self.lock:
            old = self.live.pop(uid, None)
            if old is None:
                return False
            if old.get("email"):
                self.by_email.pop(old["email"].lower(), None)
            self.passwords.pop(uid, None)
            self.user_roles.pop(uid, None)
            self._schedule(uid, None)
            return True

    # roles -----------------------------------------------------------------------------------
    def role_by_name(self, name: str) -> dict | None:
        with self.lock:
            for r in self.roles.values():
                if r["name"] == name:
                    return r
            return None

    def roles_of(self, uid: str) -> list[dict]:
        with self.lock:
            return [self.roles[r] for r in self.user_roles.get(uid, []) if r in self.roles]

    def assign(self, uid: str, role_id: str) -> None:
        with self.lock:
            lst = self.user_roles.setdefault(uid, [])
            if role_id not in lst:
                lst.append(role_id)

    def users_in_role(self, role_id: str) -> list[dict]:
        with self.lock:
            return [self.live[u] for u, rs in self.user_roles.items() if role_id in rs and u in self.live]
