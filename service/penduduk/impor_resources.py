"""``/api/v1/desa/<kode>/penduduk/impor`` and ``/penduduk/ekspor``: bulk import and export of the register.

An upload is stored (``impor_penduduk``) with its outbox event in one transaction and answered 202 with
a status URL; a worker runs it (``service.penduduk.impor_tasks``). No NIK is ever in a URL, and the
status report holds row numbers and column names only.
"""

from __future__ import annotations

import io

import marshmallow as ma
from flask import current_app, g, send_file, url_for
from flask.views import MethodView
from flask_smorest.fields import Upload

from service.api import Blueprint, Schema, problem
from service.audit.services import record
from service.auth.roles import DESA_STAFF
from service.penduduk import impor
from service.penduduk.impor import MAX_BYTES, BerkasTidakValid, export_register
from service.penduduk.impor_tasks import status_impor, terima_berkas
from service.tenancy import current_desa, desa_db

blp = Blueprint("penduduk_impor", __name__, url_prefix="/api/v1", desa_scoped=True,
                description="Bulk import (OpenSID FormatImporExcel, OpenDK export, CSV) and export of the register")

MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv"}


class ImporArgs(Schema):
    berkas = Upload(required=True, metadata={
        "description": f"xlsx (OpenSID FormatImporExcel or OpenDK penduduk export) or CSV (templates_impor/"
                       f"penduduk.csv); at most {MAX_BYTES // (1024 * 1024)} MB. Detected by content."})


class ImporDiterima(Schema):
    id = ma.fields.UUID()
    status = ma.fields.String(metadata={"example": "menunggu"})
    persen = ma.fields.Integer()
    format = ma.fields.String(metadata={"example": "xlsx"})
    status_url = ma.fields.String()


class ImporStatus(Schema):
    id = ma.fields.UUID()
    nama_berkas = ma.fields.String(allow_none=True)
    format = ma.fields.String()
    ukuran = ma.fields.Integer(metadata={"description": "bytes"})
    status = ma.fields.String(metadata={"description": "menunggu, berjalan, selesai, ditolak or gagal"})
    persen = ma.fields.Integer()
    laporan = ma.fields.Dict(allow_none=True, metadata={
        "description": "rows_total, inserted, updated, unchanged, rejected, changes [{row, columns}], "
                       "warnings/errors [{row, column, message}] (row as in the sheet), totals; never a NIK"})
    oleh = ma.fields.String(allow_none=True)
    dibuat_pada = ma.fields.DateTime()
    selesai_pada = ma.fields.DateTime(allow_none=True)


class EksporArgs(Schema):
    format = ma.fields.String(load_default="xlsx", validate=ma.validate.OneOf(("xlsx", "csv")))


def _engine():
    return current_app.extensions["kawasan"].engine


def _status_url(public_id) -> str:
    return url_for("penduduk_impor.ImporStatusView", kode=current_desa().kode, impor_id=public_id)


@blp.route("/penduduk/impor")
class ImporView(MethodView):
    @blp.requires(*DESA_STAFF)
    @blp.arguments(ImporArgs, location="files")
    @blp.response(202, ImporDiterima)
    @blp.alt_response(413, description="The file is larger than the limit (field berkas)")
    @blp.alt_response(415, description="Neither xlsx nor CSV text (field berkas)")
    @blp.alt_response(422, description="Empty, corrupt or not a workbook (field berkas)")
    def post(self, args):
        """Upload residents to import (all rows validated first; any error rejects the whole file). The
        import runs in the background: poll the returned status_url"""
        upload = args["berkas"]
        data = upload.stream.read(impor.MAX_BYTES + 1)  # one byte more than allowed tells "too large"
        session = desa_db()
        try:
            row = terima_berkas(session, data, nama_berkas=upload.filename, oleh=g.principal.subject)
        except BerkasTidakValid as exc:
            problem(exc.status, str(exc), field="berkas", location="files")
        session.commit()
        desa = current_desa()
        record(_engine(), "impor_penduduk", aktor=g.principal, desa_kode=desa.kode,
               objek=f"impor_penduduk:{row.public_id}", detail={"format": row.format, "ukuran": len(data)})
        url = _status_url(row.public_id)
        return {"id": row.public_id, "status": "menunggu", "persen": 0, "format": row.format, "status_url": url}, 202, {
            "Location": url}


@blp.route("/penduduk/impor/<uuid:impor_id>")
class ImporStatusView(MethodView):
    @blp.requires(*DESA_STAFF)
    @blp.response(200, ImporStatus)
    @blp.alt_response(404, description="No import with this id in this desa")
    def get(self, impor_id):
        """Status, progress and report of an import"""
        row = status_impor(desa_db(), impor_id)
        if row is None:
            problem(404, "impor tidak ditemukan / import not found", field="impor_id", location="path")
        return row


_FILE_RESPONSES = {"200": {"description": "The register as an attachment", "content": {
    MIME["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
    MIME["csv"]: {"schema": {"type": "string", "format": "binary"}},
}}}


@blp.route("/penduduk/ekspor")
class EksporView(MethodView):
    @blp.requires(*DESA_STAFF)
    @blp.arguments(EksporArgs, location="query")
    @blp.doc(responses=_FILE_RESPONSES)
    def get(self, args):
        """The whole register (every status) in OpenSID's FormatImporExcel columns (plus status_penduduk, telepon,
        email, alamat_sebelumnya), so that it re-imports unchanged. Personal data: audited"""
        fmt = args["format"]
        session = desa_db()
        content, count = export_register(session, fmt)
        desa = current_desa()
        # Who exported which desa's register and how many rows: never a NIK or a name.
        record(_engine(), "ekspor_data_pribadi", aktor=g.principal, desa_kode=desa.kode, objek="penduduk:register",
               detail={"format": fmt, "baris": count})
        response = send_file(io.BytesIO(content), mimetype=MIME[fmt], as_attachment=True,
                             download_name=f"penduduk_{desa.kode.replace('.', '')}.{fmt}", max_age=0)
        response.headers["Cache-Control"] = "no-store"
        return response

