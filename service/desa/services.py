"""Public village profiles: the registry (shared) plus what the desa says about itself (its schema)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, func, select, text
from sqlalchemy.orm import aliased

from service.penduduk.models import Wilayah
from service.regions.codes import Kode
from service.regions.models import WilayahAdministrasi
from tenants.localnames import NATIONAL_DEFAULTS
from tenants.models import Tenant
from tenants.session import DesaSession
from tenants.tables import Pengaturan

_Kec = aliased(WilayahAdministrasi, name="kec")
_Kab = aliased(WilayahAdministrasi, name="kab")
_Prov = aliased(WilayahAdministrasi, name="prov")


def _summary_query() -> Select:
    desa = WilayahAdministrasi
    return (
        select(
            desa.kode, desa.nama, desa.jenis,
            _Kec.kode.label("kec_kode"), _Kec.nama.label("kec_nama"),
            _Kab.kode.label("kab_kode"), _Kab.nama.label("kab_nama"),
            _Prov.kode.label("prov_kode"), _Prov.nama.label("prov_nama"),
        )
        .join(Tenant, Tenant.kode == desa.kode)
        .join(_Kec, _Kec.kode == desa.induk_kode)
        .join(_Kab, _Kab.kode == _Kec.induk_kode)
        .join(_Prov, _Prov.kode == _Kab.induk_kode)
        .where(Tenant.status == "ready")
    )


def _summary(row) -> dict[str, Any]:
    return {
        "kode": row.kode, "nama": row.nama, "jenis": row.jenis,
        "kecamatan": {"kode": row.kec_kode, "nama": row.kec_nama},
        "kabupaten": {"kode": row.kab_kode, "nama": row.kab_nama},
        "provinsi": {"kode": row.prov_kode, "nama": row.prov_nama},
    }


def list_desa(conn: Connection, *, kecamatan: Kode | None, kabupaten: Kode | None, q: str | None,
              offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    query = _summary_query()
    if kecamatan:
        query = query.where(_Kec.kode == kecamatan.dotted)
    if kabupaten:
        query = query.where(_Kab.kode == kabupaten.dotted)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(WilayahAdministrasi.nama.ilike(f"%{escaped}%"))
    total = conn.scalar(select(func.count()).select_from(query.subquery()))
    rows = conn.execute(query.order_by(WilayahAdministrasi.kode).offset(offset).limit(limit)).all()
    return [_summary(r) for r in rows], total or 0


def desa_profile(conn: Connection, session: DesaSession) -> dict[str, Any]:
    row = conn.execute(_summary_query().where(WilayahAdministrasi.kode == session.desa.kode)).one()
    pengaturan = dict(session.execute(select(Pengaturan.kunci, Pengaturan.nilai)).all())
    counts = dict(session.execute(select(Wilayah.tingkat, func.count()).group_by(Wilayah.tingkat)).all())
    sebutan = {key.removeprefix("sebutan_"): pengaturan.get(key, default) for key, default in NATIONAL_DEFAULTS.items()}
    ringkasan = conn.execute(
        text("SELECT penduduk_hidup, keluarga_aktif, laki_laki, perempuan, dihitung_pada "
             "FROM kawasan.desa_ringkasan WHERE desa_kode = :d"), {"d": session.desa.kode}
    ).first()
    return {
        **_summary(row),
        "penduduk": dict(ringkasan._mapping) if ringkasan else None,
        "sebutan": sebutan,
        "jumlah_wilayah": {level: counts.get(level, 0) for level in ("dusun", "rw", "rt")},
    }
