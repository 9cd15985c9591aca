"""Computing, storing and checking each desa's rollup.

One computation serves the desa and the levels above: :func:`hitung_desa` reads the desa's own tables in
one REPEATABLE READ snapshot of a :class:`DesaSession` and takes the population figures from
:func:`service.penduduk.statistik.statistik_desa` (its one GROUPING SETS scan), so the rollup and the
village's own statistics agree by construction. :func:`simpan` replaces the desa's rollup rows in the
caller's transaction. :func:`verifikasi` recomputes and lists every figure that differs from what is stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from service.penduduk.statistik import CATEGORIES, MUTASI_PER_BULAN, statistik_desa
from service.regions.codes import Kode, Tingkat, parse_desa_kode, parse_kode
from service.regions.services import villages_under
from service.rekap.models import RekapAngka, RekapAngkaWilayah, RekapBulanan, RekapDesa
from service.runtime import process_pool
from service.surat import services as surat
from tenants.session import DesaSession

log = logging.getLogger(__name__)

#: Months and reference dates are taken in WIB, the time of Kabupaten Bungo's villages.
ZONA = ZoneInfo("Asia/Jakarta")
#: The people breakdowns kept per desa, in the order the desa's own statistics show them.
DIMENSI_PENDUDUK = ("umur", *CATEGORIES, "wilayah")
TANPA_KODE = "-"  # residents with no value ("BELUM MENGISI"), or a wilayah that no longer exists
#: Where a letter waits, by status (the resident's turn, Dikembalikan, is nobody's backlog).
MENUNGGU = {
    "desa": (surat.BELUM_LENGKAP, surat.SEDANG_DIPERIKSA, surat.MENUNGGU_TANDATANGAN),
    "kecamatan": (surat.MENUNGGU_KECAMATAN,),
    "kabupaten": (surat.MENUNGGU_KABUPATEN,),
}
#: Monthly letter series; rejections and returns are counted at the level that decided, by history entry.
SERI_SURAT = ("surat_diajukan", "surat_terbit", "surat_ditolak", "surat_dikembalikan")
RINGKAS = ("penduduk", "laki_laki", "perempuan", "jumlah_kk", "wajib_ktp", "ber_ktp_el", "ber_akta",
           "surat_menunggu_desa", "surat_menunggu_kecamatan", "surat_menunggu_kabupaten", "surat_terbit",
           "jam_terbit_median", "jam_terbit_p90")

_BULAN = "date_trunc('month', {col} AT TIME ZONE 'Asia/Jakarta')::date"
_SURAT_BULANAN = text(f"""
SELECT 'surat_diajukan' AS seri, {_BULAN.format(col='dibuat_pada')} AS bulan, jenis_kode AS kode, count(*) AS jumlah
FROM permohonan_surat GROUP BY 1, 2, 3
UNION ALL
SELECT 'surat_terbit', {_BULAN.format(col='diterbitkan_pada')}, jenis_kode, count(*)
FROM permohonan_surat WHERE diterbitkan_pada IS NOT NULL GROUP BY 1, 2, 3
UNION ALL
SELECT CASE WHEN r.aksi IN ('ditolak', 'tolak') THEN 'surat_ditolak' ELSE 'surat_dikembalikan' END,
       {_BULAN.format(col='r.waktu')}, p.jenis_kode, count(*)
