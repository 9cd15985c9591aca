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
    lines = seed_accounts(engine)
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
    lines += seed_idm_peta(engine)
    from service.situs.demo import seed_situs_demo

    filled = seed_situs_demo(engine, PILOT_KECAMATAN)
    lines.append(f"village sites: {filled} filled (officials, articles, running text, a pending comment); "
                 f"e.g. /desa/muara-buat/  — content screens: /desa/muara-buat/kelola/situs")
    lines += seed_rekap(engine)
    return lines


def seed_accounts(engine: Engine) -> list[str]:
    """The demo's staff accounts at every level (each created once, password :data:`DEMO_PASSWORD`); returns
    the lines ``kawasan demo`` prints about them."""
    lines = [f"staff accounts (password for all: {DEMO_PASSWORD})"]
    with engine.connect() as conn:
        villages = villages_under(conn, parse_kode(PILOT_KECAMATAN))
        existing = set(conn.scalars(select(func.lower(Akun.username))))
    wanted: list[tuple[str, str, str, str]] = [
        ("admin", "Admin Platform", "admin_platform", ""),
        ("analis.bungo", "Analis Bappeda Bungo", "staf_kabupaten", KABUPATEN),
        # The kabupaten's own administrator: IDM entry and import, catalogue overrides, kabupaten approvals.
        ("admin.bungo", "Admin Kabupaten Bungo", "admin_kabupaten", KABUPATEN),
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
    return lines


def seed_rekap(engine: Engine) -> list[str]:
    """Queue a rollup recomputation for every desa provisioned so far (e.g. by an earlier demo run, whose
    registers are not filled again); the others are queued by their register-filling job."""
    from service.rekap.services import minta_hitung_ulang

    with engine.begin() as conn:
        queued = minta_hitung_ulang(conn, KABUPATEN)
    return [f"rollups: {queued} desa queued now, the rest as their registers fill; dashboards "
            f"/api/v1/wilayah/{PILOT_KECAMATAN}/rekap  /api/v1/wilayah/{KABUPATEN}/rekap"]


def seed_idm_peta(engine: Engine) -> list[str]:
    """IDM history 2016–2024 for Bungo's desa and a synthetic point per village (both seeded; kept if present)."""
    from service.idm.demo import seed_idm_demo
    from service.peta.demo import seed_titik_demo

    idm = seed_idm_demo(engine, KABUPATEN)
    titik = seed_titik_demo(engine, KABUPATEN)
    return [f"IDM 2016–2024 (synthetic, 1 dusun maju in 2016 → 28 in 2020): {idm} rows added; "
            f"map points (synthetic): {titik} added",
            f"  /api/v1/wilayah/{KABUPATEN}/idm/distribusi  /api/v1/wilayah/{KABUPATEN}/peta  "
            f"/api/v1/peta/desa?wilayah={KABUPATEN}"]
