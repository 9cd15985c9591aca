"""Alembic entry point for the tenant tree (``-x schema=desa_…``); the logic lives in tenants.migrate."""

from alembic import context

from tenants.migrate import run_alembic_env

run_alembic_env(context, tree="tenant")
