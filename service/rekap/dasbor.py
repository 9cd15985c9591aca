"""What the kecamatan and kabupaten dashboards read: the stored rollups, summed over a region.

Plain functions taking a Connection and a dotted kecamatan or kabupaten code, used by the API and callable
directly (the portal's pages build on them). Region totals are the sums of the per-desa rows they return, and
a region's breakdowns are the sums kept beside the desa rows (``rekap_angka_wilayah``, replaced in the same
transaction), so a kecamatan's figures equal the sum of its villages' by construction. Population figures are
the current register, ages at each rollup's ``tanggal_acuan``; only mutation and letter counts follow ``tahun``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from service.penduduk.referensi import PERISTIWA
from service.regions.codes import InvalidKode, Tingkat, parse_kode
from service.regions.services import UnknownKode, get_region
from service.rekap.services import CATEGORIES, SERI_SURAT

DIMENSI_WILAYAH = ("umur", *CATEGORIES)  # dusun are a desa's own detail: see rekap_desa()
CATATAN = ("Umur (kelompok umur, wajib KTP-el) dihitung pada tanggal_acuan; angka penduduk adalah register pada "
           "dihitung_pada / ages are taken at tanggal_acuan, the register as it was at dihitung_pada")
UKURAN = ("penduduk", "jumlah_kk", "ktp_el", "akta", "surat_menunggu", "surat_terlambat", "jam_terbit_median")


class FilterTidakValid(ValueError):
    """A filter value that does not fit the region (answered 422 naming ``field``)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


_WILAYAH_CTE = """
WITH RECURSIVE t AS (
    SELECT kode, nama, tingkat, induk_kode FROM kawasan.wilayah_administrasi WHERE kode = :k
    UNION ALL
    SELECT w.kode, w.nama, w.tingkat, w.induk_kode
    FROM kawasan.wilayah_administrasi w JOIN t ON w.induk_kode = t.kode
    WHERE t.tingkat IN ('kabupaten', 'kecamatan')
)"""
"""The region, its kecamatan and its desa (through the parent-code index)."""
_ANGGOTA = text(_WILAYAH_CTE + " SELECT kode, nama, tingkat, induk_kode FROM t ORDER BY length(kode), kode")


def _region_kode(kode: str) -> str:
    parsed = parse_kode(kode)
    if parsed.tingkat not in (Tingkat.KECAMATAN, Tingkat.KABUPATEN):
        raise InvalidKode(kode, "bukan kecamatan/kabupaten / not a kecamatan or kabupaten")
    return parsed.dotted


def _anggota(conn: Connection, kode: str) -> tuple[dict[str, Any], dict[str, str], list[tuple[str, str, str]]]:
    """(region, kecamatan kode → nama, [(desa kode, nama, kecamatan kode)]) of a kecamatan or kabupaten;
    :class:`InvalidKode` for a malformed code or another level, :class:`UnknownKode` for one not registered."""
    region_kode = _region_kode(kode)
    rows = conn.execute(_ANGGOTA, {"k": region_kode}).all()
    if not rows:
        raise UnknownKode(region_kode)
    region = {"kode": rows[0].kode, "nama": rows[0].nama, "tingkat": rows[0].tingkat}
    kecamatan = {r.kode: r.nama for r in rows if r.tingkat == Tingkat.KECAMATAN}
    desa = [(r.kode, r.nama, r.induk_kode) for r in rows if r.tingkat == Tingkat.DESA]
    return region, kecamatan, desa


def wilayah(conn: Connection, kode: str) -> dict[str, Any]:
    """The kecamatan or kabupaten ``kode`` (``kode``, ``nama``, ``tingkat``): its registry row only, not its
    members."""
    row = get_region(conn, _region_kode(kode))
    return {"kode": row.kode, "nama": row.nama, "tingkat": row.tingkat}


def _pilih(desa: list[tuple[str, str, str]], pilihan: list[str] | None) -> list[tuple[str, str, str]]:
    if not pilihan:
        return desa
    by_kode = {d[0]: d for d in desa}
    for i, kode in enumerate(pilihan):
        if kode not in by_kode:
            raise FilterTidakValid(f"desa.{i}" if len(pilihan) > 1 else "desa",
                                   f"{kode!r} bukan desa di wilayah ini / not a desa of this region")
    return [by_kode[k] for k in dict.fromkeys(pilihan)]


