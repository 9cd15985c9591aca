"""``/api/v1/wilayah/<kode>/idm…``: the IDM of a kecamatan's or kabupaten's desa, their status distribution
over the years, and its upkeep (import of the Kemendes spreadsheet, entry by hand).

Region-scoped: the policy layer has already checked that the code is a known kecamatan or kabupaten (404
otherwise) and that the caller's grant covers it (403 for another kecamatan); every query here is limited to
desa under ``current_region()``. Reads: kecamatan and kabupaten staff (and integrations with ``desa:read``
bound there); changes: ``admin_kabupaten`` and ``admin_platform``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import current_app, g
from flask.views import MethodView
from sqlalchemy import select

from service.api import Blueprint, problem, problem_response
from service.audit.services import record
from service.auth.roles import PEMBACA_WILAYAH, Peran
from service.ekspor import MIME, csv_bytes, unduhan, xlsx_bytes
from service.idm import services
from service.idm.impor import impor
from service.idm.schemas import (
    IdmDistribusiArgs,
    IdmEksporArgs,
    IdmHapusArgs,
    IdmImporArgs,
    IdmImporQuery,
    IdmSkorInput,
    IdmTabelArgs,
    IdmTahun,
)
from service.idm.skema import SKEMA, SkemaBelumTersedia, skema
from service.penduduk.impor import BerkasTidakValid
from service.regions.codes import InvalidKode, Tingkat, parse_kode
from service.regions.models import WilayahAdministrasi
from service.tenancy import current_region

blp = Blueprint("idm", __name__, url_prefix="/api/v1", region_scoped=True,
                description="Indeks Desa Membangun per desa and year; status distribution per kecamatan/kabupaten")
skema_blp = Blueprint("idm_skema", __name__, url_prefix="/api/v1/idm", description="Village index schemes")

READERS = PEMBACA_WILAYAH
EDITORS = (Peran.ADMIN_KABUPATEN, Peran.ADMIN_PLATFORM)
READ_SCOPES = ("desa:read",)


def _engine():
    return current_app.extensions["kawasan"].engine


def _desa_here(conn, raw: str, field: str = "desa", *, diukur: bool = False) -> str:
    """The dotted code of a desa under the request's region (404 naming ``field`` otherwise)."""
    try:
        kode = parse_kode(raw)
    except InvalidKode as exc:
        problem(404, f"{raw!r}: {exc.reason}", field=field, location="path")
    if kode.tingkat is not Tingkat.DESA or not kode.dotted.startswith(current_region() + "."):
        problem(404, f"{kode}: bukan desa di wilayah {current_region()} / not a desa of this region", field=field,
                location="path")
    jenis = conn.scalar(select(WilayahAdministrasi.jenis).where(WilayahAdministrasi.kode == kode.dotted))
    if jenis is None:
        problem(404, f"{kode}: kode desa tidak dikenal / unknown desa code", field=field, location="path")
    if diukur and jenis != "desa":
        problem(422, f"{kode} adalah kelurahan: IDM hanya untuk desa / a kelurahan is not measured by the IDM",
                field=field, location="path")
    return kode.dotted


@skema_blp.route("/skema")
@skema_blp.public
def daftar_skema():
    """The village index schemes: dimensions, thresholds (four decimals, inclusive upper bounds), availability"""
    return {"skema": [s.describe() for s in SKEMA.values()]}


@blp.route("/idm/distribusi")
class Distribusi(MethodView):
    @blp.requires(*READERS, clients=READ_SCOPES)
    @blp.arguments(IdmDistribusiArgs, location="query")
    def get(self, args):
        """Number of desa per IDM status per year in this kecamatan or kabupaten (and per kecamatan on request)"""
        with _engine().connect() as conn:
            return services.distribusi(conn, current_region(), skema(args["skema"]), dari=args.get("dari"),
                                       sampai=args.get("sampai"), per_kecamatan=args["per_kecamatan"])


