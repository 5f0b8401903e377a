"""The only code that talks to Auth0's Management API (through the official auth0-python SDK).

`client` builds the SDK client, its client-credentials token and the rate pacing; `errors` turns SDK and
transport errors into the domain errors of `admin_core.errors`; one module per area speaks the domain
(`users`: `Directory`). Types live in `admin_core.domain`, so nothing else needs to import this package
for them. The package itself imports nothing: its modules import each other, never it.
"""