FROM riwayat_permohonan r JOIN permohonan_surat p ON p.id = r.permohonan_id
WHERE r.aksi IN ('ditolak', 'tolak', 'dikembalikan', 'kembalikan') GROUP BY 1, 2, 3
""")
_JAM = "extract(epoch FROM diterbitkan_pada - dibuat_pada) / 3600"
_SURAT_RINGKAS = text(f"""
SELECT count(*) FILTER (WHERE diterbitkan_pada IS NOT NULL) AS terbit,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {_JAM}) FILTER (WHERE diterbitkan_pada IS NOT NULL) AS median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY {_JAM}) FILTER (WHERE diterbitkan_pada IS NOT NULL) AS p90
FROM permohonan_surat
""")
_SURAT_MENUNGGU = text("""
SELECT status, jenis_kode, count(*) AS jumlah FROM permohonan_surat
WHERE status = ANY(:statuses) GROUP BY 1, 2
""")
# Whole hours from request to issue: the kecamatan's and kabupaten's median/p90 come from these histograms.
_JAM_TERBIT = text(f"""
SELECT floor({_JAM})::int AS jam, count(*) AS jumlah FROM permohonan_surat
WHERE diterbitkan_pada IS NOT NULL GROUP BY 1
""")


@dataclass
class Rekap:
    """One desa's rollup: headline figures (``ringkas``), breakdown rows and monthly rows."""

    desa_kode: str
    tanggal_acuan: date
    ringkas: dict[str, Any]
    angka: list[dict[str, Any]] = field(default_factory=list)
    bulanan: list[dict[str, Any]] = field(default_factory=list)

    def nilai(self) -> dict[tuple[str, str], Any]:
        """Every figure as (figure, key) → value: what :func:`verifikasi` compares."""
        out: dict[tuple[str, str], Any] = {("ringkasan", k): self.ringkas.get(k) for k in RINGKAS}
        out[("ringkasan", "tanggal_acuan")] = self.tanggal_acuan.isoformat()
        for row in self.angka:
            for ukuran in ("label", "jumlah", "laki_laki", "perempuan"):
                out[(row["dimensi"], f"{row['kode']}/{ukuran}")] = row[ukuran]
        for row in self.bulanan:
            out[(row["seri"], f"{row['bulan']:%Y-%m}/{row['kode']}")] = row["jumlah"]
        return out


@dataclass(frozen=True)
class Selisih:
    """A figure whose stored value differs from the desa's own tables."""

    desa: str
    angka: str
    kunci: str
    tersimpan: Any
    sebenarnya: Any

    def as_dict(self) -> dict[str, Any]:
        return {"desa": self.desa, "angka": self.angka, "kunci": self.kunci,
                "tersimpan": _json(self.tersimpan), "sebenarnya": _json(self.sebenarnya)}


def hari_ini() -> date:
    return datetime.now(ZONA).date()


# --- computing --------------------------------------------------------------------------------------------


def hitung_desa(engine: Engine, desa_kode: str | Kode, *, tanggal: date | None = None) -> Rekap:
    """The rollup of one desa from its own tables, ages at ``tanggal`` (default: today in WIB).

    Reads through a :class:`DesaSession` (the desa's role, nothing else reachable) in one REPEATABLE READ
    snapshot, so the register, the families, the mutation log and the letters are counted at one instant.
    Raises :class:`tenants.session.DesaNotFound` for a desa that is not a ready tenant.
    """
    tanggal = tanggal or hari_ini()
    with DesaSession(engine.execution_options(isolation_level="REPEATABLE READ"), desa_kode) as session:
        session.connection()
        stat = statistik_desa(session, tanggal=tanggal)
        # statistik_desa shows the last 12 months; the rollup keeps every month, counted by the same statement.
        mutasi = session.execute(MUTASI_PER_BULAN, {"dari": date(1, 1, 1), "sampai": date(9999, 1, 1)}).all()
        surat_bulanan = session.execute(_SURAT_BULANAN).all()
        surat_ringkas = session.execute(_SURAT_RINGKAS).one()
        statuses = [s for group in MENUNGGU.values() for s in group]
        menunggu = session.execute(_SURAT_MENUNGGU, {"statuses": statuses}).all()
        jam_terbit = session.execute(_JAM_TERBIT).all()
        kode = session.desa.kode
    return _rekap(kode, tanggal, stat, mutasi, surat_bulanan, surat_ringkas, menunggu, jam_terbit)


