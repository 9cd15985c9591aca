"""``/api/v1/desa/<kode>/statistik`` (population figures, no personal data) and the buku administrasi penduduk
``/buku-induk`` (B.1) and ``/buku-mutasi`` (B.2) as xlsx or PDF (personal data: desa staff only, every export
audited)."""

from __future__ import annotations

from io import BytesIO
from itertools import islice

import marshmallow as ma
from flask import current_app, g, send_file
from flask.views import MethodView
from sqlalchemy import text

from service.api import Blueprint, Schema, problem
from service.audit.services import record
from service.auth.roles import DESA_STAFF
from service.penduduk import buku as books
from service.penduduk.statistik import statistik_desa
from service.tenancy import current_desa, desa_db

blp = Blueprint("penduduk_laporan", __name__, url_prefix="/api/v1", desa_scoped=True,
                description="Population statistics and the buku administrasi penduduk (Permendagri 47/2016)")

#: WeasyPrint lays a PDF out at roughly 25-40 ms per row of these 13-16 column tables on a 2-core machine, so a
#: synchronous PDF stays well inside the web worker's 60 s timeout only up to about this many rows; past it the
#: book is queued as a background job (202 with a status URL); xlsx always streams (100,000 rows in ~20 s).
PDF_MAX_BARIS = 1_000


def _engine():
    return current_app.extensions["kawasan"].engine


# --- schemas ----------------------------------------------------------------------------------------------


class StatistikArgs(Schema):
    tanggal = ma.fields.Date(metadata={"description": "Ages are taken at this date (default today); the months "
                                                      "of mutations end with its month"})


class Jumlah(Schema):
    jumlah = ma.fields.Integer()
    laki_laki = ma.fields.Integer()
    perempuan = ma.fields.Integer()


class KodeJumlah(Jumlah):
    kode = ma.fields.Integer(allow_none=True)
    label = ma.fields.String(allow_none=True)


class JenisKelamin(Schema):
    kode = ma.fields.Integer()
    label = ma.fields.String()
    jumlah = ma.fields.Integer()


class KelompokUmur(Jumlah):
    kelompok = ma.fields.String(metadata={"example": "15-19"})
    dari = ma.fields.Integer()
    sampai = ma.fields.Integer(allow_none=True, metadata={"description": "null for the last band (75+)"})


class WilayahJumlah(Jumlah):
    id = ma.fields.Integer(allow_none=True, metadata={"description": "null: residents without a wilayah"})
    tingkat = ma.fields.String(allow_none=True, metadata={"example": "dusun"})
    nama = ma.fields.String()
    anak = ma.fields.List(ma.fields.Nested(lambda: WilayahJumlah()), metadata={"description": "RW / RT below"})


class Cakupan(Schema):
    wajib = ma.fields.Integer(metadata={"description": "KTP-el: residents aged 17+ or ever married"})
    jumlah = ma.fields.Integer(metadata={"description": "Akta lahir: living residents"})
    memiliki = ma.fields.Integer()
    belum = ma.fields.Integer()
    persen = ma.fields.Float(allow_none=True)


class PeristiwaJumlah(Schema):
    kode = ma.fields.Integer()
    label = ma.fields.String(allow_none=True)
    jumlah = ma.fields.Integer()


class MutasiBulan(Schema):
    bulan = ma.fields.String(metadata={"example": "2025-03"})
    jumlah = ma.fields.Integer()
    peristiwa = ma.fields.List(ma.fields.Nested(PeristiwaJumlah))


class DesaRef(Schema):
    kode = ma.fields.String()
    nama = ma.fields.String()


class Statistik(Schema):
    desa = ma.fields.Nested(DesaRef)
    tanggal = ma.fields.String()
    total = ma.fields.Nested(Jumlah)
    jenis_kelamin = ma.fields.List(ma.fields.Nested(JenisKelamin))
    kelompok_umur = ma.fields.List(ma.fields.Nested(KelompokUmur))
    agama = ma.fields.List(ma.fields.Nested(KodeJumlah))
    pendidikan_kk = ma.fields.List(ma.fields.Nested(KodeJumlah))
    pekerjaan = ma.fields.List(ma.fields.Nested(KodeJumlah))
    status_kawin = ma.fields.List(ma.fields.Nested(KodeJumlah))
    wilayah = ma.fields.List(ma.fields.Nested(WilayahJumlah))
    jumlah_kk = ma.fields.Integer(metadata={"description": "Active families"})
    ktp_el = ma.fields.Nested(Cakupan)
    akta_lahir = ma.fields.Nested(Cakupan)
    mutasi_per_bulan = ma.fields.List(ma.fields.Nested(MutasiBulan), metadata={"description": "Last 12 months"})


