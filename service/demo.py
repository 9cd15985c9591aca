"""Demo data for ``kawasan demo``: accounts at every level and a few residents with PINs.

Idempotent: accounts are created once (fixed demo password); residents' PINs are re-issued on each run
so the printed PINs always work (the first sign-in asks for a new PIN, as in production).
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, func, select

from service.auth.models import Akun
from service.auth.roles import make_grant
from service.auth.services import create_account, issue_pin
from service.penduduk.models import Keluarga, Penduduk
from service.penduduk.referensi import label
from service.penduduk.services import add_penduduk, create_keluarga
from service.regions.codes import parse_kode
from service.regions.services import villages_under
from tenants.session import DesaSession

DEMO_PASSWORD = "kawasan-demo-2026"
PILOT_KECAMATAN = "15.08.14"
KABUPATEN = "15.08"

# Two families in Muara Buat and one in Buat. NIK: kecamatan 150814, birth date (+40 for women), serial.
# (nik, nama, no_kk, kk_level: 1 kepala keluarga / 3 istri / 4 anak, sex, tanggal lahir)
RESIDENTS = {
    "15.08.14.2001": [
        ("1508140304850001", "Syahrial", "1508142001120001", 1, 1, "1985-04-03"),
        ("1508145708880002", "Nurhayati", "1508142001120001", 3, 2, "1988-08-17"),
        ("1508141203100003", "Rahmat Hidayat", "1508142001120001", 4, 1, "2010-03-12"),
        ("1508142511790004", "Darmawan", "1508142001150002", 1, 1, "1979-11-25"),
    ],
    "15.08.14.2002": [
        ("1508146102920001", "Siti Aminah", "1508142002180001", 1, 2, "1992-02-21"),
    ],
}


def _slug(nama: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", nama.lower())


def seed_demo(engine: Engine) -> list[str]:
    """Create what is missing; return the lines ``kawasan demo`` prints."""
    lines = [f"staff accounts (password for all: {DEMO_PASSWORD})"]
    with engine.connect() as conn:
        villages = villages_under(conn, parse_kode(PILOT_KECAMATAN))
        existing = set(conn.scalars(select(func.lower(Akun.username))))
    wanted: list[tuple[str, str, str, str]] = [
        ("admin", "Admin Platform", "admin_platform", ""),
        ("analis.bungo", "Analis Bappeda Bungo", "staf_kabupaten", KABUPATEN),
        ("camat.bathin3ulu", "Camat Bathin III Ulu", "camat", PILOT_KECAMATAN),
    ]
    for kode, nama in villages:
        slug = _slug(nama)
        wanted += [
            (f"operator.{slug}", f"Operator {nama}", "operator_desa", kode),
            (f"sekdes.{slug}", f"Sekdes {nama}", "sekdes", kode),
            (f"rio.{slug}", f"Rio {nama}", "kepala_desa", kode),
        ]
    for username, nama, peran, scope in wanted:
        if username not in existing:
            create_account(engine, username=username, nama=nama, password=DEMO_PASSWORD, email=None,
                           grants=[make_grant(peran, scope or None)])
        if not username.startswith(("sekdes.", "operator.")) or "muarabuat" in username:
            lines.append(f"  {username:<26} {peran}{'@' + scope if scope else ''}")
    lines.append("  … and operator.<dusun>, sekdes.<dusun>, rio.<dusun> for every Bathin III Ulu dusun")
    lines.append("residents (Layanan Mandiri: desa + NIK + PIN; the first sign-in asks for a new PIN)")
    for desa_kode, people in RESIDENTS.items():
        with DesaSession(engine, desa_kode) as session:
            for nik, nama, no_kk, kk_level, sex, lahir in people:
                if session.scalar(select(Penduduk.id).where(Penduduk.nik == nik)) is None:
                    keluarga = session.scalar(select(Keluarga).where(Keluarga.no_kk == no_kk)) or create_keluarga(
                        session, no_kk=no_kk, alamat="Jl. Lintas Muara Bungo")
                    add_penduduk(session, {"nik": nik, "nama": nama, "keluarga_id": keluarga.id, "kk_level": kk_level,
                                           "sex": sex, "tanggal_lahir": lahir, "agama_id": 1,
                                           "tempat_lahir": "Muara Bungo"}, actor="demo")
                pin = issue_pin(session, nik)
                lines.append(f"  desa {desa_kode}  NIK {nik}  PIN {pin}  ({nama}, {label('kk_level', kk_level)})")
            session.commit()
    return lines
