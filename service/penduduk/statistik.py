"""Population statistics of one desa, computed in the database (aggregates only, never personal data).

Everything about living residents (``status_dasar = 1``) comes from one scan of ``penduduk`` grouped by
GROUPING SETS; active families, the wilayah list and the last 12 months of the mutation log take one small
statement each. Python only shapes the (few hundred) result rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text

from service.penduduk.referensi import AGAMA, JENIS_KELAMIN, PEKERJAAN, PENDIDIKAN_KK, PERISTIWA, STATUS_KAWIN
from tenants.session import DesaSession

#: BPS five-year bands: 0-4 … 70-74, then 75+ (band index 15).
LAST_BAND = 15
AGE_BANDS = [(i * 5, i * 5 + 4) for i in range(LAST_BAND)] + [(LAST_BAND * 5, None)]
#: Adults for the KTP-el duty: 17 or older, or married at any time (kawin, cerai hidup, cerai mati).
WAJIB_KTP_UMUR = 17
PERNAH_KAWIN = (2, 3, 4)
TIDAK_DIKETAHUI = "TIDAK DIKETAHUI"
BELUM_MENGISI = "BELUM MENGISI"

#: Categorical breakdowns (output key → code list); each is a grouping set on its column below.
CATEGORIES: dict[str, dict[int, str]] = {
    "agama": AGAMA, "pendidikan_kk": PENDIDIKAN_KK, "pekerjaan": PEKERJAAN, "status_kawin": STATUS_KAWIN,
}

# Tables are unqualified: the desa session's transaction has search_path set to the desa schema only.
_PENDUDUK = text(f"""
WITH p AS (
    SELECT sex, agama_id, pendidikan_kk_id, pekerjaan_id, status_kawin, wilayah_id,
           ({LAST_BAND} - width_bucket(tanggal_lahir, CAST(:batas AS date[]))) * 8
           + CASE WHEN tanggal_lahir <= :dewasa OR status_kawin IN {PERNAH_KAWIN} THEN 4 ELSE 0 END
           + CASE WHEN ktp_el = 2 OR status_rekam >= 3 THEN 2 ELSE 0 END
           + CASE WHEN btrim(akta_lahir) <> '' THEN 1 ELSE 0 END AS umur_cakupan
    FROM penduduk WHERE status_dasar = 1
)
SELECT CASE WHEN GROUPING(umur_cakupan) = 0 THEN 'umur'
            WHEN GROUPING(agama_id) = 0 THEN 'agama'
            WHEN GROUPING(pendidikan_kk_id) = 0 THEN 'pendidikan_kk'
            WHEN GROUPING(pekerjaan_id) = 0 THEN 'pekerjaan'
            WHEN GROUPING(status_kawin) = 0 THEN 'status_kawin'
            ELSE 'wilayah' END AS dimensi,
       CASE WHEN GROUPING(umur_cakupan) = 0 THEN umur_cakupan::bigint
            WHEN GROUPING(agama_id) = 0 THEN agama_id::bigint
            WHEN GROUPING(pendidikan_kk_id) = 0 THEN pendidikan_kk_id::bigint
            WHEN GROUPING(pekerjaan_id) = 0 THEN pekerjaan_id::bigint
            WHEN GROUPING(status_kawin) = 0 THEN status_kawin::bigint
            ELSE wilayah_id END AS kode,
       sex, count(*) AS jumlah
FROM p
GROUP BY GROUPING SETS ((umur_cakupan, sex), (agama_id, sex), (pendidikan_kk_id, sex), (pekerjaan_id, sex),
                        (status_kawin, sex), (wilayah_id, sex))
""")
"""One scan, one small hash table per grouping set and no FILTER aggregates: the age band and the three
coverage flags travel as one integer (band * 8 + wajib KTP * 4 + has KTP-el * 2 + has akta), which keeps that
set at most 16 x 8 x 2 groups and lets the planner see it as small; the totals are that set's sums."""
_WAJIB, _BER_KTP, _BER_AKTA = 4, 2, 1

