"""Sign-in, tokens, PINs and accounts: the operations behind the auth endpoints and the CLI."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, or_, select, update

from service.audit.services import record
from service.auth.keys import KeyRing
from service.auth.models import Akun, AkunWarga, PeranAkun, RefreshToken
from service.auth.principal import Kind, Principal
from service.auth.roles import Grant, Peran
from service.auth.secrets import digest, hash_secret, new_pin, opaque_token, verify_secret
from service.auth.tokens import TokenService
from service.penduduk.models import Penduduk
from tenants.session import DesaNotFound, DesaSession

REFRESH_TTL = {Kind.STAFF: timedelta(days=14), Kind.WARGA: timedelta(days=7)}
WARGA_LOCK_AFTER = 5  # consecutive wrong PINs
NIK_PATTERN = re.compile(r"^\d{16}$")
PIN_PATTERN = re.compile(r"^\d{6}$")


class SignInFailed(Exception):
    """One answer for unknown user, wrong secret and disabled account: no account enumeration."""

    def __init__(self):
        super().__init__("nama pengguna/NIK atau kata sandi/PIN salah / wrong credentials")


class AccountLocked(Exception):
    def __init__(self):
        super().__init__("akun terkunci setelah terlalu banyak percobaan; hubungi operator desa / "
                         "account locked after too many attempts; ask the village operator")


class RefreshRejected(Exception):
    def __init__(self):
        super().__init__("refresh token tidak sah / invalid refresh token")


@dataclass
class AuthRuntime:
    keyring: KeyRing
    tokens: TokenService


# --- principals ---------------------------------------------------------------------------------------


def staff_principal(akun: Akun) -> Principal:
    grants = tuple(Grant(Peran(p.peran), p.scope_kode) for p in akun.peran)
    return Principal(kind=Kind.STAFF, subject=f"staff:{akun.id}", name=akun.nama, grants=grants)


def warga_principal(desa_kode: str, penduduk: Penduduk, akun: AkunWarga) -> Principal:
    return Principal(
        kind=Kind.WARGA, subject=f"warga:{desa_kode}:{penduduk.id}", name=penduduk.nama, desa_kode=desa_kode,
        penduduk_id=penduduk.id, must_change_pin=akun.wajib_ganti_pin,
    )


# --- sign-in --------------------------------------------------------------------------------------------


def sign_in_staff(engine: Engine, login: str, password: str) -> Principal:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        akun = session.scalar(
            select(Akun).where(or_(func.lower(Akun.username) == login.lower(), func.lower(Akun.email) == login.lower()))
        )
        ok = verify_secret(akun.password_hash if akun else None, password)
        if not ok or akun is None or not akun.aktif:
            if akun is not None:
                akun.gagal += 1
                session.commit()
            record(engine, "login_gagal", aktor=f"staff:{akun.id}" if akun else "anonim", berhasil=False,
                   detail={"jenis": "staff"})
            raise SignInFailed()
        akun.gagal = 0
        akun.login_terakhir = datetime.now(UTC)
        principal = staff_principal(akun)
        session.commit()
    record(engine, "login", aktor=principal)
    return principal


def sign_in_warga(engine: Engine, desa: str, nik: str, pin: str) -> Principal:
    try:
        session = DesaSession(engine, desa)
        session.connection()
    except DesaNotFound:
        from service.auth.secrets import verify_secret as burn

        burn(None, pin)  # same time as a wrong PIN
        raise SignInFailed() from None
    with session:
        row = session.execute(
            select(Penduduk, AkunWarga).join(AkunWarga, AkunWarga.penduduk_id == Penduduk.id).where(Penduduk.nik == nik)
        ).first()
        penduduk, akun = (row.Penduduk, row.AkunWarga) if row else (None, None)
        ok = verify_secret(akun.pin_hash if akun else None, pin)
        desa_kode = session.desa.kode
        if akun is None:
            record(engine, "login_gagal", aktor="anonim", desa_kode=desa_kode, berhasil=False,
                   detail={"jenis": "warga"})
            raise SignInFailed()
        actor = f"warga:{desa_kode}:{penduduk.id}"
        if akun.terkunci_pada is not None:
            record(engine, "login_gagal", aktor=actor, desa_kode=desa_kode, berhasil=False,
                   detail={"jenis": "warga", "sebab": "terkunci"})
            if ok:
                raise AccountLocked()
            raise SignInFailed()
        if not ok:
            akun.gagal += 1
            locked = akun.gagal >= WARGA_LOCK_AFTER
            if locked:
                akun.terkunci_pada = datetime.now(UTC)
            session.commit()
            record(engine, "akun_warga_dikunci" if locked else "login_gagal", aktor=actor, desa_kode=desa_kode,
                   berhasil=False, detail={"jenis": "warga", "gagal": akun.gagal})
            raise SignInFailed()
        akun.gagal = 0
        akun.login_terakhir = datetime.now(UTC)
        principal = warga_principal(desa_kode, penduduk, akun)
        session.commit()
    record(engine, "login", aktor=principal, desa_kode=desa_kode)
    return principal


# --- tokens ---------------------------------------------------------------------------------------------


def issue_tokens(engine: Engine, tokens: TokenService, principal: Principal, *, family: str | None = None) -> dict:
    access, expires_in = tokens.issue(principal)
    refresh = opaque_token()
    with engine.begin() as conn:
        conn.execute(
            RefreshToken.__table__.insert().values(
                token_hash=digest(refresh), family=family or secrets.token_hex(16), subject=principal.subject,
                claims={"desa": principal.desa_kode},
                kedaluwarsa_pada=datetime.now(UTC) + REFRESH_TTL.get(principal.kind, timedelta(days=1)),
            )
        )
    record(engine, "token_diterbitkan", aktor=principal, desa_kode=principal.desa_kode)
    body = {"access_token": access, "token_type": "Bearer", "expires_in": expires_in, "refresh_token": refresh}
    if principal.must_change_pin:
        body["pin_change_required"] = True
    return body


def refresh_tokens(engine: Engine, tokens: TokenService, refresh: str) -> dict:
    """Rotate: the presented token is spent; presenting a spent one revokes its whole family."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        row = conn.execute(
            select(RefreshToken.__table__).where(RefreshToken.token_hash == digest(refresh)).with_for_update()
        ).first()
        if row is None or row.dicabut_pada is not None or row.kedaluwarsa_pada <= now:
            raise RefreshRejected()
        reused = row.dipakai_pada is not None
        if reused:  # commit the revocation, then refuse
            conn.execute(update(RefreshToken).where(RefreshToken.family == row.family).values(dicabut_pada=now))
            record(conn, "refresh_token_dipakai_ulang", aktor=row.subject, berhasil=False)
        else:
            conn.execute(update(RefreshToken).where(RefreshToken.id == row.id).values(dipakai_pada=now))
        subject, family = row.subject, row.family
    if reused:
        raise RefreshRejected()
    principal = _current_principal(engine, subject)
    if principal is None:
        raise RefreshRejected()
    return issue_tokens(engine, tokens, principal, family=family)


