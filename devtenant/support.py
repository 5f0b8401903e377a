"""What a support desk needs to see about a person: sign-in logs, brute-force locks, MFA, sessions,
password tickets and the emails that would have been sent.

Histories of generated users are drawn lazily, the first time anything asks about that user, from a
``random.Random`` seeded by (tenant seed, user_id): the generated users themselves (ids, emails, dates,
counts) are untouched, and a 50 000-user tenant starts as fast as before. Staff accounts and users
created through ``/__dev/users`` get only the successful logins their ``logins_count`` implies: no
failures, locks, MFA or sessions. Live activity (the sign-in form, tickets, Management API fixes) lands
in the same per-user records.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import string
import threading
import time
from dataclasses import dataclass, field

from devtenant.people import DAY_MS, DB_CONNECTION, iso_ms

MAX_FAILURES = 10  # Auth0's default brute-force threshold: per user, per IP
BLOCKED_MESSAGE = (
    "Your account has been blocked after multiple consecutive login attempts. "
    "We\u2019ve sent you an email with instructions on how to unblock it."
)
TICKET_TTL_S = 432_000  # Auth0's default (5 days)
MAX_GENERATED_LOGINS = 60
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
    "Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Mobile Safari/537.36",
)
DESCRIPTIONS = {
    "s": "Successful login",
    "fp": "Wrong email or password.",
    "fu": "Wrong email or password.",
    "f": "user is blocked",
    "fcoa": "Wrong email or password.",
    "limit_wc": "Too many failed login attempts for this user from this IP. The account is blocked for this IP.",
    "scp": "Password changed",
    "fcp": "Failed to change password",
    "sv": "Email verified",
    "mfar": "Multifactor authentication enrollments removed",
}
CLIENT_ID = "dashboard"
CLIENT_NAME = "User Dashboard"


def _ms(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _between(rng: random.Random, lo: int, hi: int) -> int:
    return lo if hi <= lo else rng.randrange(lo, hi)


def _alnum(rng: random.Random, n: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(rng.choice(alphabet) for _ in range(n))


def connection_id(seed: int, name: str) -> str:
    return "con_" + hashlib.sha256(f"{seed}-{name}".encode()).hexdigest()[:16]


def strategy(user: dict) -> tuple[str, str, str]:
    """(connection name, strategy, strategy_type) of a user's first identity."""
    ident = (user.get("identities") or [{}])[0]
    conn = ident.get("connection") or DB_CONNECTION
    if conn == DB_CONNECTION or ident.get("provider") == "auth0":  # every database connection
        return conn, "auth0", "database"
    return conn, ident.get("provider") or conn, "social"


def is_database_user(user: dict) -> bool:
    return strategy(user)[2] == "database"


@dataclass
class Record:
    """One user's support-desk state."""

    events: list[dict] = field(default_factory=list)  # log events, any order (sorted when read)
    blocks: dict[str, dict] = field(default_factory=dict)  # ip -> {"identifier","ip","connection"}
    failures: dict[str, int] = field(default_factory=dict)  # ip -> consecutive wrong passwords
    methods: list[dict] = field(default_factory=list)  # MFA authentication methods
    sessions: list[dict] = field(default_factory=list)
    refresh_tokens: list[dict] = field(default_factory=list)
    remember_browser_invalidations: int = 0


@dataclass
class Ticket:
    user_id: str
    expires: float
    result_url: str | None
    mark_email_as_verified: bool
    kind: str  # "password_reset" | "verification_email"
    include_email: bool = False  # add ``email=`` to the result_url redirect (includeEmailInRedirect)
    used: bool = False