def _rekap(kode: str, tanggal: date, stat: dict[str, Any], mutasi, surat_bulanan, surat_ringkas, menunggu,
           jam_terbit) -> Rekap:
    tingkat_of = {status: tingkat for tingkat, group in MENUNGGU.items() for status in group}
    waiting = {tingkat: 0 for tingkat in MENUNGGU}
    angka: list[dict[str, Any]] = []

    def add(dimensi: str, kode_: Any, label: str | None, urut: int, jumlah: int, laki: int | None = None,
            perempuan: int | None = None) -> None:
        angka.append({"dimensi": dimensi, "kode": TANPA_KODE if kode_ is None else str(kode_), "label": label,
                      "urut": urut, "jumlah": jumlah, "laki_laki": laki, "perempuan": perempuan})

    for i, band in enumerate(stat["kelompok_umur"]):
        add("umur", band["kelompok"], band["kelompok"], i, band["jumlah"], band["laki_laki"], band["perempuan"])
    for dimensi in CATEGORIES:
        for i, item in enumerate(stat[dimensi]):
            add(dimensi, item["kode"], item["label"], i, item["jumlah"], item["laki_laki"], item["perempuan"])
    for i, node in enumerate(stat["wilayah"]):  # the dusun (top level); RW and RT are the desa's own detail
        add("wilayah", node["id"], node["nama"], i, node["jumlah"], node["laki_laki"], node["perempuan"])
    for i, row in enumerate(sorted(menunggu, key=lambda r: (list(tingkat_of).index(r.status), r.jenis_kode))):
        tingkat = tingkat_of[row.status]
        waiting[tingkat] += row.jumlah
        add("surat_menunggu", f"{tingkat}:{row.status}:{row.jenis_kode}", None, i, row.jumlah)
    for row in jam_terbit:
        add("jam_terbit", row.jam, None, min(max(row.jam, 0), 32767), row.jumlah)

    bulanan = [{"seri": "mutasi", "bulan": _bulan(row.bulan), "kode": str(row.kode_peristiwa), "jumlah": row.jumlah}
               for row in mutasi]
    bulanan += [{"seri": row.seri, "bulan": row.bulan, "kode": row.kode, "jumlah": row.jumlah} for row in surat_bulanan]

    ringkas = {
        "penduduk": stat["total"]["jumlah"], "laki_laki": stat["total"]["laki_laki"],
        "perempuan": stat["total"]["perempuan"], "jumlah_kk": stat["jumlah_kk"],
        "wajib_ktp": stat["ktp_el"]["wajib"], "ber_ktp_el": stat["ktp_el"]["memiliki"],
        "ber_akta": stat["akta_lahir"]["memiliki"],
        "surat_menunggu_desa": waiting["desa"], "surat_menunggu_kecamatan": waiting["kecamatan"],
        "surat_menunggu_kabupaten": waiting["kabupaten"], "surat_terbit": surat_ringkas.terbit,
        "jam_terbit_median": _jam(surat_ringkas.median), "jam_terbit_p90": _jam(surat_ringkas.p90),
    }
    return Rekap(kode, tanggal, ringkas, angka, bulanan)


def _bulan(yyyy_mm: str) -> date:
    year, month = yyyy_mm.split("-")
    return date(int(year), int(month), 1)


