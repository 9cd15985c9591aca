"""Kecamatan and kabupaten dashboards over HTTP (region-scoped: ``/api/v1/wilayah/<kode>/rekap…``) and the
reconciliation check. Everything here is aggregates read from the rollup tables: no personal data."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from service.api import Blueprint, problem
from service.auth.roles import PEMBACA_WILAYAH, Peran
from service.ekspor import MIME, csv_bytes, unduhan, xlsx_bytes
from service.regions.codes import InvalidKode, parse_desa_kode
from service.regions.services import UnknownKode
from service.rekap import dasbor
from service.rekap.schemas import (
    DeretArgs,
    EksporArgs,
    PeringkatArgs,
    RekapArgs,
    VerifikasiArgs,
    VerifikasiSemuaArgs,
)
from service.rekap.services import verifikasi
from service.tenancy import current_region

blp = Blueprint("rekap", __name__, url_prefix="/api/v1", region_scoped=True,
                description="Kecamatan and kabupaten dashboards from the rollups")
admin_blp = Blueprint("rekap_admin", __name__, url_prefix="/api/v1", description="Rollup reconciliation")

PEMBACA = PEMBACA_WILAYAH
PEMERIKSA = (Peran.ADMIN_KABUPATEN, Peran.ADMIN_PLATFORM)


def _engine():
    return current_app.extensions["kawasan"].engine


def _desa_filter(args: dict[str, Any]) -> list[str] | None:
    pilihan = args.get("desa")
    if not pilihan:
        return None
    out = []
    for i, raw in enumerate(pilihan):
        try:
            out.append(parse_desa_kode(raw).dotted)
        except InvalidKode as exc:
            problem(422, f"{raw!r}: {exc.reason}", field="desa" if len(pilihan) == 1 else f"desa.{i}", location="query")
    return out


def _read(fn, *args, **kwargs):
    with _engine().connect() as conn:
        try:
            return fn(conn, current_region(), *args, **kwargs)
        except dasbor.FilterTidakValid as exc:
            problem(422, str(exc), field=exc.field, location="query")


@blp.route("/rekap")
class Rekap(MethodView):
    @blp.requires(*PEMBACA)
    @blp.arguments(RekapArgs, location="query")
    def get(self, args):
        """Dashboard: totals, breakdowns (sex, age band, agama, pendidikan, pekerjaan, status kawin), one row per
        desa and, for a kabupaten, per kecamatan. ``dihitung_pada``/``tanggal_acuan`` say when the figures
        were computed and at which date ages were taken"""
        return _read(dasbor.rekap_wilayah, desa=_desa_filter(args), tahun=args.get("tahun"))


@blp.route("/rekap/deret")
class Deret(MethodView):
    @blp.requires(*PEMBACA)
    @blp.arguments(DeretArgs, location="query")
    def get(self, args):
        """Mutations and letters (requested, issued, rejected, returned; per type) per month or per year"""
        return _read(dasbor.deret_waktu, satuan=args["satuan"], desa=_desa_filter(args), tahun=args.get("tahun"))


@blp.route("/rekap/peringkat")
class Peringkat(MethodView):
    @blp.requires(*PEMBACA)
    @blp.arguments(PeringkatArgs, location="query")
    def get(self, args):
        """Top or bottom desa (or kecamatan of a kabupaten) by population, KK, KTP-el or akta coverage, letters
        waiting or overdue, or median hours to issue"""
        return _read(dasbor.peringkat, ukuran=args["ukuran"], urutan=args["urutan"], jumlah=args["jumlah"],
                     tingkat=args["tingkat"], tahun=args.get("tahun"))


@blp.route("/rekap/desa/<desa_kode>")
class RekapDesa(MethodView):
    @blp.requires(*PEMBACA)
    def get(self, desa_kode):
        """One desa's stored rollup, its dusun included"""
        try:
            kode = parse_desa_kode(desa_kode).dotted
            with _engine().connect() as conn:
                return dasbor.rekap_desa(conn, current_region(), kode)
        except (InvalidKode, UnknownKode):
            problem(404, f"{desa_kode!r}: tidak ada rekap desa ini di wilayah ini / no rollup of this desa here",
                    field="desa_kode", location="path")


