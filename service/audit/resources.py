"""Reading the audit log: the kepala desa their village's, ``admin_platform`` everything."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from sqlalchemy import func, select

from service.api import Blueprint, Schema
from service.audit.models import AuditLog
from service.desa.schemas import KodeWilayah
from service.regions.codes import Tingkat
from service.tenancy import current_desa

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Audit log")
desa_blp = Blueprint("audit_desa", __name__, url_prefix="/api/v1", desa_scoped=True, description="Audit log")


class AuditEntry(Schema):
    id = ma.fields.Integer()
    waktu = ma.fields.DateTime()
    aktor = ma.fields.String()
    aktor_nama = ma.fields.String(allow_none=True)
    aksi = ma.fields.String()
    desa_kode = ma.fields.String(allow_none=True)
    objek = ma.fields.String(allow_none=True)
    berhasil = ma.fields.Boolean()
    detail = ma.fields.Dict()
    ip = ma.fields.String(allow_none=True)


class AuditArgs(Schema):
    aksi = ma.fields.String(validate=ma.validate.Length(max=60))


class PlatformAuditArgs(AuditArgs):
    desa = KodeWilayah(tingkat=(Tingkat.DESA,))


def _page(where, pagination):
    engine = current_app.extensions["kawasan"].engine
    query = select(AuditLog).where(*where)
    with engine.connect() as conn:
        pagination.item_count = conn.scalar(select(func.count()).select_from(query.subquery()))
        return conn.execute(
            query.order_by(AuditLog.id.desc()).offset(pagination.first_item).limit(pagination.page_size)
        ).all()


@desa_blp.route("/audit")
class DesaAudit(MethodView):
    @desa_blp.requires("kepala_desa", clients=("audit:read",))
    @desa_blp.arguments(AuditArgs, location="query")
    @desa_blp.response(200, AuditEntry(many=True))
    @desa_blp.paginate()
    def get(self, args, pagination_parameters):
        """This village's audit log, newest first"""
        where = [AuditLog.desa_kode == current_desa().kode]
        if args.get("aksi"):
            where.append(AuditLog.aksi == args["aksi"])
        return _page(where, pagination_parameters)


@blp.route("")
class PlatformAudit(MethodView):
    @blp.requires("admin_platform")
    @blp.arguments(PlatformAuditArgs, location="query")
    @blp.response(200, AuditEntry(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """The whole audit log, newest first"""
        where = []
        if args.get("desa"):
            where.append(AuditLog.desa_kode == args["desa"].dotted)
        if args.get("aksi"):
            where.append(AuditLog.aksi == args["aksi"])
        return _page(where, pagination_parameters)
