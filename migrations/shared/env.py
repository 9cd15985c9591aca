"""Alembic entry point for the shared tree; the logic lives in tenants.migrate."""

from alembic import context

from tenants.migrate import run_alembic_env

run_alembic_env(context, tree="shared")