def _current_principal(engine: Engine, subject: str) -> Principal | None:
    """Rebuild from today's data: roles granted or revoked since sign-in take effect on refresh."""
    from sqlalchemy.orm import Session

    kind, _, rest = subject.partition(":")
    if kind == Kind.STAFF:
        with Session(engine) as session:
            akun = session.get(Akun, int(rest))
            return staff_principal(akun) if akun and akun.aktif else None
    if kind == Kind.WARGA:
        desa_kode, _, pid = rest.rpartition(":")
        try:
            with DesaSession(engine, desa_kode) as session:
                row = session.execute(
                    select(Penduduk, AkunWarga).join(AkunWarga).where(Penduduk.id == int(pid))
                ).first()
        except DesaNotFound:
            return None
        if row is None or row.AkunWarga.terkunci_pada is not None:
            return None
        return warga_principal(desa_kode, row.Penduduk, row.AkunWarga)
    return None


def sign_out(engine: Engine, tokens: TokenService, principal: Principal, claims: dict | None,
             refresh: str | None) -> None:
    if claims:
        tokens.revoke(claims)
    with engine.begin() as conn:
        if refresh:
            family = conn.scalar(
                select(RefreshToken.family).where(RefreshToken.token_hash == digest(refresh),
                                                  RefreshToken.subject == principal.subject)
            )
            if family:
                conn.execute(update(RefreshToken).where(RefreshToken.family == family)
                             .values(dicabut_pada=datetime.now(UTC)))
        record(conn, "logout", aktor=principal, desa_kode=principal.desa_kode)


# --- PINs -----------------------------------------------------------------------------------------------


