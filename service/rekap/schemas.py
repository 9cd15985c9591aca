from __future__ import annotations

import marshmallow as ma

from service.api import Schema
from service.rekap.dasbor import UKURAN


class RekapArgs(Schema):
    desa = ma.fields.List(ma.fields.String(), metadata={
        "description": "Only these desa (dotted codes; repeat the parameter); each must be in the region"})
    tahun = ma.fields.Integer(validate=ma.validate.Range(min=1900, max=2200), metadata={
        "description": "Mutation and letter counts of this year only (population figures are the current register)"})


class DeretArgs(RekapArgs):
    satuan = ma.fields.String(validate=ma.validate.OneOf(["bulan", "tahun"]), load_default="bulan")


class PeringkatArgs(Schema):
    ukuran = ma.fields.String(validate=ma.validate.OneOf(UKURAN), load_default="penduduk")
    urutan = ma.fields.String(validate=ma.validate.OneOf(["atas", "bawah"]), load_default="atas",
                              metadata={"description": "atas: highest first; bawah: lowest first"})
    jumlah = ma.fields.Integer(validate=ma.validate.Range(min=1, max=500), load_default=10)
    tingkat = ma.fields.String(validate=ma.validate.OneOf(["desa", "kecamatan"]), load_default="desa",
                               metadata={"description": "kecamatan: rank the kecamatan of a kabupaten"})
    tahun = ma.fields.Integer(validate=ma.validate.Range(min=1900, max=2200))


class EksporArgs(RekapArgs):
    format = ma.fields.String(validate=ma.validate.OneOf(["csv", "xlsx"]), load_default="csv")


class VerifikasiArgs(Schema):
    desa = ma.fields.String(metadata={"description": "Only this desa of the region"})


class VerifikasiSemuaArgs(Schema):
    kode = ma.fields.String(metadata={"description": "A desa, kecamatan or kabupaten (default: every desa)"})
