"""Generated people that look like Auth0 users, deterministic for a seed.

Faker is slow per call, so it only fills small pools of first and last names once; each user is
then combined from the pools with a ``random.Random(seed)``: 100 000 users take about a second.
Dates are spread relative to ``now_ms`` (the process start): created_at over the last ~3 years
with some in the last 7/30 days; last_login in buckets today / 7 d / 30 d / 90 d / older.
"""

from __future__ import annotations

import functools
import hashlib
import random
import unicodedata
from datetime import UTC, datetime

DAY_MS = 86_400_000
DB_CONNECTION = "Username-Password-Authentication"
STAFF_PASSWORD = "devtenant"
STAFF = (
    # email, name, role
    ("admin@example.com", "Ada Admin", "User Admin"),
    ("viewer@example.com", "Vic Viewer", "User Viewer"),
    ("staff@example.com", "Sam Staff", None),
)
EMAIL_DOMAINS = (
    "example.com",
    "example.net",
    "example.org",
    "mail.example.com",
    "corp.example.net",
    "users.example.org",
)
PLANS = ("free", "free", "free", "pro", "pro", "enterprise")
REGIONS = ("eu", "us", "apac")
LOCALES = ("en", "en", "de", "fr", "es")


@functools.lru_cache(maxsize=4096)
def _day(day: int) -> str:
    return f"{datetime.fromtimestamp(day * 86400, tz=UTC):%Y-%m-%d}"


