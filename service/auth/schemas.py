from __future__ import annotations

import marshmallow as ma

from service.api import Schema
from service.auth.services import NIK_PATTERN, PIN_PATTERN
from service.desa.schemas import KodeWilayah
from service.regions.codes import Tingkat

_nik = ma.validate.Regexp(NIK_PATTERN, error="NIK harus 16 digit / NIK must be 16 digits")
_pin = ma.validate.Regexp(PIN_PATTERN, error="PIN harus 6 digit / PIN must be 6 digits")


class LoginArgs(Schema):
    """Staff: ``username`` (or email) + ``password``. Warga: ``desa`` + ``nik`` + ``pin``."""

    username = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    password = ma.fields.String(validate=ma.validate.Length(min=1, max=200), load_only=True)
    desa = KodeWilayah(tingkat=(Tingkat.DESA,), metadata={"example": "15.08.14.2001"})
    nik = ma.fields.String(validate=_nik, load_only=True)
    pin = ma.fields.String(validate=_pin, load_only=True)

    @ma.validates_schema
    def one_kind(self, data, **kwargs):
        staff = {"username", "password"} & data.keys()
        warga = {"desa", "nik", "pin"} & data.keys()
        if staff and warga:
            raise ma.ValidationError("either username/password or desa/nik/pin, not both", "username")
        if warga:
            for field in ("desa", "nik", "pin"):
                if field not in data:
                    raise ma.ValidationError("wajib diisi / required", field)
        else:
            for field in ("username", "password"):
                if field not in data:
                    raise ma.ValidationError("wajib diisi / required", field)


class TokenPair(Schema):
    access_token = ma.fields.String()
    token_type = ma.fields.String(metadata={"example": "Bearer"})
    expires_in = ma.fields.Integer(metadata={"example": 900})
    refresh_token = ma.fields.String()
    pin_change_required = ma.fields.Boolean()


class RefreshArgs(Schema):
    refresh_token = ma.fields.String(required=True, validate=ma.validate.Length(min=20, max=200))


class LogoutArgs(Schema):
    refresh_token = ma.fields.String(validate=ma.validate.Length(min=20, max=200))


class ChangePinArgs(Schema):
    pin_lama = ma.fields.String(required=True, validate=_pin, load_only=True)
    pin_baru = ma.fields.String(required=True, validate=_pin, load_only=True)


class SessionInfo(Schema):
    csrf_token = ma.fields.String()
    principal = ma.fields.Dict()


class Me(Schema):
    jenis = ma.fields.String(metadata={"example": "staff"})
    subject = ma.fields.String()
    nama = ma.fields.String()
    peran = ma.fields.List(ma.fields.String(), metadata={"example": ["operator_desa@15.08.14.2001"]})
    desa = ma.fields.String(allow_none=True)
    pin_change_required = ma.fields.Boolean()


class NikArgs(Schema):
    nik = ma.fields.String(required=True, validate=_nik, load_only=True)


class IssuedPin(Schema):
    pin = ma.fields.String(metadata={"description": "Shown once; the resident must change it at first sign-in"})


class LockedResident(Schema):
    penduduk_id = ma.fields.Integer()
    nama = ma.fields.String()
    gagal = ma.fields.Integer()
    terkunci_pada = ma.fields.DateTime()


class UnlockArgs(Schema):
    penduduk_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))


class AnggotaKeluarga(Schema):
    id = ma.fields.String(metadata={"description": "public id"})
    nama = ma.fields.String()
    nik = ma.fields.String()
    hubungan_keluarga = ma.fields.String(allow_none=True)


class WargaSaya(Schema):
    saya = ma.fields.Nested(AnggotaKeluarga)
    keluarga = ma.fields.List(ma.fields.Nested(AnggotaKeluarga))
