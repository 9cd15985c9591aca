"""Creating and removing desa tenants.

A desa is provisioned in one transaction: its schema, the tenant tree's tables at head (replayed
from pre-rendered SQL, stamp included), its own role (usable on that schema only), its default
local names, and its registry row. Provisioning what exists is a no-op.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from psycopg import sql
from sqlalchemy import Connection, Engine, text

from service.db import SHARED_SCHEMA
from service.regions.codes import Kode, parse_kode, schema_name_for
from service.regions.services import UnknownKode, villages_under
from tenants.localnames import default_pengaturan
from tenants.migrate import tenant_head_sql

_ROLE_MAX = 63


def role_name(database: str, schema: str) -> str:
    """The desa's PostgreSQL role. Roles are cluster-wide, so the name carries the database."""
    name = f"{database}:{schema}"
    if len(name) > _ROLE_MAX:
        name = f"{database[: _ROLE_MAX - len(schema) - 1]}:{schema}"
    return name


def tenant_group_role(database: str) -> str:
    return f"{database}:tenant"[:_ROLE_MAX]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@dataclass
class ProvisionReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{len(self.created)} provisioned, {len(self.existing)} already present "
            f"({self.seconds:.2f} s)"
        )


def resolve_villages(conn: Connection, codes: Iterable[str | Kode]) -> list[tuple[str, str]]:
    """Expand desa, kecamatan, kabupaten and provinsi codes to ``(kode, nama)`` of their villages.

    Every code is checked before anything is written: a malformed one raises ``InvalidKode`` and an
    unknown one ``UnknownKode``, both naming the code.
    """
    parsed = [c if isinstance(c, Kode) else parse_kode(c) for c in codes]
    seen: dict[str, str] = {}
    for kode in parsed:
        for desa_kode, nama in villages_under(conn, kode):
            seen.setdefault(desa_kode, nama)
    return sorted(seen.items())


def provision_desa(conn: Connection, kode: str | Kode, *, tenant_dir: Path) -> bool:
    """Provision one desa inside the caller's transaction. Returns ``False`` if it already existed.

    Two round trips: one to lock and check, one script for everything else (schema, tables at head
    with their stamp, role and grants, default settings, registry row), so provisioning costs little
    more than replaying the tenant DDL itself.
    """
    parsed = kode if isinstance(kode, Kode) else parse_kode(kode)
    schema = schema_name_for(parsed)
    state = conn.execute(
        text(
            f"""SELECT pg_advisory_xact_lock(hashtext(:s)), current_database() AS database,
                   EXISTS (SELECT 1 FROM {SHARED_SCHEMA}.wilayah_administrasi WHERE kode = :k) AS known,
                   EXISTS (SELECT 1 FROM {SHARED_SCHEMA}.tenant WHERE kode = :k) AS registered,
                   EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = :s) AS schema_exists"""
        ),
        {"s": schema, "k": parsed.dotted},
    ).one()
    if not state.known:
        raise UnknownKode(parsed)
    if state.registered and state.schema_exists:
        return False
    if state.registered or state.schema_exists:
        raise TenantInconsistent(
            parsed.dotted, "registry row without schema" if state.registered else "schema without registry row"
        )
    role = role_name(state.database, schema)
    head, ddl = tenant_head_sql(tenant_dir)
    q_schema, q_role = sql.Identifier(schema), sql.Identifier(role)
    settings = [
        sql.SQL("({}, {}::jsonb)").format(sql.Literal(k), sql.Literal(json.dumps(v)))
        for k, v in default_pengaturan(parsed).items()
    ]
    script = sql.SQL(
        """CREATE SCHEMA {schema};
        SELECT set_config('search_path', {schema_name}, true);
        {ddl}
        DO $$ BEGIN CREATE ROLE {role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
        GRANT {group} TO {role};
        GRANT {role} TO CURRENT_USER;
        GRANT USAGE ON SCHEMA {schema} TO {role};
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role};
        GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role};
        GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {role};
        ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role};
        ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role};
        INSERT INTO {schema}.pengaturan (kunci, nilai) VALUES {settings};
        INSERT INTO {shared}.tenant (kode, schema_name, role_name, status, revision, slug)
            VALUES ({kode}, {schema_name}, {role_name}, 'ready', {head}, {shared}.slug_desa({kode}));"""
    ).format(
        schema=q_schema, schema_name=sql.Literal(schema), ddl=sql.SQL(ddl), role=q_role,
        group=sql.Identifier(tenant_group_role(state.database)), settings=sql.SQL(", ").join(settings),
        shared=sql.Identifier(SHARED_SCHEMA), kode=sql.Literal(parsed.dotted), role_name=sql.Literal(role),
        head=sql.Literal(head),
    )
    raw = conn.connection.driver_connection
    raw.cursor().execute(script.as_string(raw), prepare=False)
    return True


