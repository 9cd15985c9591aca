from __future__ import annotations

import marshmallow as ma

from service.api import Schema
from service.penduduk.referensi import LISTS

_code = {name: ma.fields.Integer(validate=ma.validate.OneOf(list(codes))) for name, codes in LISTS.items()}


class PendudukListArgs(Schema):
    q = ma.fields.String(validate=ma.validate.Length(min=2, max=100), metadata={"description": "Name search"})
    wilayah_id = ma.fields.Integer(metadata={"description": "A dusun, RW or RT: includes everything under it"})
    sex = _code["sex"]
    umur_min = ma.fields.Integer(validate=ma.validate.Range(min=0, max=150))
    umur_max = ma.fields.Integer(validate=ma.validate.Range(min=0, max=150))
    status_dasar = ma.fields.Integer(validate=ma.validate.OneOf(list(LISTS["status_dasar"])), load_default=1)
    agama_id = _code["agama_id"]
    pendidikan_kk_id = _code["pendidikan_kk_id"]
    pekerjaan_id = _code["pekerjaan_id"]
    status_kawin = _code["status_kawin"]
    limit = ma.fields.Integer(validate=ma.validate.Range(min=1, max=200), load_default=50)
    after = ma.fields.String(metadata={"description": "The `next` cursor of the previous page"})

    @ma.validates_schema
    def ages(self, data, **kwargs):
        if "umur_min" in data and "umur_max" in data and data["umur_min"] > data["umur_max"]:
            raise ma.ValidationError("umur_min > umur_max", "umur_min")


class PendudukRingkas(Schema):
    id = ma.fields.String(attribute="public_id")
    nik = ma.fields.String()
    nama = ma.fields.String()
    sex = ma.fields.Integer()
    tanggal_lahir = ma.fields.Date()
    status_dasar = ma.fields.Integer()
    keluarga_id = ma.fields.String(attribute="keluarga_public_id", allow_none=True)
    wilayah_id = ma.fields.Integer(allow_none=True)


class PendudukPage(Schema):
    items = ma.fields.List(ma.fields.Nested(PendudukRingkas))
    next = ma.fields.String(allow_none=True, metadata={"description": "Cursor of the next page, null at the end"})


class PendudukInput(Schema):
    """Resident fields; codes are OpenSID's (see /api/v1/referensi). Validated by service.penduduk.validasi."""

    class Meta:
        unknown = ma.RAISE

    nik = ma.fields.String(metadata={"example": "1508145708880002"})
    nama = ma.fields.String()
    keluarga_id = ma.fields.UUID(metadata={"description": "public id of the family"})
    kk_level = ma.fields.Raw()
    sex = ma.fields.Raw()
    tempat_lahir = ma.fields.String()
    tanggal_lahir = ma.fields.Raw(metadata={"example": "1988-08-17"})
    agama_id = ma.fields.Raw()
    pendidikan_kk_id = ma.fields.Raw()
    pendidikan_sedang_id = ma.fields.Raw()
    pekerjaan_id = ma.fields.Raw()
    status_kawin = ma.fields.Raw()
    golongan_darah_id = ma.fields.Raw()
    warganegara_id = ma.fields.Raw()
    nik_ayah = ma.fields.String(allow_none=True)
    nama_ayah = ma.fields.String(allow_none=True)
    nik_ibu = ma.fields.String(allow_none=True)
    nama_ibu = ma.fields.String(allow_none=True)
    cacat_id = ma.fields.Raw(allow_none=True)
    status_penduduk = ma.fields.Raw()
    ktp_el = ma.fields.Raw(allow_none=True)
    status_rekam = ma.fields.Raw(allow_none=True)
    akta_lahir = ma.fields.String(allow_none=True)
    akta_perkawinan = ma.fields.String(allow_none=True)
    tanggal_perkawinan = ma.fields.Raw(allow_none=True)
    akta_perceraian = ma.fields.String(allow_none=True)
    tanggal_perceraian = ma.fields.Raw(allow_none=True)
    dokumen_pasport = ma.fields.String(allow_none=True)
    dokumen_kitas = ma.fields.String(allow_none=True)
    hamil = ma.fields.Raw(allow_none=True)
    suku = ma.fields.String(allow_none=True)
    telepon = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    alamat_sekarang = ma.fields.String(allow_none=True)
    alamat_sebelumnya = ma.fields.String(allow_none=True)
    wilayah_id = ma.fields.Integer(allow_none=True)
    catatan = ma.fields.String(metadata={"description": "Note for the mutation log"})


class RegisterArgs(PendudukInput):
    peristiwa = ma.fields.String(validate=ma.validate.OneOf(["lahir", "datang"]),
                                 metadata={"description": "lahir (birth) or datang (arrival); omit for registration"})
    tanggal_peristiwa = ma.fields.Date()