def _tabel(args: dict[str, Any]) -> dict[str, Any]:
    """The per-desa table of the request's region (:func:`services.tabel_desa`) for the table and its export."""
    region = current_region()
    kecamatan = None
    if args.get("kecamatan"):
        # A filter outside the region is bad input (422), as for the rollups' desa filter.
        try:
            kecamatan = parse_kode(args["kecamatan"])
        except InvalidKode as exc:
            problem(422, exc.reason, field="kecamatan", location="query")
        if kecamatan.tingkat is not Tingkat.KECAMATAN or not (kecamatan.dotted + ".").startswith(region + "."):
            problem(422, f"{kecamatan}: bukan kecamatan di wilayah {region} / not a kecamatan of this region",
                    field="kecamatan", location="query")
    with _engine().connect() as conn:
        return services.tabel_desa(conn, region, skema(args["skema"]), tahun=args.get("tahun"),
                                   status=args.get("status"), kecamatan=kecamatan.dotted if kecamatan else None)


@blp.route("/idm/desa")
class TabelDesa(MethodView):
    @blp.requires(*READERS, clients=READ_SCOPES)
    @blp.arguments(IdmTabelArgs, location="query")
    def get(self, args):
        """Every desa of the region with its IDM history; ``tahun_ini`` is the chosen (default: latest) year"""
        return _tabel(args)


@blp.route("/idm/ekspor")
class Ekspor(MethodView):
    @blp.requires(*READERS, clients=READ_SCOPES)
    @blp.arguments(IdmEksporArgs, location="query")
    @blp.doc(responses={"200": {"description": "CSV or xlsx", "content": {m: {} for m in MIME.values()}}})
    def get(self, args):
        """The per-desa table as CSV or xlsx, in the Kemendes layout (IKS/IKE/IKL/NILAI IDM/STATUS IDM per year)"""
        tabel = _tabel(args)
        header, rows = baris_ekspor(tabel, skema(args["skema"]), tahun=args.get("tahun"))
        fmt = args["format"]
        content = csv_bytes(header, rows) if fmt == "csv" else xlsx_bytes([("IDM", header, rows)])
        tahun = f"_{args['tahun']}" if args.get("tahun") else ""
        return unduhan(content, fmt, f"idm_{tabel['wilayah'].replace('.', '')}{tahun}")


def baris_ekspor(tabel: dict[str, Any], sk, *, tahun: int | None = None) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the export: one row per desa of the table (not yet measured ones included, their
    cells empty) and, for each year (``tahun`` only, else every year with data), the scheme's dimensions, the
    index and the status label. Column names are those of the Kemendes recapitulation, so the file imports
    back unchanged (``POST …/idm/impor``, ``kawasan idm import``)."""
    years = [tahun] if tahun else tabel["tahun_tersedia"]
    header = ["KODE DESA", "NAMA DESA", "KODE KECAMATAN", "KECAMATAN"]
    for year in years:
        header += [f"{d.upper()} {year}" for d in sk.dimensi] + [f"NILAI IDM {year}", f"STATUS IDM {year}"]
    rows = []
    for desa in tabel["desa"]:
        by_year = {r["tahun"]: r for r in desa["riwayat"]}
        row: list[Any] = [desa["kode"], desa["nama"], desa["kecamatan"]["kode"], desa["kecamatan"]["nama"]]
        for year in years:
            r = by_year.get(year)
            # Decimal: the stored four decimals exactly, numeric cells in xlsx, the same digits in CSV.
            row += [_angka(r.get(d)) if r else None for d in sk.dimensi]
            row += [_angka(r["nilai"]), r["status_label"]] if r else [None, None]
        rows.append(row)
    return header, rows


def _angka(value: str | None) -> Decimal | None:
    return Decimal(value) if value not in (None, "") else None


@blp.route("/idm/desa/<desa>")
class RiwayatDesa(MethodView):
    @blp.requires(*READERS, clients=READ_SCOPES)
    def get(self, desa):
        """One desa's scores, every scheme and year (newest first)"""
        with _engine().connect() as conn:
            kode = _desa_here(conn, desa)
            return {"kode": kode, "riwayat": services.riwayat_desa(conn, kode)}