def _jam(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(f"{value:.1f}")


# --- storing ------------------------------------------------------------------------------------------------


def simpan(conn: Connection, rekap: Rekap) -> int:
    """Replace the desa's rollup rows (and its ``desa_ringkasan`` summary) in the caller's transaction.
    Returns how many times this desa's rollup has been computed (``dihitung_ke``)."""
    kode = parse_desa_kode(rekap.desa_kode)
    kecamatan = kode.induk
    values = {"desa_kode": kode.dotted, "kecamatan_kode": kecamatan.dotted, "kabupaten_kode": kecamatan.induk.dotted,
              "tanggal_acuan": rekap.tanggal_acuan, **{k: rekap.ringkas[k] for k in RINGKAS}}
    stmt = pg_insert(RekapDesa).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[RekapDesa.desa_kode],
        set_={**{k: stmt.excluded[k] for k in values if k != "desa_kode"},
              "dihitung_pada": func.now(), "dihitung_ke": RekapDesa.dihitung_ke + 1},
    ).returning(RekapDesa.dihitung_ke)
    dihitung_ke = conn.execute(stmt).scalar_one()
    conn.execute(delete(RekapAngka).where(RekapAngka.desa_kode == kode.dotted))
    conn.execute(delete(RekapBulanan).where(RekapBulanan.desa_kode == kode.dotted))
    if rekap.angka:
        conn.execute(insert(RekapAngka), [{"desa_kode": kode.dotted, **row} for row in rekap.angka])
    if rekap.bulanan:
        conn.execute(insert(RekapBulanan), [{"desa_kode": kode.dotted, **row} for row in rekap.bulanan])
    # The public desa profile reads this summary: kept from the same computation.
    conn.execute(text(
        """INSERT INTO kawasan.desa_ringkasan (desa_kode, penduduk_hidup, keluarga_aktif, laki_laki, perempuan,
                                               dihitung_pada)
           VALUES (:d, :h, :k, :l, :p, now())
           ON CONFLICT (desa_kode) DO UPDATE SET penduduk_hidup = EXCLUDED.penduduk_hidup,
               keluarga_aktif = EXCLUDED.keluarga_aktif, laki_laki = EXCLUDED.laki_laki,
               perempuan = EXCLUDED.perempuan, dihitung_pada = now()"""
    ), {"d": kode.dotted, "h": rekap.ringkas["penduduk"], "k": rekap.ringkas["jumlah_kk"],
        "l": rekap.ringkas["laki_laki"], "p": rekap.ringkas["perempuan"]})
    jumlahkan_wilayah(conn, kecamatan.dotted, kecamatan.induk.dotted)
    return dihitung_ke


_JUMLAH_KECAMATAN = text("""
INSERT INTO kawasan.rekap_angka_wilayah (wilayah_kode, dimensi, kode, label, urut, jumlah, laki_laki, perempuan)
SELECT CAST(:w AS varchar), a.dimensi, a.kode, min(a.label), min(a.urut), sum(a.jumlah), sum(a.laki_laki),
       sum(a.perempuan)
FROM kawasan.rekap_angka a JOIN kawasan.rekap_desa r USING (desa_kode)
WHERE r.kecamatan_kode = :w AND a.dimensi <> 'wilayah'
GROUP BY a.dimensi, a.kode
""")
_JUMLAH_KABUPATEN = text("""
INSERT INTO kawasan.rekap_angka_wilayah (wilayah_kode, dimensi, kode, label, urut, jumlah, laki_laki, perempuan)
SELECT CAST(:w AS varchar), dimensi, kode, min(label), min(urut), sum(jumlah), sum(laki_laki), sum(perempuan)
FROM kawasan.rekap_angka_wilayah WHERE wilayah_kode LIKE CAST(:w AS varchar) || '.%'
GROUP BY dimensi, kode
""")


def jumlahkan_wilayah(conn: Connection, kecamatan: str, kabupaten: str) -> None:
    """Replace the kecamatan's breakdown sums from its desa rows, then the kabupaten's from its kecamatan's.

    Advisory locks per kecamatan, then per kabupaten (always in that order), held to commit: a concurrent
    recomputation of another desa of the same region sums after this one committed, never beside it. Dusun
    (``wilayah``) are a desa's own and are not summed."""
    for kode, statement in ((kecamatan, _JUMLAH_KECAMATAN), (kabupaten, _JUMLAH_KABUPATEN)):
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"rekap:{kode}"})
        conn.execute(delete(RekapAngkaWilayah).where(RekapAngkaWilayah.wilayah_kode == kode))
        conn.execute(statement, {"w": kode})