class PendudukDetail(Schema):
    id = ma.fields.String(attribute="public_id")
    data = ma.fields.Dict(metadata={"description": "Every field with its code, plus <field>_label for coded ones"})
    keluarga = ma.fields.Dict(allow_none=True)
    versi = ma.fields.Integer()
    peringatan = ma.fields.Dict(metadata={"description": "Warnings (never block): NIK prefix, other desa, ..."})


class NikLookupArgs(Schema):
    nik = ma.fields.String(required=True, validate=ma.validate.Length(min=16, max=24))


class PeristiwaArgs(Schema):
    jenis = ma.fields.String(required=True, validate=ma.validate.OneOf(["mati", "pindah_keluar", "hilang", "pergi"]))
    tanggal = ma.fields.Date(required=True)
    catatan = ma.fields.String()
    sebab = ma.fields.String(metadata={"description": "mati: cause"})
    tempat = ma.fields.String(metadata={"description": "mati: place of death"})
    jenis_pindah = ma.fields.Integer(
        validate=ma.validate.OneOf([1, 2, 3, 4]),
        metadata={"description": "pindah_keluar: 1 desa, 2 kecamatan, 3 kabupaten, 4 provinsi"},
    )
    tujuan = ma.fields.String(metadata={"description": "pindah_keluar: destination address or desa code"})

    @ma.validates_schema
    def pindah(self, data, **kwargs):
        if data["jenis"] == "pindah_keluar" and "jenis_pindah" not in data:
            raise ma.ValidationError("wajib untuk pindah keluar / required for pindah_keluar", "jenis_pindah")


class Mutasi(Schema):
    id = ma.fields.Integer()
    penduduk_id = ma.fields.String(attribute="penduduk_public_id")
    nama = ma.fields.String()
    kode_peristiwa = ma.fields.Integer()
    peristiwa = ma.fields.String()
    tanggal_peristiwa = ma.fields.Date()
    tanggal_lapor = ma.fields.Date()
    no_kk = ma.fields.String(allow_none=True)
    catatan = ma.fields.String(allow_none=True)
    data = ma.fields.Dict()
    oleh = ma.fields.String(allow_none=True)


class MutasiArgs(Schema):
    kode_peristiwa = ma.fields.Integer(validate=ma.validate.Range(min=1, max=9))
    dari = ma.fields.Date()
    sampai = ma.fields.Date()
    limit = ma.fields.Integer(validate=ma.validate.Range(min=1, max=500), load_default=100)
    before_id = ma.fields.Integer(metadata={"description": "keyset: entries older than this id"})


class KeluargaInput(Schema):
    no_kk = ma.fields.String(required=True)
    alamat = ma.fields.String()
    wilayah_id = ma.fields.Integer()
    kelas_sosial = ma.fields.Integer(validate=ma.validate.Range(min=1, max=5))


class KeluargaEdit(Schema):
    no_kk = ma.fields.String()
    sebab = ma.fields.String(metadata={"description": "Why the KK number changed (kept in the history)"})
    alamat = ma.fields.String()
    wilayah_id = ma.fields.Integer()
    kelas_sosial = ma.fields.Integer(validate=ma.validate.Range(min=1, max=5))


class KeluargaListArgs(Schema):
    q = ma.fields.String(validate=ma.validate.Length(min=2, max=100), metadata={"description": "Head's name"})
    wilayah_id = ma.fields.Integer()
    limit = ma.fields.Integer(validate=ma.validate.Range(min=1, max=200), load_default=50)
    after = ma.fields.String()


class PecahArgs(Schema):
    anggota = ma.fields.List(ma.fields.UUID(), required=True, validate=ma.validate.Length(min=1))
    kepala = ma.fields.UUID(required=True)
    no_kk_baru = ma.fields.String(required=True)
    tanggal = ma.fields.Date(required=True)
    alamat = ma.fields.String()


class GabungArgs(Schema):
    anggota = ma.fields.List(ma.fields.UUID(), required=True, validate=ma.validate.Length(min=1))
    kk_level = ma.fields.Integer(required=True, validate=ma.validate.OneOf([c for c in LISTS["kk_level"] if c != 1]))
    tanggal = ma.fields.Date(required=True)


class WilayahInput(Schema):
    tingkat = ma.fields.String(required=True, validate=ma.validate.OneOf(["dusun", "rw", "rt"]))
    nama = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    induk_id = ma.fields.Integer()
    kepala_nama = ma.fields.String()
    kepala_penduduk_id = ma.fields.UUID()


class WilayahEdit(Schema):
    nama = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    kepala_nama = ma.fields.String(allow_none=True)
    kepala_penduduk_id = ma.fields.UUID(allow_none=True)