def _rentang(tahun: int | None) -> tuple[date, date]:
    return (date(tahun, 1, 1), date(tahun + 1, 1, 1)) if tahun else (date(1, 1, 1), date(9999, 1, 1))


def _persen(part: int | None, whole: int | None) -> float | None:
    return round(100.0 * part / whole, 2) if part is not None and whole else None


def _angka(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _persentil(histogram: dict[int, int], p: float) -> float | None:
    """The p-th percentile (0..1) of whole hours from a histogram, interpolated as percentile_cont does."""
    n = sum(histogram.values())
    if not n:
        return None
    ordered = sorted(histogram.items())

    def at(index: int) -> int:
        seen = 0
        for jam, count in ordered:
            seen += count
            if seen > index:
                return jam
        return ordered[-1][0]

    pos = p * (n - 1)
    lo = int(pos)
    return round(at(lo) + (pos - lo) * (at(min(lo + 1, n - 1)) - at(lo)), 1)


_DASBOR = text(_WILAYAH_CTE + """,
d AS MATERIALIZED (
    SELECT kode FROM t WHERE tingkat = 'desa' AND (CAST(:pilih AS text[]) IS NULL OR kode = ANY(CAST(:pilih AS text[])))
),
b AS (
    SELECT desa_kode, jsonb_object_agg(seri, jumlah) AS seri
    -- Byte order ("C") for the grouping: the sort costs a fraction of a locale-aware one.
    FROM (SELECT desa_kode COLLATE "C" AS desa_kode, seri COLLATE "C" AS seri, sum(jumlah)::int AS jumlah
          FROM kawasan.rekap_bulanan
          WHERE desa_kode IN (SELECT kode FROM d) AND bulan >= :dari AND bulan < :sampai GROUP BY 1, 2) x
    GROUP BY 1
),
k AS (
    SELECT desa_kode, count(*)::int AS terlambat FROM kawasan.kotak_masuk
    WHERE status = 'menunggu' AND batas_waktu < now() AND desa_kode IN (SELECT kode FROM d) GROUP BY 1
),
r AS (SELECT r.* FROM kawasan.rekap_desa r WHERE r.desa_kode IN (SELECT kode FROM d)),
a AS (
    -- The whole region: its sums, kept with the desa rows. A chosen set of desa: summed here.
    SELECT dimensi, kode, label, urut, jumlah, laki_laki, perempuan FROM kawasan.rekap_angka_wilayah
    WHERE CAST(:pilih AS text[]) IS NULL AND wilayah_kode = :k AND dimensi = ANY(:dims)
    UNION ALL
    SELECT dimensi, kode, min(label), min(urut), sum(jumlah)::int, sum(laki_laki)::int, sum(perempuan)::int
    FROM kawasan.rekap_angka
    WHERE CAST(:pilih AS text[]) IS NOT NULL AND desa_kode IN (SELECT kode FROM d) AND dimensi = ANY(:dims)
    GROUP BY 1, 2
)
SELECT (SELECT json_agg(t ORDER BY length(t.kode), t.kode) FROM t) AS anggota,
       (SELECT coalesce(json_agg(r), '[]') FROM r) AS baris,
       -- Separate objects merged in Python: the planner cannot estimate d, and a join would rescan them per desa.
       (SELECT coalesce(json_object_agg(desa_kode, seri), '{}') FROM b) AS seri,
       (SELECT coalesce(json_object_agg(desa_kode, terlambat), '{}') FROM k) AS terlambat,
       (SELECT coalesce(json_agg(a ORDER BY a.dimensi, a.urut, a.kode), '[]') FROM a) AS rincian
""")
"""A dashboard in one round trip: the region with its kecamatan and desa (through the parent-code index), each
selected desa's stored headline figures, its mutation and letter counts for the period and its overdue inbox
items (live, not rolled up: the inbox is already in the shared schema), and the summed breakdowns."""


@dataclass
class _Muatan:
    region: dict[str, Any]
    kecamatan: dict[str, str]
    desa: list[tuple[str, str, str]]  # the selected desa: (kode, nama, kecamatan kode)
    baris: list[dict[str, Any]]
    rincian: dict[str, list[dict[str, Any]]]
    histogram: dict[int, int]


def _muat(conn: Connection, kode: str, *, desa: list[str] | None, tahun: int | None,
          rincian: bool = True) -> _Muatan:
    region_kode = _region_kode(kode)
    dari, sampai = _rentang(tahun)
    dims = [*DIMENSI_WILAYAH, "jam_terbit"] if rincian else []
    row = conn.execute(_DASBOR, {"k": region_kode, "pilih": desa or None, "dari": dari, "sampai": sampai,
                                 "dims": dims}).one()
    if not row.anggota:
        raise UnknownKode(region_kode)
    region = {k: row.anggota[0][k] for k in ("kode", "nama", "tingkat")}
    kecamatan = {r["kode"]: r["nama"] for r in row.anggota if r["tingkat"] == Tingkat.KECAMATAN}
    anggota = _pilih([(r["kode"], r["nama"], r["induk_kode"]) for r in row.anggota if r["tingkat"] == Tingkat.DESA],
                     desa)
    per_dimensi: dict[str, list[dict[str, Any]]] = {d: [] for d in DIMENSI_WILAYAH} if rincian else {}
    histogram: dict[int, int] = {}
    for r in row.rincian:
        if r["dimensi"] == "jam_terbit":
            histogram[int(r["kode"])] = r["jumlah"]
        else:
            per_dimensi[r["dimensi"]].append({"kode": None if r["kode"] == "-" else r["kode"], "label": r["label"],
                                              "jumlah": r["jumlah"], "laki_laki": r["laki_laki"],
                                              "perempuan": r["perempuan"]})
    baris = _baris_desa(anggota, kecamatan, row.baris, row.seri, row.terlambat)
    return _Muatan(region, kecamatan, anggota, baris, per_dimensi, histogram)


def _baris_desa(desa: list[tuple[str, str, str]], kecamatan: dict[str, str], stored_rows: list[dict[str, Any]],
                seri: dict[str, dict[str, int]], terlambat: dict[str, int]) -> list[dict[str, Any]]:
    stored = {r["desa_kode"]: r for r in stored_rows}
    rows = []
    for kode, nama, induk in desa:
        r = stored.get(kode)
        base = {"kode": kode, "nama": nama, "kecamatan": {"kode": induk, "nama": kecamatan.get(induk)},
                "tersedia": r is not None}
        if r is None:  # not provisioned yet, or never computed: shown, but not counted as zeros
            rows.append({**base, "dihitung_pada": None, "tanggal_acuan": None})
            continue
        s, penduduk = seri.get(kode, {}), r["penduduk"]
        rows.append({
            **base,
            "dihitung_pada": r["dihitung_pada"], "tanggal_acuan": r["tanggal_acuan"],
            "penduduk": penduduk, "laki_laki": r["laki_laki"], "perempuan": r["perempuan"], "jumlah_kk": r["jumlah_kk"],
            "ktp_el": {"wajib": r["wajib_ktp"], "memiliki": r["ber_ktp_el"],
                       "persen": _persen(r["ber_ktp_el"], r["wajib_ktp"])},
            "akta": {"penduduk": penduduk, "memiliki": r["ber_akta"], "persen": _persen(r["ber_akta"], penduduk)},
            "mutasi": s.get("mutasi", 0),
            "surat": {
                "menunggu": {"desa": r["surat_menunggu_desa"], "kecamatan": r["surat_menunggu_kecamatan"],
                             "kabupaten": r["surat_menunggu_kabupaten"]},
                "terlambat": terlambat.get(kode, 0),
                **{name.removeprefix("surat_"): s.get(name, 0) for name in SERI_SURAT},
                "jam_terbit_median": r["jam_terbit_median"], "jam_terbit_p90": r["jam_terbit_p90"],
            },
        })
    return rows


_SURAT = tuple(name.removeprefix("surat_") for name in SERI_SURAT)
_TINGKAT = ("desa", "kecamatan", "kabupaten")


def _jumlahkan(rows: list[dict[str, Any]], histogram: dict[int, int] | None = None) -> dict[str, Any]:
    """Totals of per-desa rows (only those with a rollup), in one pass; percentages recomputed from the sums."""
    n = penduduk = laki = perempuan = kk = mutasi = wajib = ktp = akta = terlambat = 0
    surat = dict.fromkeys(_SURAT, 0)
    menunggu = dict.fromkeys(_TINGKAT, 0)
    for r in rows:
        if not r["tersedia"]:
            continue
        n += 1
        penduduk += r["penduduk"]
        laki += r["laki_laki"]
        perempuan += r["perempuan"]
        kk += r["jumlah_kk"]
        mutasi += r["mutasi"]
        wajib += r["ktp_el"]["wajib"]
        ktp += r["ktp_el"]["memiliki"]
        akta += r["akta"]["memiliki"]
        s = r["surat"]
        terlambat += s["terlambat"]
        for name in _SURAT:
            surat[name] += s[name]
        for tingkat in _TINGKAT:
            menunggu[tingkat] += s["menunggu"][tingkat]
    total: dict[str, Any] = {
        "desa": len(rows), "desa_tersedia": n, "penduduk": penduduk, "laki_laki": laki, "perempuan": perempuan,
        "jumlah_kk": kk, "mutasi": mutasi,
        "ktp_el": {"wajib": wajib, "memiliki": ktp, "persen": _persen(ktp, wajib)},
        "akta": {"penduduk": penduduk, "memiliki": akta, "persen": _persen(akta, penduduk)},
        "surat": {"menunggu": menunggu, "terlambat": terlambat, **surat},
    }
    if histogram is not None:
        total["surat"]["jam_terbit_median"] = _persentil(histogram, 0.5)
        total["surat"]["jam_terbit_p90"] = _persentil(histogram, 0.9)
    return total


def rekap_wilayah(conn: Connection, kode: str, *, desa: list[str] | None = None,
                  tahun: int | None = None) -> dict[str, Any]:
    """A kecamatan's or kabupaten's dashboard: totals, breakdowns, one row per desa (and per kecamatan)."""
    m = _muat(conn, kode, desa=desa, tahun=tahun)
    region, kecamatan, rows = m.region, m.kecamatan, m.baris
    answer: dict[str, Any] = {
        "wilayah": region,
        "filter": {"desa": desa or None, "tahun": tahun},
        **_kesegaran(rows),
        "total": _jumlahkan(rows, m.histogram),
        "rincian": m.rincian,
        "per_desa": rows,
    }
    if region["tingkat"] == Tingkat.KABUPATEN:
        answer["per_kecamatan"] = _per_kecamatan(rows, kecamatan)
    return answer


def _kesegaran(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """When the figures were computed and at which date ages were taken (they change every day)."""
    times = [r["dihitung_pada"] for r in rows if r["tersedia"]]
    dates = sorted({r["tanggal_acuan"] for r in rows if r["tersedia"]})
    return {"dihitung_pada": {"paling_lama": min(times) if times else None, "terbaru": max(times) if times else None},
            "tanggal_acuan": dates, "catatan": CATATAN}


def _per_kecamatan(rows: list[dict[str, Any]], kecamatan: dict[str, str]) -> list[dict[str, Any]]:
    """The comparison between kecamatan: each one's totals, from the same per-desa rows."""
    by_kec: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_kec[r["kecamatan"]["kode"]].append(r)
    return [{"kode": k, "nama": nama, **_jumlahkan(by_kec[k])} for k, nama in kecamatan.items() if by_kec.get(k)]


def deret_waktu(conn: Connection, kode: str, *, satuan: str = "bulan", desa: list[str] | None = None,
                tahun: int | None = None) -> dict[str, Any]:
    """Mutations and letters per month (or year) in the region; a year's months are all listed."""
    region, _, anggota = _anggota(conn, kode)
    kodes = [d[0] for d in _pilih(anggota, desa)]
    dari, sampai = _rentang(tahun)
    fmt = "YYYY-MM" if satuan == "bulan" else "YYYY"
    rows = conn.execute(text(
        f"""SELECT to_char(bulan, '{fmt}') AS periode, seri, kode, sum(jumlah)::int AS jumlah
            FROM kawasan.rekap_bulanan WHERE desa_kode = ANY(:d) AND bulan >= :dari AND bulan < :sampai
            GROUP BY 1, 2, 3 ORDER BY 1"""), {"d": kodes, "dari": dari, "sampai": sampai}).all()
    periods = _periods(satuan, tahun, [r.periode for r in rows])
    series = {p: {"periode": p, "mutasi": {"jumlah": 0, "peristiwa": {}},
                  "surat": {**{name.removeprefix("surat_"): 0 for name in SERI_SURAT}, "per_jenis": {}}}
              for p in periods}
    for r in rows:
        item = series[r.periode]
        if r.seri == "mutasi":
            item["mutasi"]["jumlah"] += r.jumlah
            label = PERISTIWA.get(int(r.kode), r.kode)
            item["mutasi"]["peristiwa"][label] = item["mutasi"]["peristiwa"].get(label, 0) + r.jumlah
        else:
            name = r.seri.removeprefix("surat_")
            item["surat"][name] += r.jumlah
            item["surat"]["per_jenis"].setdefault(r.kode, {}).setdefault(name, 0)
            item["surat"]["per_jenis"][r.kode][name] += r.jumlah
    return {"wilayah": region, "satuan": satuan, "filter": {"desa": desa or None, "tahun": tahun},
            "deret": list(series.values())}


def _periods(satuan: str, tahun: int | None, seen: list[str]) -> list[str]:
    """Every period between the first and the last seen (a whole year when ``tahun`` is given), no gaps."""
    if satuan == "tahun":
        years = [int(p) for p in seen] + ([tahun] if tahun else [])
        return [str(y) for y in range(min(years), max(years) + 1)] if years else []
    if tahun:
        return [f"{tahun:04d}-{m:02d}" for m in range(1, 13)]
    if not seen:
        return []
    first, last = seen[0], seen[-1]
    index, end = int(first[:4]) * 12 + int(first[5:]) - 1, int(last[:4]) * 12 + int(last[5:]) - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index, end + 1)]