def perbarui_desa(conn: Connection, engine: Engine, desa_kode: str, *, tanggal: date | None = None) -> dict[str, Any]:
    """Recompute one desa and replace its rollup in ``conn``'s transaction.

    A transaction-level advisory lock per desa serialises recomputations of the same desa: the one that
    waited reads after the other committed, so the newer figures always win.
    """
    kode = parse_desa_kode(desa_kode).dotted
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"rekap:{kode}"})
    rekap = hitung_desa(engine, kode, tanggal=tanggal)
    dihitung_ke = simpan(conn, rekap)
    return {"desa": kode, "penduduk": rekap.ringkas["penduduk"], "jumlah_kk": rekap.ringkas["jumlah_kk"],
            "dihitung_ke": dihitung_ke,
            "tanggal_acuan": rekap.tanggal_acuan.isoformat()}


def minta_hitung_ulang(conn: Connection, kode: str | None = None) -> int:
    """Queue the coalesced recomputation of every ready desa at or under ``kode`` (the worker does it);
    returns how many were queued (a desa with one pending already is not queued twice)."""
    from service.penduduk.services import TOPIC_BERUBAH
    from workers.outbox import emit

    return sum(emit(conn, TOPIC_BERUBAH, desa_kode=k, key=f"{TOPIC_BERUBAH}:{k}") is not None
               for k in desa_dalam(conn, kode))


# --- reading back and checking ----------------------------------------------------------------------------


def tersimpan(conn: Connection, desa_kode: str) -> Rekap | None:
    """The stored rollup of one desa, or ``None`` when it was never computed."""
    row = conn.execute(select(RekapDesa.__table__).where(RekapDesa.desa_kode == desa_kode)).first()
    if row is None:
        return None
    angka = conn.execute(
        select(RekapAngka.dimensi, RekapAngka.kode, RekapAngka.label, RekapAngka.urut, RekapAngka.jumlah,
               RekapAngka.laki_laki, RekapAngka.perempuan).where(RekapAngka.desa_kode == desa_kode)
    ).mappings().all()
    bulanan = conn.execute(
        select(RekapBulanan.seri, RekapBulanan.bulan, RekapBulanan.kode, RekapBulanan.jumlah)
        .where(RekapBulanan.desa_kode == desa_kode)
    ).mappings().all()
    return Rekap(desa_kode, row.tanggal_acuan, {k: getattr(row, k) for k in RINGKAS},
                 [dict(a) for a in angka], [dict(b) for b in bulanan])


def bandingkan(stored: Rekap | None, actual: Rekap) -> list[Selisih]:
    """Every figure that differs between a stored rollup and a fresh computation (a missing rollup is one)."""
    if stored is None:
        return [Selisih(actual.desa_kode, "rekap", "ada", None, True)]
    mine, theirs = stored.nilai(), actual.nilai()
    out = []
    for key in sorted(mine.keys() | theirs.keys(), key=lambda k: (k[0], k[1])):
        a, b = mine.get(key), theirs.get(key)
        if a != b:
            out.append(Selisih(actual.desa_kode, key[0], key[1], a, b))
    return out


def desa_dalam(conn: Connection, kode: str | None) -> list[str]:
    """The ready desa at or under ``kode`` (a desa, kecamatan, kabupaten or provinsi; ``None``: all)."""
    if kode is None:
        return list(conn.scalars(text("SELECT kode FROM kawasan.tenant WHERE status = 'ready' ORDER BY kode")))
    parsed = parse_kode(kode)
    villages = [k for k, _ in villages_under(conn, parsed)]  # UnknownKode for a code not in the registry
    ready = set(conn.scalars(text("SELECT kode FROM kawasan.tenant WHERE status = 'ready' AND kode = ANY(:k)"),
                             {"k": villages}))
    return [k for k in villages if k in ready]


def _verifikasi_satu(engine: Engine, desa_kode: str) -> tuple[Rekap, list[Selisih]]:
    with engine.connect() as conn:
        stored = tersimpan(conn, desa_kode)
    # Ages at the stored reference date, so like is compared with like.
    actual = hitung_desa(engine, desa_kode, tanggal=stored.tanggal_acuan if stored else None)
    return actual, bandingkan(stored, actual)