class Support:
    """The support-desk state of one tenant (thread-safe; reset with the tenant)."""

    def __init__(
        self, seed: int, now_ms: int, base_url: str, generated: set[str], plan: str = "enterprise"
    ) -> None:
        self.seed = seed
        self.now_ms = now_ms
        self.base_url = base_url
        self.hostname = base_url.split("://", 1)[-1]
        self.generated = generated
        self.lock = threading.RLock()
        self.records: dict[str, Record] = {}
        self.tenant_events: list[dict] = []  # events without a known user (fu)
        self.tickets: dict[str, Ticket] = {}
        self.outbox: list[dict] = []
        self.plan = plan
        self._seq = 0

    # records ----------------------------------------------------------------------------------
    def record(self, user: dict) -> Record:
        """The user's record, drawn on first use."""
        uid = user["user_id"]
        with self.lock:
            rec = self.records.get(uid)
            if rec is None:
                rec = self._draw(user)
                self.records[uid] = rec
            return rec

    def forget(self, uid: str) -> None:
        with self.lock:
            self.records.pop(uid, None)

    def traits(self, user: dict) -> dict:
        """What the drawn history of a user holds, in a few words (for tests looking for examples)."""
        rec = self.record(user)
        types = [e["type"] for e in self.sorted_events(rec)]
        return {
            "user_id": user["user_id"],
            "email": user.get("email"),
            "locked": sorted(rec.blocks),
            "mfa": [m["type"] for m in rec.methods],
            "sessions": len(rec.sessions),
            "refresh_tokens": len(rec.refresh_tokens),
            "events": len(types),
            "last_types": types[:5],
        }

    # events -----------------------------------------------------------------------------------
    def event(
        self,
        kind: str,
        date_ms: int,
        *,
        user: dict | None,
        ip: str,
        user_agent: str,
        description: str | None = None,
        user_name: str | None = None,
        details: dict | None = None,
        rng: random.Random | None = None,
    ) -> dict:
        with self.lock:
            self._seq += 1
            seq = self._seq
        tail = f"{rng.getrandbits(40):013d}" if rng else f"{seq:013d}"
        ev: dict = {
            "log_id": f"900{date_ms:016d}{tail}"[:56],
            "date": iso_ms(date_ms),
            "type": kind,
            "description": DESCRIPTIONS.get(kind, "") if description is None else description,
            "client_id": CLIENT_ID,
            "client_name": CLIENT_NAME,
            "ip": ip,
            "hostname": self.hostname,
            "user_agent": user_agent,
            "isMobile": "Mobile" in user_agent,
            "details": details or {},
        }
        if user is not None:
            conn, strat, strat_type = strategy(user)
            ev.update(
                connection=conn,
                connection_id=connection_id(self.seed, conn),
                strategy=strat,
                strategy_type=strat_type,
                user_id=user["user_id"],
                user_name=user.get("email") or user.get("name") or user["user_id"],
            )
        else:
            ev.update(
                connection=DB_CONNECTION,
                connection_id=connection_id(self.seed, DB_CONNECTION),
                strategy="auth0",
                strategy_type="database",
                user_name=user_name or "",
            )
        return ev

    def log(self, user: dict | None, kind: str, ip: str, user_agent: str, **kw) -> dict:
        ev = self.event(kind, int(time.time() * 1000), user=user, ip=ip, user_agent=user_agent, **kw)
        with self.lock:
            if user is None:
                self.tenant_events.append(ev)
            else:
                self.record(user).events.append(ev)
        return ev

    @staticmethod
    def sorted_events(rec: Record, newest_first: bool = True) -> list[dict]:
        return sorted(rec.events, key=lambda e: (e["date"], e["log_id"]), reverse=newest_first)

    # brute-force protection -------------------------------------------------------------------
    def is_locked(self, user: dict, ip: str) -> bool:
        with self.lock:
            return ip in self.record(user).blocks

    def wrong_password(self, user: dict, ip: str) -> bool:
        """Count a wrong password; True when this attempt locks the user for this IP."""
        with self.lock:
            rec = self.record(user)
            rec.failures[ip] = rec.failures.get(ip, 0) + 1
            if rec.failures[ip] >= MAX_FAILURES:
                self.lock_user(user, ip)
                return True
            return False

    def lock_user(self, user: dict, ip: str) -> None:
        """Block the user for this IP and, as Auth0 does, email them an unblock link."""
        with self.lock:
            rec = self.record(user)
            fresh = ip not in rec.blocks
            rec.blocks[ip] = {
                "identifier": user.get("email") or user["user_id"],
                "ip": ip,
                "connection": strategy(user)[0],
            }
        if fresh and user.get("email"):
            token = self.new_ticket(user["user_id"], kind="unblock")
            self.send(
                user["email"], "blocked_account", f"{self.base_url}/u/unblock?ticket={token}", user["user_id"]
            )

    def signed_in(self, user: dict, ip: str) -> None:
        with self.lock:
            self.record(user).failures.pop(ip, None)

    def unblock(self, user: dict) -> None:
        with self.lock:
            rec = self.record(user)
            rec.blocks.clear()
            rec.failures.clear()

    # sessions ---------------------------------------------------------------------------------
    def add_session(self, user: dict, sid: str, ip: str, user_agent: str, client_id: str) -> dict:
        now_ms = int(time.time() * 1000)
        session = _session(user["user_id"], sid, now_ms, now_ms, ip, user_agent, client_id)
        with self.lock:
            self.record(user).sessions.append(session)
        return session

    # tickets and outbox -----------------------------------------------------------------------
    def new_ticket(
        self,
        user_id: str,
        *,
        kind: str,
        ttl_s: int = TICKET_TTL_S,
        result_url: str | None = None,
        mark_email_as_verified: bool = False,
        include_email: bool = False,
    ) -> str:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tickets[token] = Ticket(
                user_id, time.time() + ttl_s, result_url, mark_email_as_verified, kind, include_email
            )
        return token

    def ticket(self, token: str) -> Ticket | None:
        with self.lock:
            return self.tickets.get(token)

    def send(self, to: str, kind: str, link: str | None, user_id: str | None) -> dict:
        mail = {
            "to": to,
            "kind": kind,
            "link": link,
            "user_id": user_id,
            "created_at": iso_ms(int(time.time() * 1000)),
        }
        with self.lock:
            self.outbox.append(mail)
        return mail

    # generated histories ----------------------------------------------------------------------
    def _draw(self, user: dict) -> Record:
        uid = user["user_id"]
        rec = Record()
        rng = random.Random(f"history-{self.seed}-{uid}")
        now = self.now_ms
        created = _ms(user["created_at"]) if user.get("created_at") else now - DAY_MS
        last_login = _ms(user["last_login"]) if user.get("last_login") else None
        count = int(user.get("logins_count") or 0)
        agent = rng.choice(USER_AGENTS)
        home_ip = user.get("last_ip") or f"198.51.100.{rng.randrange(1, 255)}"
        other_ips = [
            f"{rng.choice(('192.0.2', '198.51.100', '203.0.113'))}.{rng.randrange(1, 255)}" for _ in range(2)
        ]

        def ev(kind: str, when: int, ip: str, **kw) -> None:
            rec.events.append(self.event(kind, when, user=user, ip=ip, user_agent=agent, rng=rng, **kw))

        # successful logins: as many as logins_count says (the newest ones), the newest at last_login
        if last_login is not None and count > 0:
            ev("s", last_login, home_ip)
            n = min(count, MAX_GENERATED_LOGINS) - 1
            for _ in range(n):
                when = _between(rng, created, last_login)
                ev("s", when, rng.choice([home_ip, home_ip, *other_ips]))
        if uid not in self.generated:
            return rec  # staff and test-made users: no failures, locks, MFA or sessions

        database = is_database_user(user)
        after = last_login if last_login is not None else created
        # a few scattered failures before the last success (which reset the brute-force counter)
        scattered = rng.choice((0, 0, 0, 1, 1, 2, 3)) if last_login is not None else 0
        for _ in range(scattered):
            when = _between(rng, created, last_login or now)
            kind = rng.choice(("fp", "fp", "fcoa")) if database else "fcoa"
            ev(kind, when, rng.choice([home_ip, *other_ips]))
        roll = rng.random()
        if user.get("blocked"):  # blocked by an admin: the attempts since say so
            for _ in range(rng.randrange(1, 4)):
                ev("f", _between(rng, after, now), home_ip)
        elif database and roll < 0.04:  # locked by brute-force protection
            ip = rng.choice(other_ips)
            start = _between(rng, max(after, now - 3 * DAY_MS), now - 3_600_000)
            when = start
            for _ in range(MAX_FAILURES):
                when += rng.randrange(5_000, 60_000)
                ev("fp", min(when, now - 2000), ip)
            for _ in range(rng.randrange(1, 3)):
                when += rng.randrange(60_000, 600_000)
                ev("limit_wc", min(when, now - 1000), ip, description=BLOCKED_MESSAGE)
            rec.blocks[ip] = {"identifier": user.get("email") or uid, "ip": ip, "connection": DB_CONNECTION}
        elif database and roll < 0.12:  # recent wrong passwords, not (yet) locked
            n = rng.randrange(2, MAX_FAILURES - 3)
            when = _between(rng, max(after, now - 2 * DAY_MS), now - 3_600_000)
            for _ in range(n):
                when += rng.randrange(10_000, 300_000)
                ev("fp", min(when, now - 1000), home_ip)
            rec.failures[home_ip] = n
        # MFA for about one user in five
        if rng.random() < 0.2:
            enrolled = _between(rng, created, now)
            kinds = rng.choice(
                (("totp",), ("totp",), ("phone",), ("push",), ("totp", "phone"), ("webauthn-roaming",))
            )
            for kind in kinds:
                rec.methods.append(_method(rng, kind, enrolled, last_login))
        # sessions for recent sign-ins (Enterprise plans show them)
        if last_login is not None and now - last_login < 7 * DAY_MS and rng.random() < 0.8:
            for i in range(rng.choice((1, 1, 2))):
                started = last_login - i * rng.randrange(DAY_MS // 4, DAY_MS)
                sid = _alnum(rng, 32)
                rec.sessions.append(_session(uid, sid, started, last_login, home_ip, agent, CLIENT_ID))
                rec.refresh_tokens.append({"id": _alnum(rng, 24), "session_id": sid})
        return rec


def _method(rng: random.Random, kind: str, enrolled: int, last_login: int | None) -> dict:
    method: dict = {
        "id": f"{kind}|dev_{_alnum(rng, 16)}",
        "type": kind,
        "confirmed": True,
        "created_at": iso_ms(enrolled),
        "enrolled_at": iso_ms(enrolled),
    }
    if last_login is not None and last_login > enrolled:
        method["last_auth_at"] = iso_ms(last_login)
    if kind == "phone":
        method["phone_number"] = f"+1555010{rng.randrange(1000, 9999)}"
        method["preferred_authentication_method"] = "sms"
        method["name"] = "XXXXXXXX" + method["phone_number"][-4:]
    elif kind == "push":
        method["name"] = rng.choice(("iPhone", "Pixel 8", "Galaxy S24"))
    elif kind == "webauthn-roaming":
        method["name"] = "Security key"
        method["key_id"] = _alnum(rng, 22)
    return method


ENROLLMENT_METHOD = {"totp": "authenticator", "phone": "sms", "push": "guardian"}


def enrollment(method: dict) -> dict:
    """A method as the older Guardian enrollments API shows it."""
    kind = method["type"]
    auth_method = ENROLLMENT_METHOD.get(kind, kind if kind.startswith("webauthn") else "authenticator")
    out = {
        "id": method["id"].split("|", 1)[-1],
        "status": "confirmed" if method.get("confirmed") else "pending",
        "type": "sms" if kind == "phone" else ("pn" if kind == "push" else kind),
        "auth_method": auth_method,
        "enrolled_at": method["enrolled_at"],
    }
    if method.get("name"):
        out["name"] = method["name"][:20]
    if method.get("phone_number"):
        out["phone_number"] = method["phone_number"]
    if method.get("last_auth_at"):
        out["last_auth"] = method["last_auth_at"]
    return out


def _session(uid: str, sid: str, started: int, last: int, ip: str, agent: str, client_id: str) -> dict:
    return {
        "id": sid,
        "user_id": uid,
        "created_at": iso_ms(started),
        "updated_at": iso_ms(last),
        "authenticated_at": iso_ms(started),
        "last_interacted_at": iso_ms(last),
        "idle_expires_at": iso_ms(last + 3 * DAY_MS),
        "expires_at": iso_ms(started + 30 * DAY_MS),
        "device": {
            "initial_user_agent": agent,
            "initial_ip": ip,
            "initial_asn": "64496",
            "last_user_agent": agent,
            "last_ip": ip,
            "last_asn": "64496",
        },
        "clients": [{"client_id": client_id}],
        "authentication": {"methods": [{"name": "pwd", "timestamp": iso_ms(started)}]},
    }