_KELUARGA = text("SELECT count(*) FROM keluarga WHERE aktif")

_WILAYAH = text("SELECT id, tingkat, nama, induk_id FROM wilayah ORDER BY urut, nama, id")

#: Life events per month and kind in a period (the desa's statistics and its rollup share it).
MUTASI_PER_BULAN = text("""
SELECT to_char(tanggal_peristiwa, 'YYYY-MM') AS bulan, kode_peristiwa, count(*) AS jumlah
FROM mutasi_penduduk
WHERE tanggal_peristiwa >= :dari AND tanggal_peristiwa < :sampai
GROUP BY 1, 2
""")


def statistik_desa(session: DesaSession, *, tanggal: date | None = None) -> dict[str, Any]:
    """The desa's population figures at ``tanggal`` (default today): ages are taken at that date, the
    register itself is the current one. Mutations: the 12 calendar months up to ``tanggal``'s month."""
    tanggal = tanggal or date.today()
    rows = session.execute(_PENDUDUK, {"batas": _band_limits(tanggal),
                                       "dewasa": _years_before(tanggal, WAJIB_KTP_UMUR)}).all()
    jumlah_kk = session.scalar(_KELUARGA) or 0
    wilayah = session.execute(_WILAYAH).all()
    months = _months(tanggal)
    mutasi = session.execute(MUTASI_PER_BULAN,
                             {"dari": _month_start(months[0]), "sampai": _next_month(months[-1])}).all()

    by_dim: dict[str, dict[int | None, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    total = {"jumlah": 0, "laki_laki": 0, "perempuan": 0}
    wajib = ber_ktp = ber_akta = 0
    for row in rows:
        kode = row.kode
        if row.dimensi == "umur":
            kode, flags = divmod(kode, 8)
            total["jumlah"] += row.jumlah
            total[_sex_key(row.sex)] += row.jumlah
            if flags & _WAJIB:
                wajib += row.jumlah
                ber_ktp += row.jumlah if flags & _BER_KTP else 0
            ber_akta += row.jumlah if flags & _BER_AKTA else 0
        by_sex = by_dim[row.dimensi][kode]
        by_sex[row.sex] = by_sex.get(row.sex, 0) + row.jumlah

    out: dict[str, Any] = {
        "desa": {"kode": session.desa.kode, "nama": session.desa.nama},
        "tanggal": tanggal.isoformat(),
        "total": total,
        "jenis_kelamin": [{"kode": k, "label": v, "jumlah": total[_sex_key(k)]} for k, v in JENIS_KELAMIN.items()],
        "kelompok_umur": [
            {"kelompok": f"{lo}-{hi}" if hi is not None else f"{lo}+", "dari": lo, "sampai": hi,
             **_split(by_dim["umur"].get(i, {}))}
            for i, (lo, hi) in enumerate(AGE_BANDS)
        ],
    }
    for key, codes in CATEGORIES.items():
        out[key] = _category(by_dim[key], codes)
    out["wilayah"] = _wilayah_tree(wilayah, by_dim["wilayah"])
    out["jumlah_kk"] = jumlah_kk
    out["ktp_el"] = {"wajib": wajib, "memiliki": ber_ktp, "belum": wajib - ber_ktp, "persen": _percent(ber_ktp, wajib)}
    out["akta_lahir"] = {"jumlah": total["jumlah"], "memiliki": ber_akta, "belum": total["jumlah"] - ber_akta,
                         "persen": _percent(ber_akta, total["jumlah"])}
    out["mutasi_per_bulan"] = _mutasi(months, mutasi)
    return out


def _years_before(tanggal: date, years: int) -> date:
    """The latest birth date of someone ``years`` old at ``tanggal`` (29 Feb falls back to 28 Feb)."""
    try:
        return tanggal.replace(year=tanggal.year - years)
    except ValueError:
        return tanggal.replace(year=tanggal.year - years, day=28)


def _band_limits(tanggal: date) -> list[date]:
    """Ascending limits for ``width_bucket``: the day after the latest birth date of each age 75, 70, …, 5.
    Born before a limit means at least that old, so the number of limits at or before a birth date counts the
    bands the resident is too young for."""
    return [_years_before(tanggal, 5 * k) + timedelta(days=1) for k in range(LAST_BAND, 0, -1)]


# --- shaping --------------------------------------------------------------------------------------------


def _sex_key(sex: int) -> str:
    return "laki_laki" if sex == 1 else "perempuan"


def _split(by_sex: dict[int, int]) -> dict[str, int]:
    male, female = by_sex.get(1, 0), by_sex.get(2, 0)
    return {"jumlah": male + female, "laki_laki": male, "perempuan": female}


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _category(counts: dict[int | None, dict[int, int]], codes: dict[int, str]) -> list[dict[str, Any]]:
    """Every code of the list (zeros included), codes outside the list, then residents with none."""
    items = [{"kode": code, "label": name, **_split(counts.get(code, {}))} for code, name in codes.items()]
    items += [{"kode": code, "label": None, **_split(by_sex)}
              for code, by_sex in sorted(counts.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
              if code is not None and code not in codes]
    items.append({"kode": None, "label": BELUM_MENGISI, **_split(counts.get(None, {}))})
    return items


def _wilayah_tree(rows, counts: dict[int | None, dict[int, int]]) -> list[dict[str, Any]]:
    """dusun → RW → RT; a node counts the residents pointing at it and at everything under it. Residents
    without a wilayah (or pointing at a row that no longer exists) are under "tidak diketahui"."""
    nodes = {r.id: {"id": r.id, "tingkat": r.tingkat, "nama": r.nama, "jumlah": 0, "laki_laki": 0, "perempuan": 0,
                    "anak": []} for r in rows}
    parent = {r.id: r.induk_id for r in rows}
    roots = []
    for r in rows:
        induk = r.induk_id
        if induk is not None and induk in nodes:
            nodes[induk]["anak"].append(nodes[r.id])
        else:
            roots.append(nodes[r.id])
    unknown = {"id": None, "tingkat": None, "nama": TIDAK_DIKETAHUI, "jumlah": 0, "laki_laki": 0, "perempuan": 0,
               "anak": []}
    for wilayah_id, by_sex in counts.items():
        split = _split(by_sex)
        if wilayah_id not in nodes:
            chain = [unknown]
        else:
            chain, seen, current = [], set(), wilayah_id
            while current is not None and current in nodes and current not in seen:  # guard against cycles
                seen.add(current)
                chain.append(nodes[current])
                current = parent[current]
        for node in chain:
            for key, value in split.items():
                node[key] += value
    return roots + [unknown]


def _months(tanggal: date) -> list[tuple[int, int]]:
    """The 12 (year, month) pairs ending with ``tanggal``'s month, oldest first."""
    index = tanggal.year * 12 + tanggal.month - 1
    return [divmod(i, 12) for i in range(index - 11, index + 1)]


def _month_start(ym: tuple[int, int]) -> date:
    return date(ym[0], ym[1] + 1, 1)


def _next_month(ym: tuple[int, int]) -> date:
    year, month0 = divmod(ym[0] * 12 + ym[1] + 1, 12)
    return date(year, month0 + 1, 1)


def _mutasi(months: list[tuple[int, int]], rows) -> list[dict[str, Any]]:
    by_month: dict[str, dict[int, int]] = defaultdict(dict)
    for row in rows:
        by_month[row.bulan][row.kode_peristiwa] = row.jumlah
    out = []
    for year, month0 in months:
        key = f"{year:04d}-{month0 + 1:02d}"
        per_kode = by_month.get(key, {})
        out.append({
            "bulan": key,
            "jumlah": sum(per_kode.values()),
            "peristiwa": [{"kode": kode, "label": PERISTIWA.get(kode), "jumlah": n}
                          for kode, n in sorted(per_kode.items())],
        })
    return out
