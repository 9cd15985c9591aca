"""``kawasan``: the command line for operators and for the demo."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click
from sqlalchemy import text

from service.cli_support import cli_runtime, fail
from service.config import load_settings
from service.db import SHARED_SCHEMA
from service.regions.codes import InvalidKode, parse_kode
from service.regions.services import UnknownKode
from service.runtime import configure_logging


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def main(verbose: bool) -> None:
    """Kawasan: Sistem Informasi Desa & Kawasan."""
    configure_logging(load_settings().log_level, verbose=verbose)


# --- db ---------------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database: URL, migrations."""


@db.command("url")
def db_url() -> None:
    """Print the database URL in use (``psql "$(kawasan db url)"``)."""
    click.echo(cli_runtime().database_url)


@db.command("upgrade")
@click.option("--jobs", "-j", default=2, show_default=True, help="Tenant schemas migrated in parallel.")
@click.option("--quiet", "-q", is_flag=True, help="Only the summary.")
def db_upgrade(jobs: int, quiet: bool) -> None:
    """Upgrade the shared schema, then every desa schema (resumable)."""
    from tenants.migrate import upgrade_shared, upgrade_tenants

    runtime = cli_runtime()
    upgrade_shared(runtime.engine, runtime.settings.migrations_dir)
    click.echo("shared schema at head")

    def progress(outcome, done, total):
        if quiet and not outcome.error:
            return
        state = f"FAILED {outcome.error}" if outcome.error else f"{outcome.before or 'base'} -> {outcome.after}"
        click.echo(f"[{done}/{total}] {outcome.kode} {outcome.schema_name}: {state} ({outcome.seconds * 1000:.0f} ms)")

    report = upgrade_tenants(runtime.engine, runtime.settings.migrations_dir / "tenant", jobs=jobs,
                             progress=progress)
    click.echo(report.summary())
    if not report.ok:
        click.echo("failed tenants are retried by the next `kawasan db upgrade`", err=True)
        sys.exit(1)


