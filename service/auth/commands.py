"""CLI: ``kawasan users``, ``kawasan warga``, ``kawasan clients``, ``kawasan keys``."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth.roles import InvalidGrant, make_grant
from service.cli_support import cli_runtime, fail


def _read_secret(prompt: str) -> str | None:
    """A secret from stdin (piped), never from the command line (it would land in shell history)."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    value = sys.stdin.readline().strip()
    return value or None


@click.group()
def users() -> None:
    """Staff accounts and their roles."""


@users.command("create")
@click.option("--username", required=True)
@click.option("--name", "nama", help="Full name (default: the username).")
@click.option("--email")
@click.option("--role", "roles", multiple=True, required=True, help="operator_desa, sekdes, kepala_desa, "
              "staf_kecamatan, camat, staf_kabupaten, admin_kabupaten or admin_platform.")
@click.option("--scope", "scopes", multiple=True, help="Code the role is held at (one per --role, in order).")
def users_create(username, nama, email, roles, scopes):
    """Create an account. Password from stdin, or generated and printed once."""
    from service.auth.secrets import new_password
    from service.auth.services import AccountExists, create_account

    if scopes and len(scopes) != len(roles):
        fail("give one --scope per --role (admin_platform: use --scope '' )")
    try:
        grants = [make_grant(r, s or None) for r, s in zip(roles, scopes or [None] * len(roles), strict=True)]
    except InvalidGrant as exc:
        fail(str(exc))
    password = _read_secret("password")
    generated = password is None
    password = password or new_password()
    if len(password) < 8:
        fail("password must be at least 8 characters")
    try:
        akun_id = create_account(cli_runtime().engine, username=username, nama=nama or username, password=password,
                                 email=email, grants=grants)
    except AccountExists as exc:
        fail(str(exc))
    click.echo(f"created staff:{akun_id} {username} with {', '.join(str(g) for g in grants)}")
    if generated:
        click.echo(f"password (shown once): {password}")


@users.command("list")
def users_list():
    """Every account with its roles."""
    from service.auth.models import Akun

    with Session(cli_runtime().engine) as session:
        for akun in session.scalars(select(Akun).order_by(Akun.username)):
            grants = ", ".join(f"{p.peran}@{p.scope_kode}" if p.scope_kode else p.peran for p in akun.peran)
            state = "" if akun.aktif else " (nonaktif)"
            click.echo(f"{akun.username:<28} {akun.nama:<32} {grants}{state}")


def _grant_command(give: bool):
    @click.argument("username")
    @click.option("--role", required=True)
    @click.option("--scope", default=None)
    def command(username, role, scope):
        from service.auth.services import set_grant

        try:
            grant = make_grant(role, scope)
            changed = set_grant(cli_runtime().engine, username, grant, give=give)
        except (InvalidGrant, LookupError) as exc:
            fail(str(exc))
        verb = "granted" if give else "revoked"
        click.echo(f"{verb} {grant} {'to' if give else 'from'} {username}" if changed else "nothing to change")

    return command


users.command("grant", help="Give an account a role at a scope.")(_grant_command(True))
users.command("revoke", help="Take a role away from an account.")(_grant_command(False))


@click.group()
def warga() -> None:
    """Residents' sign-in (Layanan Mandiri)."""


@warga.command("pin")
@click.option("--desa", required=True, help="Desa code (dotted or 10 digits).")
def warga_pin(desa):
    """Issue or reset a PIN; reads the NIK from stdin, prints the PIN once."""
    from service.audit.services import record
    from service.auth.services import NIK_PATTERN, UnknownResident, issue_pin
    from tenants.session import DesaNotFound, DesaSession

    nik = _read_secret("NIK")
    if not nik or not NIK_PATTERN.match(nik):
        fail("pipe the 16-digit NIK on stdin (it must never appear on the command line)")
    engine = cli_runtime().engine
    try:
        with DesaSession(engine, desa) as session:
            pin = issue_pin(session, nik)
            session.commit()
            desa_kode = session.desa.kode
    except DesaNotFound as exc:
        fail(str(exc))
    except UnknownResident as exc:
        fail(str(exc))
    record(engine, "pin_diterbitkan", aktor="cli", desa_kode=desa_kode)
    click.echo(f"PIN (shown once; must be changed at first sign-in): {pin}")


@click.group()
def clients() -> None:
    """OAuth 2.0 clients for integrations."""


@clients.command("create")
@click.option("--name", "nama", required=True)
@click.option("--scope", "scope_kode", required=True, help="The desa or kecamatan the client is bound to.")
@click.option("--grant", "grant_types", multiple=True, required=True,
              help="client_credentials and/or authorization_code.")
@click.option("--scopes", required=True, help="Space- or comma-separated: desa:read penduduk:read audit:read.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="For authorization_code.")
@click.option("--public", is_flag=True, help="Public client: no secret; authorization_code with PKCE only.")
def clients_create(nama, scope_kode, grant_types, scopes, redirect_uris, public):
    """Register a client; prints its id and (for confidential clients) its secret once."""
    from service.auth.oauth import create_client

    try:
        client_id, secret = create_client(
            cli_runtime().engine, nama=nama, scope_kode=scope_kode, grant_types=list(grant_types),
            scopes=[s for s in scopes.replace(",", " ").split() if s], redirect_uris=list(redirect_uris),
            public=public,
        )
    except ValueError as exc:
        fail(str(exc))
    click.echo(f"client_id: {client_id}")
    if secret:
        click.echo(f"client_secret (shown once): {secret}")


@click.group()
def keys() -> None:
    """Token signing keys."""


@keys.command("rotate")
def keys_rotate():
    """Add a new signing key; the previous one keeps verifying until its tokens expire."""
    from service.auth.keys import create_key

    runtime = cli_runtime()
    click.echo(f"new signing key {create_key(runtime.engine, runtime.settings.secret_key)}")