def _ukuran(row: dict[str, Any], ukuran: str) -> float | int | None:
    if ukuran == "ktp_el":
        return row["ktp_el"]["persen"]
    if ukuran == "akta":
        return row["akta"]["persen"]
    if ukuran == "surat_menunggu":
        return sum(row["surat"]["menunggu"].values())
    if ukuran in ("surat_terlambat", "jam_terbit_median"):
        return row["surat"][ukuran.removeprefix("surat_")]
    return row[ukuran]


def peringkat(conn: Connection, kode: str, *, ukuran: str = "penduduk", urutan: str = "atas", jumlah: int = 10,
              tingkat: str = "desa", tahun: int | None = None) -> dict[str, Any]:
    """Top (``atas``) or bottom (``bawah``) desa, or kecamatan of a kabupaten, by one measure. Desa without
    a rollup, or without a value for the measure (no adult for KTP-el, no letter issued), are left out."""
    if ukuran not in UKURAN:
        raise FilterTidakValid("ukuran", f"salah satu dari / one of: {', '.join(UKURAN)}")
    return _urutkan(_muat(conn, kode, desa=None, tahun=tahun, rincian=False), ukuran, urutan, jumlah, tingkat)


def peringkat_dasbor(conn: Connection, kode: str, *, ukuran: str, jumlah: int,
                     tahun: int | None = None) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """A dashboard's rankings from one read of the rollups: top and bottom desa, and kecamatan of a kabupaten
    (``{tingkat: {urutan: ranking}}``)."""
    if ukuran not in UKURAN:
        raise FilterTidakValid("ukuran", f"salah satu dari / one of: {', '.join(UKURAN)}")
    m = _muat(conn, kode, desa=None, tahun=tahun, rincian=False)
    levels = ["desa", "kecamatan"] if m.region["tingkat"] == Tingkat.KABUPATEN else ["desa"]
    return {t: {u: _urutkan(m, ukuran, u, jumlah, t)["peringkat"] for u in ("atas", "bawah")} for t in levels}


