"""The runtime state of one dev tenant: config, users, keys, codes, sessions, counters, faults."""

from __future__ import annotations

import random
import secrets
import string
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from devtenant.config import Config
from devtenant.control import Faults, RateLimiter
from devtenant.people import DB_CONNECTION, STAFF, STAFF_PASSWORD, People, iso_ms, picture_url
from devtenant.store import Store
from devtenant.support import Support, is_database_user
from devtenant.tokens import Signer

ROLES = (
    ("User Admin", "Can view, block, unblock and delete users"),
    ("User Viewer", "Can view users"),
    ("Support Agent", "Can view users and help them sign in"),
)


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    user_id: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    sid: str
    audience: str | None
    expires: float


@dataclass
class Stats:
    requests: Counter = field(default_factory=Counter)
    token_grants: Counter = field(default_factory=Counter)
    management_requests: int = 0

    def as_json(self) -> dict:
        return {
            "requests": dict(sorted(self.requests.items())),
            "token_grants": dict(sorted(self.token_grants.items())),
            "management_requests": self.management_requests,
        }


class Tenant:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.signer = Signer()
        self.store = Store(config.index_lag_ms)
        self.lock = threading.RLock()
        self.codes: dict[str, AuthCode] = {}
        self.sessions: dict[str, dict] = {}  # SSO cookie value -> {"user_id", "sid"}
        self.stats = Stats()
        self.faults = Faults()
        self.limiter = RateLimiter(config.rate_limit)
        self.people: People | None = None
        self.support: Support
        self.staff_accounts: list[dict] = []
        self.seed_data()

    @property
    def base_url(self) -> str:
        return self.config.base_url

    # seeding ----------------------------------------------------------------------------------
    def seed_data(self) -> None:
        cfg = self.config
        people = People(cfg.seed, cfg.now_ms, cfg.base_url)
        staff = people.staff()
        generated = people.generate(cfg.users)
        users = staff + generated
        rrng = random.Random(f"roles-{cfg.seed}")
        alnum = string.ascii_letters + string.digits
        roles = [
            {"id": "rol_" + "".join(rrng.choice(alnum) for _ in range(16)), "name": n, "description": d}
            for n, d in ROLES
        ]
        by_name = {r["name"]: r["id"] for r in roles}
        user_roles = {}
        accounts = []
        for user, (email, _name, role) in zip(staff, STAFF, strict=True):
            if role:
                user_roles[user["user_id"]] = [by_name[role]]
            accounts.append({"email": email, "password": STAFF_PASSWORD, "role": role})
        passwords = {u["user_id"]: STAFF_PASSWORD for u in staff}
        self.people = people
        self.staff_accounts = accounts
        from devtenant.creation_api import default_connections  # here: creation_api imports the routes

        self.connections = default_connections()
        self.support = Support(
            cfg.seed, cfg.now_ms, cfg.base_url, {u["user_id"] for u in generated}, cfg.plan
        )
        self.store.load(users, passwords, roles, user_roles)

    def reset(self) -> None:
        """Users and roles back to the startup state, counters zeroed, faults cleared."""
        with self.lock:
            self.seed_data()
            self.stats = Stats()
            self.faults.clear()
            self.limiter.reset()

    def password_of(self, user: dict) -> str | None:
        """The password the sign-in form expects: set ones, else ``devtenant`` for generated database users."""
        set_one = self.store.passwords.get(user["user_id"])
        if set_one is not None:
            return set_one
        if user["user_id"] in self.support.generated and is_database_user(user):
            return STAFF_PASSWORD
        return None

    # users created through /__dev/users -------------------------------------------------------
    def create_user(self, data: dict) -> dict:
        """Raises ValueError (400) or KeyError (409)."""
        data = dict(data)
        password = data.pop("password", None)
        role_names = data.pop("roles", None) or []
        if not isinstance(role_names, list):
            raise ValueError("roles must be a list of role names")
        role_ids = []
        for name in role_names:
            role = self.store.role_by_name(name)
            if role is None:
                raise ValueError(f"unknown role: {name}")
            role_ids.append(role["id"])
        with self.lock:
            now = iso_ms(int(time.time() * 1000))
            email = data.get("email")
            if email is not None:
                if not isinstance(email, str) or "@" not in email:
                    raise ValueError("email must be an e-mail address")
                data["email"] = email.strip().lower()
                if self.store.by_email_get(data["email"]):
                    raise KeyError("The user already exists.")
            connection = data.pop("connection", None)
            if "user_id" not in data:
                provider = {"google-oauth2": "google-oauth2", "github": "github"}.get(
                    connection or "", "auth0"
                )
                data["user_id"] = self.people.new_id(provider)
            uid = data["user_id"]
            if not isinstance(uid, str) or "|" not in uid:
                raise ValueError("user_id must look like provider|id")
            if self.store.get(uid):
                raise KeyError("The user already exists.")
            provider, raw_id = uid.split("|", 1)
            if "identities" not in data:
                conn = connection or (DB_CONNECTION if provider == "auth0" else provider)
                data["identities"] = [
                    {
                        "connection": conn,
                        "provider": provider,
                        "user_id": raw_id,
                        "isSocial": provider != "auth0",
                    }
                ]
            data.setdefault("created_at", now)
            data.setdefault("updated_at", data["created_at"])
            if data.get("email"):
                data.setdefault("email_verified", False)
                data.setdefault("nickname", data["email"].split("@", 1)[0])
                data.setdefault("name", data["email"])
            data.setdefault("picture", picture_url(self.base_url, uid))
            self.support.forget(uid)
            self.store.put(data)
            if password:
                self.store.passwords[uid] = str(password)
            for rid in role_ids:
                self.store.assign(uid, rid)
            return data

    # codes and sessions -----------------------------------------------------------------------
    def new_code(self, code: AuthCode) -> str:
        value = secrets.token_urlsafe(24)
        with self.lock:
            now = time.time()
            for k in [k for k, c in self.codes.items() if c.expires < now]:
                del self.codes[k]
            self.codes[value] = code
        return value

    def take_code(self, value: str) -> AuthCode | None:
        with self.lock:
            return self.codes.pop(value, None)

    def new_session(self, user_id: str) -> str:
        value = secrets.token_urlsafe(24)
        with self.lock:
            self.sessions[value] = {"user_id": user_id, "sid": secrets.token_urlsafe(16)}
        return value
