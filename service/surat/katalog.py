"""The default catalogue of letter types (shared defaults; kabupaten and desa override parts of it).

Codes are OpenSID's S-xx where one exists (research/domain.md §3.1), plus Kawasan's own for the letters
villages also issue (DOM, AW, BM, PH). Classification codes come in both schemes: Permendagri 78/2012
(``kode_78``) and 83/2022 (``kode_83``); which one a desa uses, and the code itself, are desa settings.
The approval chain (``rantai``) follows research/domain.md §3.3: pindah between kecamatan and ahli waris
need the camat; pindah to another kabupaten/provinsi goes on to the kabupaten (Dukcapil).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DESA, KECAMATAN, KABUPATEN = "desa", "kecamatan", "kabupaten"
RANTAI = (DESA, KECAMATAN, KABUPATEN)

_BODY = """<p>Yang bertanda tangan di bawah ini {{ penandatangan.jabatan }} {{ desa.sebutan_desa }} {{ desa.nama }},
Kecamatan {{ desa.kecamatan }}, {{ desa.kabupaten }}, menerangkan dengan sebenarnya bahwa:</p>
<table class="biodata">
<tr><td>Nama</td><td>:</td><td>{{ penduduk.nama }}</td></tr>
<tr><td>NIK</td><td>:</td><td>{{ penduduk.nik }}</td></tr>
<tr><td>Tempat/Tanggal Lahir</td><td>:</td><td>{{ penduduk.tempat_lahir }}, {{ penduduk.tanggal_lahir }}</td></tr>
<tr><td>Jenis Kelamin</td><td>:</td><td>{{ penduduk.jenis_kelamin }}</td></tr>
<tr><td>Agama</td><td>:</td><td>{{ penduduk.agama }}</td></tr>
<tr><td>Pekerjaan</td><td>:</td><td>{{ penduduk.pekerjaan }}</td></tr>
<tr><td>Alamat</td><td>:</td><td>{{ penduduk.alamat }}</td></tr>
</table>
"""


def _template(paragraph: str) -> str:
    return (
        _BODY
        + f"<p>{paragraph}</p>\n<p>Demikian surat keterangan ini dibuat untuk dipergunakan sebagaimana mestinya.</p>"
    )


@dataclass(frozen=True)
class Isian:
    """A field the letter asks for beyond the resident's data."""

    kode: str
    nama: str
    tipe: str = "text"  # text, textarea, date, number
    wajib: bool = True


@dataclass(frozen=True)
class JenisSurat:
    kode: str
    nama: str
    kode_78: str
    kode_83: str
    paragraf: str
    isian: tuple[Isian, ...] = ()
    lampiran: tuple[str, ...] = ()  # required attachments
    mandiri: bool = True  # residents may request it online
    rantai: str = DESA
    masa_berlaku_hari: int = 30
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def template(self) -> str:
        return _template(self.paragraf)


KEPERLUAN = Isian("keperluan", "Keperluan", "textarea")

