from __future__ import annotations

import marshmallow as ma

from service.api import Schema
from service.regions.codes import InvalidKode, Tingkat, parse_kode


class KodeWilayah(ma.fields.String):
    """A region code field: dotted or 10 digits in, dotted out; optionally of one level."""

    def __init__(self, *args, tingkat: tuple[Tingkat, ...] | None = None, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault("example", "15.08.14")
        super().__init__(*args, **kwargs)
        self.tingkat = tingkat

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            kode = parse_kode(raw)
        except InvalidKode as exc:
            raise ma.ValidationError(str(exc)) from exc
        if self.tingkat and kode.tingkat not in self.tingkat:
            levels = "/".join(t.value for t in self.tingkat)
            raise ma.ValidationError(f"{raw!r}: harus kode {levels} / must be a {levels} code")
        return kode


class DesaListArgs(Schema):
    kecamatan = KodeWilayah(tingkat=(Tingkat.KECAMATAN,), metadata={"example": "15.08.14"})
    kabupaten = KodeWilayah(tingkat=(Tingkat.KABUPATEN,), metadata={"example": "15.08"})
    q = ma.fields.String(validate=ma.validate.Length(min=2, max=100), metadata={"description": "Name contains"})


class WilayahRef(Schema):
    kode = ma.fields.String(metadata={"example": "15.08.14"})
    nama = ma.fields.String(metadata={"example": "Bathin III Ulu"})


class DesaSummary(Schema):
    kode = ma.fields.String(metadata={"example": "15.08.14.2001"})
    nama = ma.fields.String(metadata={"example": "Muara Buat"})
    jenis = ma.fields.String(metadata={"description": "desa or kelurahan"})
    kecamatan = ma.fields.Nested(WilayahRef)
    kabupaten = ma.fields.Nested(WilayahRef)
    provinsi = ma.fields.Nested(WilayahRef)


class Sebutan(Schema):
    desa = ma.fields.String(metadata={"example": "Dusun"})
    kepala_desa = ma.fields.String(metadata={"example": "Rio"})
    dusun = ma.fields.String(metadata={"example": "Kampung"})
    camat = ma.fields.String(metadata={"example": "Camat"})


class RingkasanPenduduk(Schema):
    penduduk_hidup = ma.fields.Integer()
    keluarga_aktif = ma.fields.Integer()
    laki_laki = ma.fields.Integer()
    perempuan = ma.fields.Integer()
    dihitung_pada = ma.fields.DateTime()


class DesaProfile(DesaSummary):
    penduduk = ma.fields.Nested(RingkasanPenduduk, allow_none=True,
                                metadata={"description": "Register summary, recounted by a worker after changes"})
    sebutan = ma.fields.Nested(Sebutan, metadata={"description": "The village's own names for its levels"})
    jumlah_wilayah = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Integer(),
        metadata={"description": "Local wilayah units by level (dusun/rw/rt)"},
    )