_FORMAT = ma.fields.String(load_default="xlsx", validate=ma.validate.OneOf(books.FORMATS),
                           metadata={"description": "xlsx (default) or pdf"})


class BukuIndukArgs(Schema):
    format = _FORMAT


class BukuMutasiArgs(Schema):
    format = _FORMAT
    dari = ma.fields.Date(required=True, metadata={"example": "2025-01-01"})
    sampai = ma.fields.Date(required=True, metadata={"example": "2025-01-31"})


# --- views ------------------------------------------------------------------------------------------------


@blp.route("/statistik")
class StatistikDesa(MethodView):
    @blp.requires(*DESA_STAFF, clients=("desa:read",))
    @blp.arguments(StatistikArgs, location="query")
    @blp.response(200, Statistik)
    def get(self, args):
        """Population figures of living residents: sex, age bands, religion, education, work, marital status,
        wilayah, families, KTP-el and birth-certificate coverage, mutations per month. No personal data"""
        return statistik_desa(desa_db(), tanggal=args.get("tanggal"))


_FILE_RESPONSES = {"200": {"description": "The book as an attachment", "content": {
    books.MIME["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
    books.MIME["pdf"]: {"schema": {"type": "string", "format": "binary"}},
}}}


@blp.route("/buku-induk")
class BukuInduk(MethodView):
    @blp.requires(*DESA_STAFF)
    @blp.arguments(BukuIndukArgs, location="query")
    @blp.doc(responses=_FILE_RESPONSES)
    @blp.alt_response(202, description="A large PDF is produced in the background: poll status_url")
    def get(self, args):
        """B.1 Buku Induk Penduduk (living residents) as xlsx or PDF. Personal data: audited"""
        session = desa_db()
        with _engine().connect() as conn:
            kop = books.kop_desa(conn, session)
        return _export(books.buku_induk(session, kop), args["format"], {})


@blp.route("/buku-mutasi")
class BukuMutasi(MethodView):
    @blp.requires(*DESA_STAFF)
    @blp.arguments(BukuMutasiArgs, location="query")
    @blp.doc(responses=_FILE_RESPONSES)
    @blp.alt_response(400, description="dari is after sampai")
    @blp.alt_response(202, description="A large PDF is produced in the background: poll status_url")
    def get(self, args):
        """B.2 Buku Mutasi Penduduk Desa for a period (tanggal peristiwa from dari to sampai, inclusive) as xlsx
        or PDF. Personal data: audited"""
        dari, sampai = args["dari"], args["sampai"]
        if dari > sampai:
            problem(400, "dari harus sebelum atau sama dengan sampai / dari must not be after sampai",
                    field="dari", location="query")
        session = desa_db()
        with _engine().connect() as conn:
            kop = books.kop_desa(conn, session)
        return _export(books.buku_mutasi(session, kop, dari=dari, sampai=sampai), args["format"],
                       {"dari": dari.isoformat(), "sampai": sampai.isoformat()})


def _export(buku: books.Buku, fmt: str, extra: dict):
    if fmt == "pdf":
        # Read at most one row past the limit: a larger book is laid out by a worker (about 20 ms a row).
        rows = list(islice(buku.baris, PDF_MAX_BARIS + 1))
        if len(rows) > PDF_MAX_BARIS:
            return queue_report(buku.kode, "pdf", extra)
        buku.baris = iter(rows)
    content, rows_written = books.render(buku, fmt)
    # Who exported which book of which desa, how many rows: never a NIK or a name.
    record(_engine(), "ekspor_data_pribadi", aktor=g.principal, desa_kode=current_desa().kode,
           objek=f"buku:{buku.kode}", detail={"buku": buku.kode, "baris": rows_written, "format": fmt, **extra})
    response = send_file(BytesIO(content), mimetype=books.MIME[fmt], as_attachment=True,
                         download_name=f"{buku.berkas}.{fmt}", max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


def queue_report(kode_buku: str, fmt: str, parameter: dict):
    """Queue a report (one outbox event in the same transaction as the report row); answer 202. ``kode_buku``
    is "B.1"/"B.2" (a PDF book) or ``laporan_tasks.REGISTER`` (the register export, used by the portal)."""
    import json

    from service.penduduk.laporan_tasks import REGISTER, TOPIC, TOPIC_EKSPOR
    from workers.outbox import emit

    topic = TOPIC_EKSPOR if kode_buku == REGISTER else TOPIC
    session = desa_db()
    public_id = session.execute(text(
        "INSERT INTO berkas_laporan (buku, format, parameter, oleh) VALUES (:b, :f, CAST(:p AS jsonb), :o) "
        "RETURNING public_id"),
        {"b": kode_buku, "f": fmt, "p": json.dumps(parameter), "o": g.principal.subject}).scalar()
    emit(session, topic, desa_kode=current_desa().kode, key=f"{topic}:{current_desa().kode}:{public_id}",
         payload={"laporan": str(public_id)})
    session.commit()
    url = f"/api/v1/desa/{current_desa().kode}/laporan/{public_id}"
    return {"id": str(public_id), "status": "menunggu", "status_url": url, "berkas_url": f"{url}/berkas"}, 202


@blp.route("/laporan/<laporan_id>")
class BackgroundReport(MethodView):
    @blp.requires(*DESA_STAFF)
    def get(self, laporan_id):
        """Status of a report being produced in the background, with its progress (``persen``, 0-100)"""
        from service.penduduk.laporan_tasks import kemajuan

        row = _report(laporan_id)
        persen = 100 if row.status == "selesai" else kemajuan(current_app.extensions["kawasan"].redis, row.public_id)
        return {"id": laporan_id, "buku": row.buku, "format": row.format, "status": row.status, "baris": row.baris,
                "persen": persen or 0, "dibuat_pada": row.dibuat_pada, "selesai_pada": row.selesai_pada}


@blp.route("/laporan/<laporan_id>/berkas")
class BackgroundReportFile(MethodView):
    @blp.requires(*DESA_STAFF)
    def get(self, laporan_id):
        """Download a finished report. Personal data: audited"""
        row = _report(laporan_id)
        if row.status != "selesai":
            problem(409, f"laporan belum selesai (status {row.status}) / not ready yet", field="status")
        from service.penduduk.impor_resources import MIME as REGISTER_MIME
        from service.penduduk.laporan_tasks import REGISTER

        content = desa_db().scalar(text("SELECT isi FROM berkas_laporan WHERE id = :i"), {"i": row.id})
        if row.buku == REGISTER:  # audited exactly as GET /penduduk/ekspor
            record(_engine(), "ekspor_data_pribadi", aktor=g.principal, desa_kode=current_desa().kode,
                   objek="penduduk:register", detail={"format": row.format, "baris": row.baris})
        else:
            record(_engine(), "ekspor_data_pribadi", aktor=g.principal, desa_kode=current_desa().kode,
                   objek=f"buku:{row.buku}", detail={"buku": row.buku, "baris": row.baris, "format": row.format})
        mime = {**books.MIME, **REGISTER_MIME}[row.format]
        response = send_file(BytesIO(content), mimetype=mime, as_attachment=True,
                             download_name=row.nama_berkas, max_age=0)
        response.headers["Cache-Control"] = "no-store"
        return response


def _report(laporan_id: str):
    import uuid

    try:
        wanted = uuid.UUID(laporan_id)
    except ValueError:
        wanted = None
    row = desa_db().execute(text(
        "SELECT id, public_id, buku, format, status, baris, nama_berkas, dibuat_pada, selesai_pada "
        "FROM berkas_laporan "
        "WHERE public_id = :p"), {"p": wanted}).first() if wanted else None
    if row is None:
        problem(404, "laporan tidak ditemukan / report not found", field="laporan_id", location="path")
    return row