@db.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL and Redis (no-op for configured servers)."""
    from service.embedded import stop_embedded

    stop_embedded(load_settings().data_dir)
    click.echo("embedded servers stopped")


# --- tenants ----------------------------------------------------------------------------------------


@main.group()
def tenants() -> None:
    """Desa tenants: provision, list, drop, host name."""


@tenants.command("provision")
@click.argument("codes", nargs=-1, required=True)
@click.option("--jobs", "-j", default=2, show_default=True, help="Villages provisioned in parallel.")
@click.option("--async", "as_job", is_flag=True, help="Queue one job per desa instead of waiting.")
def tenants_provision(codes: tuple[str, ...], jobs: int, as_job: bool) -> None:
    """Provision every village under CODES (desa, kecamatan, kabupaten or provinsi; dotted or digits)."""
    from tenants.provisioning import TenantInconsistent, provision, resolve_villages

    runtime = cli_runtime()
    try:
        parsed = [parse_kode(c) for c in codes]
        if as_job:
            from tenants.tasks import request_provisioning

            with runtime.engine.begin() as conn:
                villages = resolve_villages(conn, parsed)
                ids = request_provisioning(conn, [k for k, _ in villages])
            click.echo(f"{len(ids)} provisioning jobs queued for {len(villages)} villages "
                       "(run `kawasan worker` and `kawasan relay`)")
            return
        report = provision(runtime.engine, parsed, tenant_dir=runtime.settings.migrations_dir / "tenant",
                           jobs=jobs)
    except (InvalidKode, UnknownKode, TenantInconsistent) as exc:
        fail(str(exc))
    click.echo(report.summary())


@tenants.command("list")
@click.option("--check", is_flag=True, help="Also report schemas without registry rows and the reverse.")
@click.option("--under", help="Only villages under this code.")
def tenants_list(check: bool, under: str | None) -> None:
    """Show code, name, kecamatan, schema, revision and status of every tenant."""
    from tenants.provisioning import check_registry

    runtime = cli_runtime()
    where, params = "", {}
    if under:
        try:
            params["p"] = parse_kode(under).dotted + "%"
        except InvalidKode as exc:
            fail(str(exc))
        where = "WHERE t.kode LIKE :p"
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            text(
                f"""SELECT t.kode, w.nama, k.nama AS kecamatan, t.schema_name, t.revision, t.status
                    FROM {SHARED_SCHEMA}.tenant t
                    JOIN {SHARED_SCHEMA}.wilayah_administrasi w ON w.kode = t.kode
                    JOIN {SHARED_SCHEMA}.wilayah_administrasi k ON k.kode = w.induk_kode
                    {where} ORDER BY t.kode"""
            ),
            params,
        ).all()
        header = ("KODE", "NAMA", "KECAMATAN", "SCHEMA", "REVISION", "STATUS")
        table = [header] + [tuple(str(v or "-") for v in r) for r in rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        for r in table:
            click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
        click.echo(f"{len(rows)} tenants")
        if check:
            result = check_registry(conn)
            for schema in result.schema_without_registry:
                click.echo(f"problem: schema {schema} exists without a registry row (not used)")
            for kode in result.registry_without_schema:
                click.echo(f"problem: tenant {kode} is registered but its schema is missing")
            for kode in result.failed:
                click.echo(f"problem: tenant {kode} failed its last migration (retried by db upgrade)")
            if not result.ok:
                sys.exit(1)
            click.echo("check: registry and schemas agree")


@tenants.command("drop")
@click.argument("code")
@click.option("--yes", is_flag=True, help="Confirm: the desa's schema and all its data are deleted.")
def tenants_drop(code: str, yes: bool) -> None:
    """Remove one desa tenant with all its data."""
    from service.regions.codes import parse_desa_kode
    from tenants.provisioning import drop_desa

    try:
        kode = parse_desa_kode(code)
    except InvalidKode as exc:
        fail(str(exc))
    if not yes:
        fail(f"refusing to drop {kode} and all its data without --yes")
    with cli_runtime().engine.begin() as conn:
        dropped = drop_desa(conn, kode)
    click.echo(f"dropped {kode}" if dropped else f"{kode} is not a tenant; nothing to do")


@tenants.command("host")
@click.argument("code")
@click.argument("host", required=False)
@click.option("--hapus", is_flag=True, help="Remove the host name (the site stays at /desa/<slug>).")
def tenants_host(code: str, host: str | None, hapus: bool) -> None:
    """Show, set (HOST) or remove (--hapus) the host name CODE's public site is served under.

    HOST is a DNS name such as muarabuat.desa.id (stored in lower case); it must not belong to another desa.
    Running web processes pick it up within 30 seconds. DNS and TLS for it are the ingress's business."""
    from sqlalchemy import func, select, update
    from sqlalchemy.exc import IntegrityError

    from service.regions.codes import parse_desa_kode
    from service.situs.host import SEGAR, periksa_nama_host
    from tenants.models import Tenant

    try:
        kode = parse_desa_kode(code).dotted
    except InvalidKode as exc:
        fail(str(exc))
    if host is not None and hapus:
        fail("give HOST or --hapus, not both")
    if host is not None:
        try:
            host = periksa_nama_host(host)
        except ValueError as exc:
            fail(f"{host!r}: {exc}")
    try:
        with cli_runtime().engine.begin() as conn:
            row = conn.execute(select(Tenant.slug, Tenant.nama_host).where(Tenant.kode == kode).with_for_update()
                               ).first()
            if row is None:
                fail(f"{kode} is not a tenant (provision it first: kawasan tenants provision {kode})")
            if host is None and not hapus:
                click.echo(f"{kode} {row.slug}: " + (f"host {row.nama_host}" if row.nama_host else "no host name"))
                return
            if host is not None:
                other = conn.scalar(select(Tenant.kode).where(func.lower(Tenant.nama_host) == host,
                                                              Tenant.kode != kode))
                if other:
                    fail(f"{host} is already the host name of {other} (remove it there first with --hapus)")
            conn.execute(update(Tenant).where(Tenant.kode == kode).values(nama_host=host, updated_at=func.now()))
    except IntegrityError:  # another desa took it between the check and the update
        fail(f"{host} is already the host name of another desa")
    if host is None:
        click.echo(f"{kode} {row.slug}: no host name (was {row.nama_host or '-'}); site at /desa/{row.slug}")
    else:
        click.echo(f"{kode} {row.slug}: host {host} (served within {SEGAR:.0f} s)")


from service.auth.commands import clients, keys, users, warga  # noqa: E402
from service.idm.commands import idm  # noqa: E402
from service.penduduk.commands import penduduk  # noqa: E402
from service.peta.commands import peta  # noqa: E402
from service.rekap.commands import stats  # noqa: E402

for _group in (users, warga, clients, keys, penduduk, stats, idm, peta):
    main.add_command(_group)


# --- processes --------------------------------------------------------------------------------------


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", "web_workers", default=2, show_default=True, help="gunicorn worker processes.")
def serve(host: str, port: int, web_workers: int) -> None:
    """Run the web app (gunicorn)."""
    from gunicorn.app.base import BaseApplication

    cli_runtime()  # start embedded servers (if any) once, before gunicorn forks

    class KawasanWeb(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", web_workers)
            self.cfg.set("threads", 4)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 60)

        def load(self):
            from service.app import create_app

            return create_app()

    KawasanWeb().run()


@main.command("worker")
@click.option("--queue", "queues", multiple=True, help="Queue(s) to serve; default: all.")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option("--simple", is_flag=True, help="Run jobs in-process (no fork per job): ~10x throughput.")
def worker(queues: tuple[str, ...], burst: bool, simple: bool) -> None:
    """Run an RQ worker."""
    from workers.queues import QUEUES
    from workers.worker import run_worker

    run_worker(cli_runtime(), queues or QUEUES, burst=burst, simple=simple)