def _urutkan(m: _Muatan, ukuran: str, urutan: str, jumlah: int, tingkat: str) -> dict[str, Any]:
    region, rows = m.region, m.baris
    if tingkat == "kecamatan" and region["tingkat"] != Tingkat.KABUPATEN:
        raise FilterTidakValid("tingkat", "peringkat kecamatan hanya di kabupaten / kecamatan ranks need a kabupaten")
    if tingkat == "kecamatan":
        # Fresh rows per call (the loaded desa rows are not touched). A kecamatan's median needs its histogram
        # (see rekap_wilayah): not ranked.
        rows = [{**r, "tersedia": r["desa_tersedia"] > 0, "surat": {**r["surat"], "jam_terbit_median": None}}
                for r in _per_kecamatan(rows, m.kecamatan)]
    scored = [(v, r) for r in rows if r["tersedia"] and (v := _ukuran(r, ukuran)) is not None]
    sign = -1 if urutan == "atas" else 1
    scored.sort(key=lambda item: (sign * item[0], item[1]["kode"]))  # ties: lower code first
    return {"wilayah": region, "ukuran": ukuran, "urutan": urutan, "tingkat": tingkat,
            "peringkat": [{"peringkat": i + 1, "kode": r["kode"], "nama": r["nama"], "nilai": v}
                          for i, (v, r) in enumerate(scored[:jumlah])]}


