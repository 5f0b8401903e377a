"""The part of Auth0's Management API OpenAPI document that the dev tenant implements, kept in the repo.

The full document (3.7 MB, ``../shared/auth0/management-api-oas.json``, from auth0/docs-v2) is not
committed; ``python -m tests.devtenant.oas_subset [full.json]`` rewrites ``data/management-api-oas-subset.json``
from it: the operations below and every component schema they reach. ``test_openapi.py`` checks the
subset still equals that extract whenever the full document is at hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUBSET = HERE / "data" / "management-api-oas-subset.json"
FULL = HERE.parents[2] / "shared" / "auth0" / "management-api-oas.json"

OPERATIONS = (
    ("get", "/users"),
    ("get", "/users-by-email"),
    ("get", "/users/{id}"),
    ("patch", "/users/{id}"),
    ("delete", "/users/{id}"),
    ("get", "/users/{id}/roles"),
    ("get", "/roles"),
    ("get", "/roles/{id}"),
    ("get", "/roles/{id}/users"),
    ("get", "/users/{id}/logs"),
    ("get", "/user-blocks/{id}"),
    ("delete", "/user-blocks/{id}"),
    ("post", "/tickets/password-change"),
    ("post", "/jobs/verification-email"),
    ("get", "/users/{id}/authentication-methods"),
    ("get", "/users/{id}/enrollments"),
    ("delete", "/users/{id}/authenticators"),
    ("post", "/users/{id}/multifactor/actions/invalidate-remember-browser"),
    ("get", "/users/{user_id}/sessions"),
    ("delete", "/users/{user_id}/sessions"),
    ("delete", "/users/{user_id}/refresh-tokens"),
    ("post", "/users/{id}/roles"),
    ("delete", "/users/{id}/roles"),
    ("get", "/connections"),
    ("post", "/users"),
    ("post", "/jobs/users-exports"),
    ("get", "/jobs/{id}"),
)


def _refs(node, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            out.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, out)
    elif isinstance(node, list):
        for value in node:
            _refs(value, out)


def extract(doc: dict) -> dict:
    paths: dict[str, dict] = {}
    for method, path in OPERATIONS:
        paths.setdefault(path, {})[method] = doc["paths"][path][method]
    schemas = doc["components"]["schemas"]
    wanted: set[str] = set()
    _refs(paths, wanted)
    done: set[str] = set()
    while wanted - done:
        name = sorted(wanted - done)[0]
        done.add(name)
        _refs(schemas[name], wanted)
    return {
        "openapi": doc["openapi"],
        "info": {"title": doc["info"]["title"], "version": doc["info"].get("version")},
        "paths": paths,
        "components": {"schemas": {name: schemas[name] for name in sorted(done)}},
    }


def main(argv: list[str]) -> None:
    full = Path(argv[0]) if argv else FULL
    subset = extract(json.loads(full.read_text()))
    SUBSET.write_text(json.dumps(subset, indent=1, sort_keys=True) + "\n")
    print(f"{SUBSET}: {len(subset['paths'])} paths, {len(subset['components']['schemas'])} schemas")


if __name__ == "__main__":
    main(sys.argv[1:])
