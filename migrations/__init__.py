"""Alembic trees: ``shared/`` (the shared schema) and ``tenant/`` (every desa schema).

Run them with ``kawasan db upgrade`` (see :mod:`tenants.migrate`), not with the ``alembic`` CLI:
tenant revisions are applied to each desa schema in turn, each with its own ``alembic_version``.
Tenant revisions must be renderable offline (DDL and literal inserts only), because provisioning
replays the tenant tree's pre-rendered SQL instead of migrating step by step, and must be additive
(expand/contract), because old code keeps running while schemas are upgraded one by one.
"""