def rekap_desa(conn: Connection, kode: str, desa_kode: str) -> dict[str, Any]:
    """One desa's whole stored rollup (its dusun included), for the drill-down of a region's dashboard."""
    region = wilayah(conn, kode)
    if not desa_kode.startswith(region["kode"] + "."):
        raise UnknownKode(desa_kode)
    head = conn.execute(text("SELECT * FROM kawasan.rekap_desa WHERE desa_kode = :d"), {"d": desa_kode}).first()
    if head is None:
        raise UnknownKode(desa_kode)
    angka: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in conn.execute(text("SELECT * FROM kawasan.rekap_angka WHERE desa_kode = :d ORDER BY dimensi, urut, kode"),
                          {"d": desa_kode}):
        angka[r.dimensi].append({"kode": None if r.kode == "-" else r.kode, "label": r.label, "jumlah": r.jumlah,
                                 "laki_laki": r.laki_laki, "perempuan": r.perempuan})
    ringkas = {k: _angka(v) for k, v in head._mapping.items()
               if k not in ("desa_kode", "kecamatan_kode", "kabupaten_kode", "dihitung_pada", "tanggal_acuan")}
    return {"wilayah": region, "desa": desa_kode, "dihitung_pada": head.dihitung_pada.isoformat(),
            "tanggal_acuan": head.tanggal_acuan.isoformat(), "catatan": CATATAN, "ringkasan": ringkas,
            "rincian": dict(angka)}


