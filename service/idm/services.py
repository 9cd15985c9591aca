"""IDM rules and queries (no Flask): computing a year's index, writing rows, and the region views.

Everything here reads and writes the shared schema only: the index is keyed by the Kemendagri code of the
desa, so it works for villages that have no tenant yet. Region queries filter by code prefix
(``desa_kode LIKE '<region>.%'``), the same rule the policy layer uses to decide who sees a region.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, Text, and_, cast, delete, func, select
from sqlalchemy.dialects.postgresql import insert

from service.idm.models import IndeksDesa
from service.idm.skema import ALIAS, LABEL, STATUS, Skema
from service.regions.codes import Tingkat
from service.regions.models import WilayahAdministrasi

TAHUN_MIN, TAHUN_MAX = 2015, 2100
_ANGKA = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


class SkorTidakValid(ValueError):
    """A dimension score that is not a number in 0..1; ``field`` names the dimension."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def angka(value: Any) -> Decimal | None:
    """A score cell as a Decimal: numbers, or text with a decimal point or comma ("0,6571", " 0.6571 ",
    "'0.6571"); ``None`` for an empty cell or ``-``. Raises ``ValueError`` for anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("bukan angka / not a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float):
        if value != value:  # NaN
            raise ValueError("bukan angka / not a number")
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    text = str(value).strip().lstrip("'").strip().replace("\u00a0", "").replace(" ", "")
    if text in ("", "-"):
        return None
    if not _ANGKA.match(text):
        raise ValueError(f"bukan angka: {str(value)[:30]!r} / not a number")
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation as exc:  # pragma: no cover - the pattern already excludes it
        raise ValueError("bukan angka / not a number") from exc


@dataclass(frozen=True)
class Hasil:
    skor: dict[str, Decimal]
    nilai: Decimal
    status: str


def hitung(sk: Skema, skor: Mapping[str, Any]) -> Hasil:
    """Check one year's scores against the scheme and compute its index and status.

    Raises :class:`SkorTidakValid` naming the first dimension at fault, or ``SkemaBelumTersedia``."""
    clean: dict[str, Decimal] = {}
    for key in sk.dimensi:
        try:
            value = angka(skor.get(key))
        except ValueError as exc:
            raise SkorTidakValid(key, str(exc)) from None
        if value is None:
            raise SkorTidakValid(key, "wajib diisi / required")
        if not Decimal(0) <= value <= Decimal(1):
            raise SkorTidakValid(key, f"harus antara 0 dan 1, bukan {value} / must be between 0 and 1")
        clean[key] = value
    nilai = sk.nilai(clean)
    return Hasil(clean, nilai, sk.status(nilai))


def _json_skor(skor: Mapping[str, Decimal]) -> dict[str, float]:
    # JSON numbers; jsonb keeps them as exact numerics, and the shortest float repr of a score with up to
    # 15 significant digits reads back as the same decimal.
    return {k: float(v) for k, v in skor.items()}


@dataclass(frozen=True)
class Baris:
    desa_kode: str
    tahun: int
    hasil: Hasil


def simpan(conn: Connection, sk: Skema, rows: Iterable[Baris], *, sumber: str, oleh: str | None,
           timpa: bool = True) -> int:
    """Upsert rows; returns how many were written. ``timpa=False`` keeps rows already there
    (the demo never overwrites)."""
    values = [{"desa_kode": r.desa_kode, "tahun": r.tahun, "skema": sk.kode, "skor": _json_skor(r.hasil.skor),
               "nilai": r.hasil.nilai, "status": r.hasil.status, "sumber": sumber, "diubah_oleh": oleh}
              for r in rows]
    if not values:
        return 0
    statement = insert(IndeksDesa)
    if timpa:
        statement = statement.on_conflict_do_update(
            index_elements=["desa_kode", "tahun", "skema"],
            set_={c: statement.excluded[c] for c in ("skor", "nilai", "status", "sumber", "diubah_oleh")}
            | {"diubah_pada": func.now()},
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=["desa_kode", "tahun", "skema"])
    # executemany: SQLAlchemy sends it as batched multi-row INSERTs ("insertmanyvalues"), RETURNING included
    return len(conn.execute(statement.returning(IndeksDesa.desa_kode), values).all())


def hapus(conn: Connection, desa_kode: str, tahun: int, sk: Skema) -> bool:
    result = conn.execute(delete(IndeksDesa).where(
        IndeksDesa.desa_kode == desa_kode, IndeksDesa.tahun == tahun, IndeksDesa.skema == sk.kode))
    return result.rowcount > 0


# --- region views ---------------------------------------------------------------------------------------

_Kec = WilayahAdministrasi.__table__.alias("kec")


def _under(column, region: str):
    return column.like(region + ".%")


def kecamatan_di(region: str):
    """The kecamatan codes of a kecamatan or kabupaten, as a subquery on the registry's parent index (a
    ``LIKE`` on the code would scan the 83,000 villages of the country)."""
    k = WilayahAdministrasi.__table__.alias("kec_di")
    return select(k.c.kode).where(k.c.tingkat == Tingkat.KECAMATAN.value,
                                  (k.c.induk_kode == region) | (k.c.kode == region))


def desa_di_wilayah(conn: Connection, region: str, *, kecamatan: str | None = None, kelurahan: bool = False
                    ) -> list[Any]:
    """The desa under a kecamatan or kabupaten, with their kecamatan; kelurahan only with ``kelurahan=True``
    (the IDM measures desa only)."""
    w = WilayahAdministrasi
    query = (
        select(w.kode, w.nama, w.jenis, _Kec.c.kode.label("kec_kode"), _Kec.c.nama.label("kec_nama"))
        .join(_Kec, _Kec.c.kode == w.induk_kode)
        .where(w.tingkat == Tingkat.DESA.value, w.induk_kode.in_(kecamatan_di(kecamatan or region)))
        .order_by(w.kode)
    )
    if not kelurahan:
        query = query.where(w.jenis == "desa")
    if kecamatan:
        query = query.where(_under(w.kode, region))
    return conn.execute(query).all()


def _kolom_baris():
    i = IndeksDesa
    # The scores as JSON text: read back with parse_float=str, they stay the exact decimals stored.
    return (i.desa_kode, i.tahun, i.skema, cast(i.skor, Text).label("skor"), i.nilai, i.status, i.sumber)


def _row(r: Any) -> dict[str, Any]:
    return {
        "tahun": r.tahun, "skema": r.skema, **json.loads(r.skor, parse_float=str, parse_int=str),
        "nilai": str(r.nilai), "status": r.status, "status_label": LABEL[r.status], "sumber": r.sumber,
    }


def distribusi(conn: Connection, region: str, sk: Skema, *, dari: int | None = None, sampai: int | None = None,
               per_kecamatan: bool = False) -> dict[str, Any]:
    """Counts per status per year for the region (and per kecamatan when asked), with the number of desa
    not measured that year and the mean index."""
    desa = desa_di_wilayah(conn, region)
    jumlah_desa = len(desa)
    kec_of = {d.kode: d.kec_kode for d in desa}
    conditions = [IndeksDesa.skema == sk.kode, _under(IndeksDesa.desa_kode, region)]
    if dari:
        conditions.append(IndeksDesa.tahun >= dari)
    if sampai:
        conditions.append(IndeksDesa.tahun <= sampai)
    i = IndeksDesa
    rows = conn.execute(
        select(i.tahun, i.status, func.count(), func.sum(i.nilai))
        .where(and_(*conditions)).group_by(i.tahun, i.status).order_by(i.tahun)
    ).all()
    years: dict[int, dict[str, Any]] = {}
    for tahun, status, n, total in rows:
        y = years.setdefault(tahun, {"tahun": tahun, "jumlah": dict.fromkeys(STATUS, 0), "diukur": 0,
                                     "_sum": Decimal(0)})
        y["jumlah"][status] = n
        y["diukur"] += n
        y["_sum"] += total
    for y in years.values():
        s = y.pop("_sum")
        y["belum_diukur"] = jumlah_desa - y["diukur"]
        y["rata_rata"] = str((s / y["diukur"]).quantize(Decimal("0.0001"))) if y["diukur"] else None
    out: dict[str, Any] = {
        "wilayah": region, "skema": sk.kode, "jumlah_desa": jumlah_desa,
        "status": [{"kode": s, "label": LABEL[s], "alias": ALIAS[s]} for s in STATUS],
        "tahun": list(years.values()),
    }
    if per_kecamatan:
        per = conn.execute(
            select(i.desa_kode, i.tahun, i.status).where(and_(*conditions))
        ).all()
        desa_per_kec = Counter(kec_of.values())
        kec: dict[str, dict[int, dict[str, int]]] = {}
        for kode, tahun, status in per:
            counts = kec.setdefault(kec_of.get(kode, kode.rsplit(".", 1)[0]), {}).setdefault(
                tahun, dict.fromkeys(STATUS, 0))
            counts[status] += 1
        # Every kecamatan of the region, also one with kelurahan only (no desa to measure).
        w = WilayahAdministrasi
        names = dict(conn.execute(select(w.kode, w.nama).where(w.kode.in_(kecamatan_di(region)))).all())
        out["per_kecamatan"] = [
            {"kode": k, "nama": names.get(k), "jumlah_desa": desa_per_kec[k],
             "tahun": [{"tahun": t, "jumlah": c} for t, c in sorted(kec.get(k, {}).items())]}
            for k in sorted(names)
        ]
    return out


def tabel_desa(conn: Connection, region: str, sk: Skema, *, tahun: int | None = None, status: str | None = None,
               kecamatan: str | None = None) -> dict[str, Any]:
    """Every desa of the region with its history under the scheme, and the value of ``tahun`` (default: the
    latest year with any score in the region), filtered by that year's status."""
    desa = desa_di_wilayah(conn, region, kecamatan=kecamatan)
    i = IndeksDesa
    rows = conn.execute(
        select(*_kolom_baris()).where(i.skema == sk.kode, _under(i.desa_kode, kecamatan or region))
        .order_by(i.desa_kode, i.tahun)
    ).all()
    history: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        history.setdefault(r.desa_kode, []).append(_row(r))
    years = sorted({r.tahun for r in rows})
    pilih = tahun or (years[-1] if years else None)
    out = []
    for d in desa:
        riwayat = history.get(d.kode, [])
        tahun_ini = next((h for h in riwayat if h["tahun"] == pilih), None)
        if status and (tahun_ini is None or tahun_ini["status"] != status):
            continue
        out.append({"kode": d.kode, "nama": d.nama, "kecamatan": {"kode": d.kec_kode, "nama": d.kec_nama},
                    "tahun_ini": tahun_ini, "riwayat": riwayat})
    return {"wilayah": region, "skema": sk.kode, "tahun": pilih, "tahun_tersedia": years, "desa": out}


def riwayat_desa(conn: Connection, desa_kode: str) -> list[dict[str, Any]]:
    """One desa's scores, every scheme and year (newest first)."""
    rows = conn.execute(
        select(*_kolom_baris()).where(IndeksDesa.desa_kode == desa_kode)
        .order_by(IndeksDesa.tahun.desc(), IndeksDesa.skema)
    ).all()
    return [_row(r) for r in rows]


def status_terakhir(conn: Connection, region: str, sk: Skema) -> dict[str, dict[str, Any]]:
    """Per desa under ``region``: the latest year's value and status (for the maps)."""
    i = IndeksDesa
    rows = conn.execute(
        select(i.desa_kode, i.tahun, i.nilai, i.status).distinct(i.desa_kode)
        .where(i.skema == sk.kode, _under(i.desa_kode, region))
        .order_by(i.desa_kode, i.tahun.desc())
    ).all()
    return {r.desa_kode: {"tahun": r.tahun, "nilai": str(r.nilai), "status": r.status} for r in rows}