class TenantInconsistent(RuntimeError):
    def __init__(self, kode: str, problem: str):
        self.kode, self.problem = kode, problem
        super().__init__(f"{kode}: {problem}; see `kawasan tenants list --check`")


def provision(
    engine: Engine,
    codes: Iterable[str | Kode],
    *,
    tenant_dir: Path,
    jobs: int = 2,
    progress: Callable[[str, bool], None] | None = None,
) -> ProvisionReport:
    """Provision every village under ``codes``, ``jobs`` at a time, one transaction per desa."""
    started = time.perf_counter()
    with engine.connect() as conn:
        villages = resolve_villages(conn, codes)
        present = set(conn.scalars(text(f"SELECT kode FROM {SHARED_SCHEMA}.tenant")))
    report = ProvisionReport(existing=[k for k, _ in villages if k in present])
    todo = [k for k, _ in villages if k not in present]
    tenant_head_sql(tenant_dir)  # render once before the threads start

    def one(kode: str) -> tuple[str, bool]:
        with engine.begin() as conn:
            return kode, provision_desa(conn, kode, tenant_dir=tenant_dir)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for kode, created in pool.map(one, todo):
            (report.created if created else report.existing).append(kode)
            if progress:
                progress(kode, created)
    report.seconds = time.perf_counter() - started
    return report


def drop_desa(conn: Connection, kode: str | Kode) -> bool:
    """Remove a desa's schema, role and registry row in the caller's transaction."""
    parsed = kode if isinstance(kode, Kode) else parse_kode(kode)
    schema = schema_name_for(parsed)
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
    row = conn.execute(
        text(f"SELECT role_name FROM {SHARED_SCHEMA}.tenant WHERE kode = :k"), {"k": parsed.dotted}
    ).first()
    database = conn.scalar(text("SELECT current_database()"))
    role = row.role_name if row else role_name(database, schema)
    schema_exists = conn.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema})
    if not row and not schema_exists:
        return False
    conn.execute(text(f"DROP SCHEMA IF EXISTS {_quote(schema)} CASCADE"))
    if conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
        conn.execute(text(f"DROP OWNED BY {_quote(role)}"))
        conn.execute(text(f"DROP ROLE {_quote(role)}"))
    conn.execute(text(f"DELETE FROM {SHARED_SCHEMA}.tenant WHERE kode = :k"), {"k": parsed.dotted})
    return True


@dataclass
class RegistryCheck:
    schema_without_registry: list[str]
    registry_without_schema: list[str]
    failed: list[str]

    @property
    def ok(self) -> bool:
        return not (self.schema_without_registry or self.registry_without_schema or self.failed)


def check_registry(conn: Connection) -> RegistryCheck:
    """Compare desa schemas in the database with registry rows; neither is used when unmatched."""
    schemas = set(conn.scalars(text(r"SELECT nspname FROM pg_namespace WHERE nspname ~ '^desa_\d{10}$'")))
    rows = conn.execute(text(f"SELECT kode, schema_name, status FROM {SHARED_SCHEMA}.tenant")).all()
    registered = {r.schema_name for r in rows}
    return RegistryCheck(
        schema_without_registry=sorted(schemas - registered),
        registry_without_schema=sorted(r.kode for r in rows if r.schema_name not in schemas),
        failed=sorted(r.kode for r in rows if r.status != "ready"),
    )