def baris_ekspor(answer: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The per-desa table of :func:`rekap_wilayah` as (header, rows) for CSV/xlsx."""
    header = ["kode", "nama", "kecamatan", "penduduk", "laki_laki", "perempuan", "jumlah_kk", "wajib_ktp",
              "ber_ktp_el", "ktp_el_persen", "ber_akta", "akta_persen", "mutasi", "surat_diajukan", "surat_terbit",
              "surat_ditolak", "surat_dikembalikan", "menunggu_desa", "menunggu_kecamatan", "menunggu_kabupaten",
              "surat_terlambat", "jam_terbit_median", "jam_terbit_p90", "tanggal_acuan", "dihitung_pada"]
    rows = []
    for r in answer["per_desa"]:
        if not r["tersedia"]:
            rows.append([r["kode"], r["nama"], r["kecamatan"]["nama"]] + [None] * (len(header) - 3))
            continue
        s = r["surat"]
        rows.append([r["kode"], r["nama"], r["kecamatan"]["nama"], r["penduduk"], r["laki_laki"], r["perempuan"],
                     r["jumlah_kk"], r["ktp_el"]["wajib"], r["ktp_el"]["memiliki"], r["ktp_el"]["persen"],
                     r["akta"]["memiliki"], r["akta"]["persen"], r["mutasi"], s["diajukan"], s["terbit"], s["ditolak"],
                     s["dikembalikan"], s["menunggu"]["desa"], s["menunggu"]["kecamatan"], s["menunggu"]["kabupaten"],
                     s["terlambat"], s["jam_terbit_median"], s["jam_terbit_p90"], r["tanggal_acuan"],
                     r["dihitung_pada"]])
    return header, rows