@blp.route("/rekap/ekspor")
class Ekspor(MethodView):
    @blp.requires(*PEMBACA)
    @blp.arguments(EksporArgs, location="query")
    @blp.doc(responses={"200": {"description": "CSV or xlsx", "content": {m: {} for m in MIME.values()}}})
    def get(self, args):
        """The per-desa table (CSV), or per desa, per kecamatan and the breakdowns (xlsx, write-only)"""
        answer = _read(dasbor.rekap_wilayah, desa=_desa_filter(args), tahun=args.get("tahun"))
        fmt = args["format"]
        content = csv_bytes(*dasbor.baris_ekspor(answer)) if fmt == "csv" else xlsx_bytes(_lembar(answer))
        tahun = f"_{args['tahun']}" if args.get("tahun") else ""
        return unduhan(content, fmt, f"rekap_{answer['wilayah']['kode'].replace('.', '')}{tahun}")


def _lembar(answer: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The xlsx sheets: per desa, per kecamatan (a kabupaten only), the breakdowns."""
    sheets = [("per_desa", *dasbor.baris_ekspor(answer))]
    if "per_kecamatan" in answer:
        sheets.append(("per_kecamatan",
                       ["kode", "nama", "desa", "desa_tersedia", "penduduk", "laki_laki", "perempuan", "jumlah_kk",
                        "ktp_el_persen", "akta_persen", "mutasi", "surat_diajukan", "surat_terbit", "surat_terlambat"],
                       [[k["kode"], k["nama"], k["desa"], k["desa_tersedia"], k["penduduk"], k["laki_laki"],
                         k["perempuan"], k["jumlah_kk"], k["ktp_el"]["persen"], k["akta"]["persen"], k["mutasi"],
                         k["surat"]["diajukan"], k["surat"]["terbit"], k["surat"]["terlambat"]]
                        for k in answer["per_kecamatan"]]))
    sheets.append(("rincian", ["dimensi", "kode", "label", "jumlah", "laki_laki", "perempuan"],
                   [[dimensi, item["kode"], item["label"], item["jumlah"], item["laki_laki"], item["perempuan"]]
                    for dimensi, items in answer["rincian"].items() for item in items]))
    return sheets


def _verifikasi(kode: str | None) -> dict[str, Any]:
    desa, selisih = verifikasi(_engine(), kode)
    return {"kode": kode, "desa_diperiksa": len(desa), "desa_berbeda": len({s.desa for s in selisih}),
            "selisih": [s.as_dict() for s in selisih]}


@blp.route("/rekap/verifikasi")
class Verifikasi(MethodView):
    @blp.requires(*PEMERIKSA)
    @blp.arguments(VerifikasiArgs, location="query")
    def get(self, args):
        """Recompute every desa of the region (or one) from its own tables and list each figure that differs
        from its stored rollup (expected: none). Takes about 50 ms per desa"""
        region = current_region()
        kode = region
        if args.get("desa"):
            try:
                kode = parse_desa_kode(args["desa"]).dotted
            except InvalidKode as exc:
                problem(422, f"{args['desa']!r}: {exc.reason}", field="desa", location="query")
            if not kode.startswith(region + "."):
                problem(422, f"{kode!r} bukan desa di wilayah ini / not a desa of this region", field="desa",
                        location="query")
        return _verifikasi(kode)


@admin_blp.route("/rekap/verifikasi")
class VerifikasiSemua(MethodView):
    @admin_blp.requires(Peran.ADMIN_PLATFORM)
    @admin_blp.arguments(VerifikasiSemuaArgs, location="query")
    def get(self, args):
        """Platform: the same check over every desa (or those under ``kode``)"""
        kode = args.get("kode")
        try:
            return _verifikasi(kode)
        except InvalidKode as exc:
            problem(422, f"{kode!r}: {exc.reason}", field="kode", location="query")
        except UnknownKode as exc:
            problem(404, str(exc), field="kode", location="query")
