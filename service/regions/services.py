"""Loading the bundled region registry and answering questions about it."""

from __future__ import annotations

import csv
import hashlib
import io
from importlib import resources
from pathlib import Path

from sqlalchemy import Connection, select, text

from service.db import SHARED_SCHEMA
from service.regions.codes import Kode, Tingkat, parse_kode
from service.regions.models import DatasetVersion, WilayahAdministrasi

DATASET = "wilayah_kemendagri"
_FILES = (
    ("provinces.csv", Tingkat.PROVINSI),
    ("regencies.csv", Tingkat.KABUPATEN),
    ("districts.csv", Tingkat.KECAMATAN),
    ("villages.csv", Tingkat.DESA),
)


class UnknownKode(LookupError):
    def __init__(self, kode: Kode | str):
        self.kode = str(kode)
        super().__init__(f"{self.kode!r}: kode wilayah tidak dikenal / unknown region code")


def data_dir() -> Path:
    return Path(str(resources.files("service.regions") / "data" / "wilayah"))


def _jenis(tingkat: Tingkat, kode: str, nama: str) -> str | None:
    if tingkat is Tingkat.KABUPATEN:
        return "kota" if nama.startswith("Kota ") else "kabupaten"
    if tingkat is Tingkat.DESA:
        return "kelurahan" if kode[-4] == "1" else "desa"
    return None


def _bundled_rows() -> tuple[str, list[tuple[str, str, str, str | None, str | None]]]:
    digest = hashlib.sha256()
    rows = []
    for filename, tingkat in _FILES:
        raw = (data_dir() / filename).read_bytes()
        digest.update(raw)
        for rec in csv.DictReader(io.StringIO(raw.decode("utf-8"))):
            kode = rec["code"]
            induk = None if tingkat is Tingkat.PROVINSI else rec[next(k for k in rec if k.endswith("_code"))]
            rows.append((kode, tingkat.value, rec["name"], induk, _jenis(tingkat, kode, rec["name"])))
    return digest.hexdigest(), rows


def sync_region_registry(conn: Connection, *, force: bool = False) -> int:
    """Load the bundled codes into the shared schema; a no-op when the loaded checksum is current.

    Returns the number of rows written. Runs inside the caller's transaction.
    """
    checksum, rows = _bundled_rows()
    current = conn.scalar(select(DatasetVersion.checksum).where(DatasetVersion.nama == DATASET))
    if current == checksum and not force:
        return 0
    conn.execute(text("CREATE TEMP TABLE _wilayah_load (LIKE kawasan.wilayah_administrasi) ON COMMIT DROP"))
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy("COPY _wilayah_load (kode, tingkat, nama, induk_kode, jenis) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    # Parents sort before children (shorter codes first), so the self-reference holds row by row.
    conn.execute(
        text(
            f"""
            INSERT INTO {SHARED_SCHEMA}.wilayah_administrasi AS w (kode, tingkat, nama, induk_kode, jenis)
            SELECT kode, tingkat, nama, induk_kode, jenis FROM _wilayah_load ORDER BY length(kode), kode
            ON CONFLICT (kode) DO UPDATE SET nama = EXCLUDED.nama, tingkat = EXCLUDED.tingkat,
                induk_kode = EXCLUDED.induk_kode, jenis = EXCLUDED.jenis
            WHERE (w.nama, w.tingkat, w.induk_kode, w.jenis)
                IS DISTINCT FROM (EXCLUDED.nama, EXCLUDED.tingkat, EXCLUDED.induk_kode, EXCLUDED.jenis)
            """
        )
    )
    conn.execute(
        text(
            f"""INSERT INTO {SHARED_SCHEMA}.dataset_version (nama, checksum, loaded_at)
                VALUES (:nama, :checksum, now())
                ON CONFLICT (nama) DO UPDATE SET checksum = EXCLUDED.checksum, loaded_at = now()"""
        ),
        {"nama": DATASET, "checksum": checksum},
    )
    return len(rows)


def get_region(conn: Connection, kode: Kode | str) -> WilayahAdministrasi:
    """The registry row of ``kode`` (dotted or digits); :class:`UnknownKode` when absent."""
    parsed = kode if isinstance(kode, Kode) else parse_kode(kode)
    row = conn.execute(
        select(WilayahAdministrasi.__table__).where(WilayahAdministrasi.kode == parsed.dotted)
    ).first()
    if row is None:
        raise UnknownKode(parsed)
    return row


def villages_under(conn: Connection, kode: Kode) -> list[tuple[str, str]]:
    """``(kode, nama)`` of every desa/kelurahan at or under ``kode`` (a desa returns itself)."""
    get_region(conn, kode)
    if kode.tingkat is Tingkat.DESA:
        pattern, exact = None, kode.dotted
    else:
        pattern, exact = kode.dotted + ".%", None
    rows = conn.execute(
        select(WilayahAdministrasi.kode, WilayahAdministrasi.nama)
        .where(WilayahAdministrasi.tingkat == Tingkat.DESA.value)
        .where(WilayahAdministrasi.kode == exact if exact else WilayahAdministrasi.kode.like(pattern))
        .order_by(WilayahAdministrasi.kode)
    ).all()
    return [(r.kode, r.nama) for r in rows]