@main.command("relay")
@click.option("--once", is_flag=True, help="One pass, then exit.")
def relay(once: bool) -> None:
    """Move outbox events onto the queues (LISTEN/NOTIFY + polling)."""
    from workers.relay import Relay

    runtime = cli_runtime()
    r = Relay(runtime.engine, runtime.redis, redeliver_after=runtime.settings.outbox_redeliver_after,
              poll_interval=runtime.settings.relay_poll_interval)
    if once:
        click.echo(f"{r.run_once()} enqueued")
        return
    r.run(runtime.database_url)


DEMO_KABUPATEN = "15.08"  # Kabupaten Bungo
DEMO_KECAMATAN = "15.08.14"  # Bathin III Ulu: the 9 pilot dusun


@main.command("demo")
@click.option("--port", default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--penduduk", "demo_penduduk", default=2400, show_default=True,
              help="Synthetic residents per village (Faker id_ID), filled by background jobs.")
def demo(port: int, host: str, demo_penduduk: int) -> None:
    """Start everything: embedded servers, migrations, Kabupaten Bungo, web + relay + worker."""
    from service.penduduk.demo_tasks import request_demo_data
    from tenants.migrate import upgrade_shared, upgrade_tenants
    from tenants.provisioning import provision, resolve_villages
    from tenants.tasks import request_provisioning

    started = time.perf_counter()
    runtime = cli_runtime()
    tenant_dir = runtime.settings.migrations_dir / "tenant"
    upgrade_shared(runtime.engine, runtime.settings.migrations_dir)
    upgrade_tenants(runtime.engine, tenant_dir, jobs=2)
    # The pilot kecamatan now; the rest of Bungo as jobs (exercising the backbone) while the web starts.
    pilot = provision(runtime.engine, [DEMO_KECAMATAN], tenant_dir=tenant_dir)
    from service.demo import seed_demo

    accounts = seed_demo(runtime.engine)
    with runtime.engine.begin() as conn:
        pilot_codes = set(pilot.created) | set(pilot.existing)
        villages = [k for k, _ in resolve_villages(conn, [DEMO_KABUPATEN])]
        rest = [k for k in villages if k not in pilot_codes]
        queued = request_provisioning(conn, rest)
        # Every village's register (about 2,400 residents each) fills in the background; jobs for villages
        # still being provisioned retry with backoff.
        filling = request_demo_data(conn, villages, demo_penduduk)
    url = f"http://{host}:{port}"
    # Letters issued through the demo carry QR codes pointing at this server.
    env = dict(os.environ, KAWASAN_DATA_DIR=str(runtime.settings.data_dir), KAWASAN_PUBLIC_URL=url)
    base = [sys.executable, "-m", "service.cli"]
    children = [
        subprocess.Popen([*base, "serve", "--host", host, "--port", str(port)], env=env),
        subprocess.Popen([*base, "worker"], env=env),
        subprocess.Popen([*base, "relay"], env=env),
    ]
    from service.surat.demo import start_in_background

    # About 360 letters in the pilot villages (some waiting for the camat), filled while the web starts.
    start_in_background(runtime.engine, base_url=url, penduduk=demo_penduduk)
    click.echo(
        f"\nKawasan demo: Kabupaten Bungo ({DEMO_KABUPATEN})\n"
        f"  pilot Kecamatan Bathin III Ulu: {pilot.summary()}\n"
        f"  rest of Bungo: {len(queued)} provisioning jobs queued\n"
        f"  registers: {len(filling)} jobs queued ({demo_penduduk:,} synthetic residents per village)\n"
        f"  letters    ~360 requests in the 9 Bathin III Ulu villages, filling in the background; camat's inbox "
        f"{url}/api/v1/wilayah/15.08.14/kotak-masuk\n"
        f"  portal     {url}/  (staff sign-in {url}/masuk, residents {url}/masuk/warga)\n"
        f"  a village  {url}/desa/muara-buat/  (its admin: {url}/desa/muara-buat/surat, …/kelola/penduduk)\n"
        f"  kecamatan  {url}/kecamatan/15.08.14/dasbor  (inbox {url}/kecamatan/15.08.14/kotak-masuk)\n"
        f"  kabupaten  {url}/kabupaten/{DEMO_KABUPATEN}/dasbor  (IDM map {url}/kabupaten/{DEMO_KABUPATEN}/dasbor/idm)\n"
        f"  API docs   {url}/api/v1/docs\n"
        f"  OpenAPI    {url}/api/v1/openapi.json\n"
        f"  villages   {url}/api/v1/desa?kabupaten={DEMO_KABUPATEN}\n"
        f"  one dusun  {url}/api/v1/desa/15.08.14.2001\n"
        f"  health     {url}/healthz  {url}/readyz\n"
        f"  sign in    POST {url}/api/v1/auth/login  (JSON: username+password, or desa+nik+pin)\n"
        f"  database   psql \"{runtime.database_url}\"\n"
        + "\n".join(accounts)
        + f"\nready in {time.perf_counter() - started:.1f} s; Ctrl-C stops web, worker and relay.\n"
    )
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.3)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    click.echo("demo stopped")


if __name__ == "__main__":
    main()
