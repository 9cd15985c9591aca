from __future__ import annotations

import marshmallow as ma

from service.api import Schema


class AjukanArgs(Schema):
    jenis = ma.fields.String(required=True, metadata={"example": "DOM"})
    penduduk_id = ma.fields.UUID(metadata={"description": "Whom the letter is for (default: the signed-in warga)"})
    isian = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(), load_default=dict)


class AlasanArgs(Schema):
    alasan = ma.fields.String(required=True, validate=ma.validate.Length(min=3, max=1000))


class AjukanUlangArgs(Schema):
    isian = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(), load_default=dict)


class PermohonanListArgs(Schema):
    status = ma.fields.String()
    jenis = ma.fields.String()
    limit = ma.fields.Integer(validate=ma.validate.Range(min=1, max=200), load_default=50)
    before_id = ma.fields.Integer()


class KeputusanArgs(Schema):
    keputusan = ma.fields.String(required=True, validate=ma.validate.OneOf(["setuju", "tolak", "kembalikan"]))
    alasan = ma.fields.String(validate=ma.validate.Length(min=3, max=1000))

    @ma.validates_schema
    def reason(self, data, **kwargs):
        if data["keputusan"] != "setuju" and not data.get("alasan"):
            raise ma.ValidationError("alasan wajib untuk tolak/kembalikan / a reason is required", "alasan")


class InboxArgs(Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(["menunggu", "diputus"]), load_default="menunggu")
    desa = ma.fields.String()
    jenis = ma.fields.String()
    terlambat = ma.fields.Boolean(metadata={"description": "Only items past their SLA"})
    umur_min_jam = ma.fields.Integer(validate=ma.validate.Range(min=0))
    semua = ma.fields.Boolean(load_default=False, metadata={"description": "Kabupaten: every level under it"})
    limit = ma.fields.Integer(validate=ma.validate.Range(min=1, max=500), load_default=100)