def verifikasi_desa(engine: Engine, desa_kode: str) -> list[Selisih]:
    """Recompute one desa and compare it with its stored rollup."""
    return _verifikasi_satu(engine, desa_kode)[1]


def verifikasi(engine: Engine, kode: str | None = None) -> tuple[list[str], list[Selisih]]:
    """Check every ready desa at or under ``kode``; returns (desa checked, differences).

    When ``kode`` covers whole kecamatan (a kecamatan, a kabupaten, or everything), their summed breakdowns
    (``rekap_angka_wilayah``, and the kabupaten's) are compared with the sums of the recomputed desa too."""
    with engine.connect() as conn:
        desa = desa_dalam(conn, kode)
    selisih: list[Selisih] = []
    expected: dict[tuple[str, str, str], list[int | None]] = {}
    for desa_kode in desa:
        actual, found = _verifikasi_satu(engine, desa_kode)
        selisih += found
        kecamatan = parse_desa_kode(desa_kode).induk
        for row in actual.angka:
            if row["dimensi"] == "wilayah":
                continue
            for wilayah in (kecamatan.dotted, kecamatan.induk.dotted):
                sums = expected.setdefault((wilayah, row["dimensi"], row["kode"]), [0, None, None])
                for i, key in enumerate(("jumlah", "laki_laki", "perempuan")):
                    if row[key] is not None:
                        sums[i] = (sums[i] or 0) + row[key]
    whole = kode is None or parse_kode(kode).tingkat is not Tingkat.DESA
    if whole and desa:
        covered = {w for w, _, _ in expected}
        if kode is not None and parse_kode(kode).tingkat is Tingkat.KECAMATAN:
            covered = {parse_kode(kode).dotted}  # its kabupaten has other kecamatan: not checked from here
        with engine.connect() as conn:
            stored = {(r.wilayah_kode, r.dimensi, r.kode): [r.jumlah, r.laki_laki, r.perempuan]
                      for r in conn.execute(select(RekapAngkaWilayah.__table__)
                                            .where(RekapAngkaWilayah.wilayah_kode.in_(covered)))}
        for key in sorted(k for k in stored.keys() | expected.keys() if k[0] in covered):
            mine, theirs = stored.get(key, [None] * 3), expected.get(key, [None] * 3)
            for i, ukuran in enumerate(("jumlah", "laki_laki", "perempuan")):
                if mine[i] != theirs[i]:
                    selisih.append(Selisih(key[0], key[1], f"{key[2]}/{ukuran}", mine[i], theirs[i]))
    return desa, selisih


# --- rebuilding -------------------------------------------------------------------------------------------


def bangun_ulang(engine: Engine, kode: str | None = None, *, jobs: int = 1,
                 tanggal: date | None = None) -> dict[str, Any]:
    """Recompute every ready desa at or under ``kode`` from scratch, one transaction per desa.

    ``jobs`` > 1 spreads the desa over worker processes (each with its own engine)."""
    started = time.perf_counter()
    with engine.connect() as conn:
        desa = desa_dalam(conn, kode)
    tanggal = tanggal or hari_ini()
    if jobs <= 1 or len(desa) < 2:
        for desa_kode in desa:
            with engine.begin() as conn:
                perbarui_desa(conn, engine, desa_kode, tanggal=tanggal)
    else:
        url = engine.url.render_as_string(hide_password=False)
        chunks = [desa[i::jobs] for i in range(jobs)]
        with process_pool(jobs) as pool:
            pool.starmap(_bangun_bagian, [(url, chunk, tanggal) for chunk in chunks if chunk])
    return {"desa": len(desa), "detik": round(time.perf_counter() - started, 2), "tanggal_acuan": tanggal.isoformat()}


def _bangun_bagian(url: str, desa: Iterable[str], tanggal: date) -> None:
    from service.db import make_engine

    engine = make_engine(url, pool_size=2)
    try:
        for desa_kode in desa:
            with engine.begin() as conn:
                perbarui_desa(conn, engine, desa_kode, tanggal=tanggal)
    finally:
        engine.dispose()


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value

