"""Tests of the audit store (admin_core.audit) on SQLite and PostgreSQL."""