KATALOG: tuple[JenisSurat, ...] = (
    JenisSurat(
        "S-01",
        "Surat Keterangan Pengantar",
        "145",
        "100.2.2.5",
        "Orang tersebut di atas benar warga kami dan surat ini diberikan sebagai pengantar untuk "
        "{{ isian.keperluan }}.",
        (KEPERLUAN,),
        ("Surat Pengantar RT/RW",),
    ),
    JenisSurat(
        "S-02",
        "Surat Keterangan Penduduk",
        "470",
        "400.12.2.1",
        "Orang tersebut di atas benar penduduk {{ desa.sebutan_desa }} {{ desa.nama }} yang tercatat dalam "
        "Buku Induk Penduduk, untuk keperluan {{ isian.keperluan }}.",
        (KEPERLUAN,),
    ),
    JenisSurat(
        "S-03",
        "Biodata Penduduk",
        "470",
        "400.12.2.1",
        "Biodata tersebut di atas sesuai dengan data kependudukan {{ desa.sebutan_desa }}.",
        (),
    ),
    JenisSurat(
        "S-04",
        "Surat Keterangan Pindah Antar Kecamatan",
        "475",
        "400.12.2.2",
        "Orang tersebut di atas pindah ke {{ isian.alamat_tujuan }} dengan alasan {{ isian.alasan }}.",
        (Isian("alamat_tujuan", "Alamat tujuan", "textarea"), Isian("alasan", "Alasan pindah")),
        ("Fotokopi KK", "Fotokopi KTP"),
        rantai=KECAMATAN,
    ),
    JenisSurat(
        "S-06",
        "Surat Pengantar Pindah Antar Kabupaten/Provinsi",
        "475",
        "400.12.2.2",
        "Orang tersebut di atas akan pindah ke {{ isian.alamat_tujuan }} "
        "(kabupaten/provinsi lain) dengan alasan {{ isian.alasan }}.",
        (Isian("alamat_tujuan", "Alamat tujuan", "textarea"), Isian("alasan", "Alasan pindah")),
        ("Fotokopi KK", "Fotokopi KTP"),
        rantai=KABUPATEN,
    ),
    JenisSurat(
        "S-07",
        "Surat Pengantar SKCK",
        "331",
        "300.1.4",
        "Orang tersebut di atas berkelakuan baik dan tidak sedang tersangkut perkara pidana, untuk keperluan "
        "{{ isian.keperluan }} di kepolisian.",
        (KEPERLUAN,),
        ("Surat Pengantar RT/RW", "Fotokopi KTP"),
    ),
    JenisSurat(
        "S-08",
        "Surat Keterangan KTP dalam Proses",
        "474.4",
        "400.12.2.1",
        "Orang tersebut di atas sedang dalam proses pembuatan KTP-el.",
        (),
    ),
    JenisSurat(
        "S-09",
        "Surat Keterangan Beda Identitas",
        "470",
        "400.12.2.1",
        "Nama/identitas {{ isian.identitas_lain }} pada {{ isian.dokumen }} dan data di atas adalah orang yang sama.",
        (Isian("identitas_lain", "Identitas pada dokumen lain"), Isian("dokumen", "Dokumen")),
    ),
    JenisSurat(
        "S-10",
        "Surat Keterangan Bepergian",
        "470",
        "100.2.2.5",
        "Orang tersebut di atas akan bepergian ke {{ isian.tujuan }} mulai {{ isian.tanggal_berangkat }}.",
        (Isian("tujuan", "Tujuan"), Isian("tanggal_berangkat", "Tanggal berangkat", "date")),
    ),
    JenisSurat(
        "S-11",
        "Surat Keterangan Kurang Mampu",
        "400",
        "100.2.2.5",
        "Orang tersebut di atas tergolong keluarga kurang mampu, untuk keperluan {{ isian.keperluan }}.",
        (KEPERLUAN,),
        ("Surat Pengantar RT/RW",),
    ),
    JenisSurat(
        "S-12",
        "Surat Pengantar Izin Keramaian",
        "331",
        "300.1.4",
        "Orang tersebut di atas akan mengadakan {{ isian.acara }} pada {{ isian.tanggal_acara }}.",
        (Isian("acara", "Acara"), Isian("tanggal_acara", "Tanggal acara", "date")),
    ),
    JenisSurat(
        "S-13",
        "Surat Pengantar Laporan Kehilangan",
        "331",
        "300.1.4",
        "Orang tersebut di atas telah kehilangan {{ isian.barang }}.",
        (Isian("barang", "Barang yang hilang"),),
    ),
    JenisSurat(
        "S-14",
        "Surat Keterangan Usaha",
        "503",
        "500.2.2.4",
        "Orang tersebut di atas benar mempunyai usaha {{ isian.usaha }} di {{ isian.lokasi_usaha }}.",
        (Isian("usaha", "Jenis usaha"), Isian("lokasi_usaha", "Lokasi usaha")),
    ),
    JenisSurat(
        "S-16",
        "Surat Keterangan Domisili Usaha",
        "503",
        "500.2.2.4",
        "Usaha {{ isian.usaha }} milik orang tersebut di atas berdomisili di {{ isian.lokasi_usaha }}.",
        (Isian("usaha", "Nama usaha"), Isian("lokasi_usaha", "Alamat usaha")),
    ),
    JenisSurat(
        "S-17",
        "Surat Keterangan Kelahiran",
        "474.1",
        "400.12.3.1",
        "Telah lahir seorang anak bernama {{ isian.nama_anak }} pada {{ isian.tanggal_lahir_anak }}.",
        (Isian("nama_anak", "Nama anak"), Isian("tanggal_lahir_anak", "Tanggal lahir anak", "date")),
    ),
    JenisSurat(
        "S-21",
        "Surat Keterangan Kematian",
        "474.3",
        "400.12.3.1",
        "Orang tersebut di atas telah meninggal dunia pada {{ isian.tanggal_meninggal }} karena {{ isian.sebab }}.",
        (Isian("tanggal_meninggal", "Tanggal meninggal", "date"), Isian("sebab", "Sebab")),
        mandiri=False,
    ),
    JenisSurat(
        "DOM",
        "Surat Keterangan Domisili",
        "470",
        "400.12.2.1",
        "Orang tersebut di atas benar berdomisili di {{ desa.sebutan_desa }} {{ desa.nama }}, untuk keperluan "
        "{{ isian.keperluan }}.",
        (KEPERLUAN,),
    ),
    JenisSurat(
        "AW",
        "Surat Keterangan Ahli Waris",
        "474.3",
        "400.12.3.1",
        "Orang tersebut di atas adalah ahli waris dari almarhum/almarhumah {{ isian.pewaris }} bersama: "
        "{{ isian.ahli_waris }}.",
        (Isian("pewaris", "Nama pewaris"), Isian("ahli_waris", "Daftar ahli waris", "textarea")),
        ("Surat Keterangan Kematian", "Fotokopi KK"),
        rantai=KECAMATAN,
    ),
    JenisSurat(
        "BM",
        "Surat Keterangan Belum Menikah",
        "474.2",
        "400.12.3.2",
        "Orang tersebut di atas sampai saat ini belum pernah menikah, untuk keperluan {{ isian.keperluan }}.",
        (KEPERLUAN,),
        ("Surat Pengantar RT/RW",),
    ),
    JenisSurat(
        "PH",
        "Surat Keterangan Penghasilan",
        "900",
        "800.1.11.10",
        "Orang tersebut di atas berpenghasilan rata-rata Rp {{ isian.penghasilan }} per bulan.",
        (Isian("penghasilan", "Penghasilan per bulan (Rp)", "number"),),
    ),
)

BY_KODE = {j.kode: j for j in KATALOG}