class UnknownResident(LookupError):
    def __init__(self):
        super().__init__("NIK tidak terdaftar di desa ini / NIK not registered in this desa")


def issue_pin(session: DesaSession, nik: str) -> str:
    """Issue or reset a resident's PIN (shown once); the next sign-in must change it. Unlocks."""
    penduduk = session.scalar(select(Penduduk).where(Penduduk.nik == nik))
    if penduduk is None:
        raise UnknownResident()
    pin = new_pin()
    akun = session.get(AkunWarga, penduduk.id)
    if akun is None:
        session.add(AkunWarga(penduduk_id=penduduk.id, pin_hash=hash_secret(pin), wajib_ganti_pin=True))
    else:
        akun.pin_hash, akun.wajib_ganti_pin, akun.gagal, akun.terkunci_pada = hash_secret(pin), True, 0, None
        akun.pin_diterbitkan_pada = datetime.now(UTC)
    return pin


def change_pin(engine: Engine, principal: Principal, old_pin: str, new_pin_value: str) -> None:
    with DesaSession(engine, principal.desa_kode) as session:
        akun = session.get(AkunWarga, principal.penduduk_id)
        if akun is None or not verify_secret(akun.pin_hash, old_pin):
            raise SignInFailed()
        if old_pin == new_pin_value:
            raise ValueError("PIN baru harus berbeda / the new PIN must differ")
        akun.pin_hash, akun.wajib_ganti_pin = hash_secret(new_pin_value), False
        session.commit()
    record(engine, "pin_diganti", aktor=principal, desa_kode=principal.desa_kode)


def locked_residents(session: DesaSession) -> list[dict]:
    rows = session.execute(
        select(Penduduk.id, Penduduk.nama, AkunWarga.gagal, AkunWarga.terkunci_pada)
        .join(AkunWarga, AkunWarga.penduduk_id == Penduduk.id)
        .where(AkunWarga.terkunci_pada.is_not(None))
        .order_by(AkunWarga.terkunci_pada.desc())
    ).all()
    return [{"penduduk_id": r.id, "nama": r.nama, "gagal": r.gagal, "terkunci_pada": r.terkunci_pada} for r in rows]


def unlock_resident(session: DesaSession, penduduk_id: int) -> bool:
    result = session.execute(
        update(AkunWarga).where(AkunWarga.penduduk_id == penduduk_id, AkunWarga.terkunci_pada.is_not(None))
        .values(terkunci_pada=None, gagal=0)
    )
    return result.rowcount == 1


# --- accounts -------------------------------------------------------------------------------------------


class AccountExists(ValueError):
    pass


def create_account(engine: Engine, *, username: str, nama: str, password: str, email: str | None,
                   grants: list[Grant]) -> int:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        taken = session.scalar(select(Akun.id).where(func.lower(Akun.username) == username.lower()))
        if taken:
            raise AccountExists(f"username {username!r} sudah dipakai / already taken")
        akun = Akun(username=username, nama=nama, email=email, password_hash=hash_secret(password))
        akun.peran = [PeranAkun(peran=g.peran.value, scope_kode=g.scope) for g in grants]
        session.add(akun)
        session.commit()
        akun_id = akun.id
    for grant in grants:
        record(engine, "peran_diberikan", aktor="cli", objek=f"staff:{akun_id}", desa_kode=_desa_of(grant),
               detail={"peran": str(grant)})
    return akun_id


def set_grant(engine: Engine, username: str, grant: Grant, *, give: bool, actor: str = "cli") -> bool:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        akun = session.scalar(select(Akun).where(func.lower(Akun.username) == username.lower()))
        if akun is None:
            raise LookupError(f"akun {username!r} tidak ada / no such account")
        held = [p for p in akun.peran if p.peran == grant.peran.value and p.scope_kode == grant.scope]
        if give and not held:
            akun.peran.append(PeranAkun(peran=grant.peran.value, scope_kode=grant.scope))
        elif not give and held:
            session.execute(delete(PeranAkun).where(PeranAkun.id == held[0].id))
        else:
            return False
        session.commit()
        akun_id = akun.id
    record(engine, "peran_diberikan" if give else "peran_dicabut", aktor=actor, objek=f"staff:{akun_id}",
           desa_kode=_desa_of(grant), detail={"peran": str(grant)})
    return True


def _desa_of(grant: Grant) -> str | None:
    return grant.scope if grant.scope and grant.scope.count(".") == 3 else None