def iso_ms(ms: int) -> str:
    """Auth0's timestamp format: ``2026-03-04T12:34:56.789Z`` (UTC, milliseconds)."""
    day, rest = divmod(ms, DAY_MS)
    h, rest = divmod(rest, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, milli = divmod(rest, 1000)
    return f"{_day(day)}T{h:02d}:{m:02d}:{s:02d}.{milli:03d}Z"


def avatar_key(user_id: str) -> str:
    return hashlib.md5(user_id.encode(), usedforsecurity=False).hexdigest()


def picture_url(base_url: str, user_id: str) -> str:
    return f"{base_url}/avatars/{avatar_key(user_id)}.svg"


def _ascii(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text)
    return "".join(c for c in norm if c.isascii() and (c.isalnum())).lower()


@functools.lru_cache(maxsize=4)
def _name_pools(seed: int, size: int = 600) -> tuple[list[str], list[str]]:
    from faker import Faker

    fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT"])
    fake.seed_instance(seed)
    firsts: set[str] = set()
    lasts: set[str] = set()
    for _ in range(size * 3):
        if len(firsts) < size:
            firsts.add(fake.first_name())
        if len(lasts) < size:
            lasts.add(fake.last_name())
    # keep only names that give a usable e-mail local part
    return (
        sorted(f for f in firsts if _ascii(f)),
        sorted(lst for lst in lasts if _ascii(lst) and " " not in lst),
    )


class People:
    """Makes users; ``generate`` is deterministic for (seed, n, now_ms, base_url)."""

    def __init__(self, seed: int, now_ms: int, base_url: str) -> None:
        self.seed = seed
        self.now_ms = now_ms
        self.base_url = base_url
        self.rng = random.Random(seed)
        self.used_ids: set[str] = set()
        self.used_emails: set[str] = set()

    # ids -------------------------------------------------------------------------------------
    def new_id(self, provider: str = "auth0") -> str:
        while True:
            if provider == "google-oauth2":
                uid = f"google-oauth2|{self.rng.randrange(10**20, 10**21)}"
            elif provider == "github":
                uid = f"github|{self.rng.randrange(10**7, 10**8)}"
            else:
                uid = f"{provider}|{self.rng.getrandbits(96):024x}"
            if uid not in self.used_ids:
                self.used_ids.add(uid)
                return uid

    def _rand_ms(self, lo: int, hi: int) -> int:
        return lo if hi <= lo else self.rng.randrange(lo, hi)

    # staff -----------------------------------------------------------------------------------
    def staff(self) -> list[dict]:
        out = []
        for i, (email, name, _role) in enumerate(STAFF):
            uid = self.new_id("auth0")
            self.used_emails.add(email)
            first, last = name.split(" ", 1)
            created = self.now_ms - (400 + 10 * i) * DAY_MS + i * 3_600_000
            last_login = self.now_ms - (i + 1) * 3_600_000
            user = {
                "user_id": uid,
                "email": email,
                "email_verified": True,
                "name": name,
                "nickname": email.split("@")[0],
                "given_name": first,
                "family_name": last,
                "picture": picture_url(self.base_url, uid),
                "created_at": iso_ms(created),
                "updated_at": iso_ms(last_login),
                "last_login": iso_ms(last_login),
                "logins_count": 40 + 7 * i,
                "last_ip": f"192.0.2.{10 + i}",
                "identities": [
                    {
                        "connection": DB_CONNECTION,
                        "provider": "auth0",
                        "user_id": uid.split("|", 1)[1],
                        "isSocial": False,
                    }
                ],
                "app_metadata": {"staff": True},
            }
            out.append(user)
        return out

    # end users -------------------------------------------------------------------------------
    def generate(self, n: int) -> list[dict]:
        firsts, lasts = _name_pools(self.seed)
        rng = self.rng
        now = self.now_ms
        users = []
        for _ in range(n):
            first = rng.choice(firsts)
            last = rng.choice(lasts)
            roll = rng.random()
            if roll < 0.70:
                provider, connection, social = "auth0", DB_CONNECTION, False
            elif roll < 0.90:
                provider, connection, social = "google-oauth2", "google-oauth2", True
            else:
                provider, connection, social = "github", "github", True
            uid = self.new_id(provider)
            email = self._email(first, last)
            user: dict = {"user_id": uid, "email": email}
            user["email_verified"] = True if provider == "google-oauth2" else rng.random() < 0.85
            nameless = rng.random() < 0.05
            if nameless:
                if rng.random() < 0.5:
                    user["name"] = email  # what Auth0 usually does
            else:
                user["name"] = f"{first} {last}"
                if social or rng.random() < 0.6:
                    user["given_name"] = first
                    user["family_name"] = last
            user["nickname"] = email.split("@", 1)[0]
            if rng.random() >= 0.10:
                user["picture"] = picture_url(self.base_url, uid)
            # created_at: 5 % in the last 7 days, 10 % in the last 30, the rest over ~3 years
            r = rng.random()
            if r < 0.05:
                created = self._rand_ms(now - 7 * DAY_MS, now - 60_000)
            elif r < 0.15:
                created = self._rand_ms(now - 30 * DAY_MS, now - 7 * DAY_MS)
            else:
                created = self._rand_ms(now - 3 * 365 * DAY_MS, now - 30 * DAY_MS)
            user["created_at"] = iso_ms(created)
            updated = created
            if rng.random() >= 0.15:  # 15 % never logged in: no last_login/logins_count/last_ip
                b = rng.random()
                if b < 0.10:
                    lo, hi = now - DAY_MS // 2, now
                elif b < 0.30:
                    lo, hi = now - 7 * DAY_MS, now - DAY_MS
                elif b < 0.50:
                    lo, hi = now - 30 * DAY_MS, now - 7 * DAY_MS
                elif b < 0.70:
                    lo, hi = now - 90 * DAY_MS, now - 30 * DAY_MS
                else:
                    lo, hi = now - 3 * 365 * DAY_MS, now - 90 * DAY_MS
                last_login = self._rand_ms(max(lo, created), max(hi, created + 1000))
                updated = last_login
                user["last_login"] = iso_ms(last_login)
                user["logins_count"] = 1 + int(rng.expovariate(1 / 25))
                user["last_ip"] = (
                    f"{rng.choice(('192.0.2', '198.51.100', '203.0.113'))}.{rng.randrange(1, 255)}"
                )
            if rng.random() < 0.2:
                updated = self._rand_ms(updated, max(now, updated + 1))
            user["updated_at"] = iso_ms(updated)
            if rng.random() < 0.05:
                user["blocked"] = True
            user["identities"] = [
                {
                    "connection": connection,
                    "provider": provider,
                    "user_id": uid.split("|", 1)[1],
                    "isSocial": social,
                }
            ]
            if rng.random() < 0.6:
                user["app_metadata"] = {"plan": rng.choice(PLANS), "region": rng.choice(REGIONS)}
            if rng.random() < 0.4:
                user["user_metadata"] = {"locale": rng.choice(LOCALES), "newsletter": rng.random() < 0.5}
            users.append(user)
        return users

    def _email(self, first: str, last: str) -> str:
        rng = self.rng
        f, la = _ascii(first), _ascii(last)
        style = rng.randrange(4)
        local = (f"{f}.{la}", f"{f[0]}{la}", f"{f}_{la}", f"{f}{la}{rng.randrange(10, 100)}")[style]
        domain = rng.choice(EMAIL_DOMAINS)
        email = f"{local}@{domain}"
        n = 2
        while email in self.used_emails:
            email = f"{local}{n}@{domain}"
            n += 1
        self.used_emails.add(email)
        return email


def initials(user: dict) -> str:
    name = user.get("name") or ""
    if not name or "@" in name:
        base = (user.get("email") or user.get("nickname") or "?").split("@")[0]
        return base[:2].upper()
    parts = [p for p in name.split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def avatar_svg(text: str, key: str) -> str:
    hue = int(key[:4], 16) % 360 if key else 200
    text = "".join(c for c in text if c.isalnum())[:2] or "?"
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">'
        f'<rect width="128" height="128" rx="64" fill="hsl({hue},55%,45%)"/>'
        '<text x="64" y="64" dy=".35em" text-anchor="middle" font-family="sans-serif" font-size="52" '
        f'fill="#fff">{text}</text></svg>'
    )
