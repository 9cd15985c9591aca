"""Request and response shapes of the IDM API."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload

from service.api import Schema
from service.ekspor import FORMATS
from service.idm.services import TAHUN_MAX, TAHUN_MIN
from service.idm.skema import SKEMA, STATUS
from service.penduduk.impor import MAX_BYTES

_TAHUN = ma.validate.Range(TAHUN_MIN, TAHUN_MAX)
SKEMA_ARG = ma.fields.String(load_default=None, validate=ma.validate.OneOf(tuple(SKEMA)),
                          metadata={"description": "IDM-2016 (default) or ID-2024"})
_DIMENSI = sorted({d for s in SKEMA.values() for d in s.dimensi})


class IdmDistribusiArgs(Schema):
    skema = SKEMA_ARG
    dari = ma.fields.Integer(validate=_TAHUN, metadata={"description": "first year"})
    sampai = ma.fields.Integer(validate=_TAHUN, metadata={"description": "last year"})
    per_kecamatan = ma.fields.Boolean(load_default=False, metadata={"description": "also per kecamatan"})


class IdmTabelArgs(Schema):
    skema = SKEMA_ARG
    tahun = ma.fields.Integer(validate=_TAHUN, metadata={"description": "the year shown as tahun_ini (default: "
                                                                        "the latest with data)"})
    status = ma.fields.String(validate=ma.validate.OneOf(STATUS), metadata={"description": "that year's status"})
    kecamatan = ma.fields.String(metadata={"description": "only this kecamatan (code)"})


class IdmEksporArgs(IdmTabelArgs):
    format = ma.fields.String(validate=ma.validate.OneOf(FORMATS), load_default="csv",
                              metadata={"description": "csv (UTF-8) or xlsx"})
    tahun = ma.fields.Integer(validate=_TAHUN, metadata={"description": "only this year's columns (default: every "
                                                                        "year with data); also the year `status` "
                                                                        "filters on"})


def _dimensi_field(d: str) -> ma.fields.Field:
    schemes = ", ".join(s.kode for s in SKEMA.values() if d in s.dimensi)
    return ma.fields.Raw(metadata={"description": f"score 0..1 ({schemes}); a number or its text", "example": 0.6571})


#: One desa's scores for one year: the dimensions of the chosen scheme (IDM-2016: iks, ike, ikl).
IdmSkorInput = Schema.from_dict({"skema": SKEMA_ARG} | {d: _dimensi_field(d) for d in _DIMENSI}, name="IdmSkorInput")


class IdmHapusArgs(Schema):
    skema = SKEMA_ARG


class IdmImporArgs(Schema):
    berkas = Upload(required=True, metadata={
        "description": "xlsx or CSV in the Kemendes IDM layout (KODE DESA, IKS <tahun>, IKE <tahun>, IKL <tahun>, "
                       f"optional NILAI IDM/STATUS IDM), at most {MAX_BYTES // (1024 * 1024)} MB"})


class IdmImporQuery(Schema):
    skema = SKEMA_ARG
    tahun = ma.fields.Integer(validate=_TAHUN, metadata={
        "description": "the year of columns without one (IKS, IKE, IKL); with year columns, only that year is read"})
    periksa = ma.fields.Boolean(load_default=False, metadata={"description": "check only, write nothing"})


class IdmTahun(Schema):
    tahun = ma.fields.Integer()
    skema = ma.fields.String()
    iks = ma.fields.String(metadata={"example": "0.6571"})
    ike = ma.fields.String()
    ikl = ma.fields.String()
    nilai = ma.fields.String(metadata={"example": "0.6190"})
    status = ma.fields.String(metadata={"example": "berkembang"})
    status_label = ma.fields.String(metadata={"example": "Berkembang"})
    sumber = ma.fields.String(metadata={"description": "impor, manual or demo"})

    class Meta:
        unknown = ma.INCLUDE