@blp.route("/idm/desa/<desa>/<int:tahun>")
class SkorTahun(MethodView):
    @blp.requires(*EDITORS)
    @blp.arguments(IdmSkorInput)
    @blp.response(200, IdmTahun)
    def put(self, args, desa, tahun):
        """Enter or correct one desa's scores for one year; the index and status are computed"""
        if not services.TAHUN_MIN <= tahun <= services.TAHUN_MAX:
            problem(404, f"tahun {tahun} di luar {services.TAHUN_MIN}..{services.TAHUN_MAX}", field="tahun",
                    location="path")
        sk = skema(args.pop("skema", None))
        unknown = [k for k, v in args.items() if k not in sk.dimensi and v is not None]
        if unknown:
            problem(422, f"bukan dimensi skema {sk.kode} / not a dimension of this scheme", field=unknown[0])
        try:
            hasil = services.hitung(sk, args)
        except services.SkorTidakValid as exc:
            problem(422, str(exc), field=exc.field)
        except SkemaBelumTersedia as exc:
            problem(422, str(exc), field="skema")
        with _engine().begin() as conn:
            kode = _desa_here(conn, desa, diukur=True)
            services.simpan(conn, sk, [services.Baris(kode, tahun, hasil)], sumber="manual",
                            oleh=g.principal.subject)
            record(conn, "ubah_idm", aktor=g.principal, desa_kode=kode, objek=f"idm:{kode}:{tahun}",
                   detail={"skema": sk.kode, "status": hasil.status})
            row = next(r for r in services.riwayat_desa(conn, kode) if r["tahun"] == tahun and r["skema"] == sk.kode)
        return row

    @blp.requires(*EDITORS)
    @blp.arguments(IdmHapusArgs, location="query")
    @blp.response(204)
    def delete(self, args, desa, tahun):
        """Remove one desa's scores for one year (404 when there were none)"""
        sk = skema(args["skema"])
        with _engine().begin() as conn:
            kode = _desa_here(conn, desa)
            if not services.hapus(conn, kode, tahun, sk):
                problem(404, f"tidak ada {sk.kode} {tahun} untuk {kode} / no such score", field="tahun",
                        location="path")
            record(conn, "hapus_idm", aktor=g.principal, desa_kode=kode, objek=f"idm:{kode}:{tahun}",
                   detail={"skema": sk.kode})


@blp.route("/idm/impor")
class Impor(MethodView):
    @blp.requires(*EDITORS)
    @blp.arguments(IdmImporArgs, location="files")
    @blp.arguments(IdmImporQuery, location="query")
    @blp.alt_response(413, description="The file is larger than the limit (field berkas)")
    @blp.alt_response(422, description="Unreadable file, or row-level errors [{row, field (column), message}]: "
                                       "nothing was written")
    def post(self, files, args):
        """Import the Kemendes IDM spreadsheet (xlsx/CSV) for this region: every row or none"""
        data = files["berkas"].read()
        sk = skema(args["skema"])
        region = current_region()
        try:
            with _engine().begin() as conn:
                laporan = impor(conn, data, sk, wilayah=region, tahun=args.get("tahun"), oleh=g.principal.subject,
                                periksa_saja=args["periksa"])
                if not laporan.rejected:  # a rejected file wrote nothing
                    record(conn, "impor_idm", aktor=g.principal, objek=f"wilayah:{region}",
                           detail={"skema": sk.kode, "tahun": laporan.tahun, "baru": laporan.inserted,
                                   "diubah": laporan.updated, "periksa": laporan.periksa_saja})
        except BerkasTidakValid as exc:
            problem(exc.status, str(exc), field="berkas", location="files")
        if laporan.rejected:
            errors: list[dict[str, Any]] = [
                {"field": e.column, "location": "berkas", "row": e.row, "message": e.message} for e in laporan.errors
            ]
            return problem_response(
                422, "Unprocessable Entity",
                f"{laporan.errors_total} kesalahan di {laporan.rows_total} baris; tidak ada yang disimpan / "
                f"{laporan.errors_total} errors, nothing was written", errors)
        return laporan.to_dict()
