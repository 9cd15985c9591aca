"""Buku administrasi penduduk (Permendagri 47/2016, lampiran B): B.1 Buku Induk Penduduk and B.2 Buku Mutasi
Penduduk Desa, as xlsx (openpyxl, streamed) and PDF (WeasyPrint, A4 landscape).

Columns follow the regulation's forms (research/domain.md §3.5; the same layout as OpenSID's bumindes books).
Readings where the register has no field of its own:

- B.1 *status perkawinan* uses the form's words: KAWIN, BELUM KAWIN, and DUDA/JANDA for cerai hidup/mati.
- B.1 *dapat membaca huruf*: TIDAK when ``pendidikan_sedang`` says the resident cannot read or write, LATIN
  when they finished at least primary school, otherwise left empty (the register does not record scripts).
- B.1 lists living residents (``status_dasar = 1``); those who left are in B.2.
- B.2 lists births and arrivals (*penambahan*) and deaths, moves, the missing and those who left (*pengurangan*)
  with ``tanggal_peristiwa`` in the period; births, the missing and those who left are named in KET.

Both books hold personal data (NIK, birth dates, children): callers gate and audit every export.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import aliased

from service.penduduk import referensi
from service.penduduk.services import DATANG, HILANG, LAHIR, MATI, PERGI, PINDAH_KELUAR
from service.regions.models import WilayahAdministrasi
from tenants.localnames import NATIONAL_DEFAULTS
from tenants.session import DesaSession
from tenants.tables import Pengaturan

TEMPLATES = Path(__file__).resolve().parent / "templates"
FORMATS = ("xlsx", "pdf")
MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}
#: Rows fetched from the database per round trip while a book streams.
FETCH = 2000

BULAN = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
         "November", "Desember")


def tanggal_panjang(value: date) -> str:
    """``17 Agustus 1945`` (Indonesian month names; babel is not a dependency)."""
    return f"{value.day} {BULAN[value.month - 1]} {value.year}"


def tanggal_pendek(value: date | None) -> str:
    return value.strftime("%d-%m-%Y") if value else ""


# --- the book's frame: title block, columns ----------------------------------------------------------------


@dataclass(frozen=True)
class Kop:
    """The title block: the government levels above the desa and the desa's own names (sebutan)."""

    desa_kode: str
    desa_nama: str
    kecamatan_nama: str
    kabupaten_nama: str  # as registered: "Kabupaten Bungo", "Kota Jambi"
    sebutan: dict[str, str]

    @property
    def baris(self) -> list[str]:
        return [
            f"PEMERINTAH {self.kabupaten_nama}".upper(),
            f"KECAMATAN {self.kecamatan_nama}".upper(),
            f"{self.sebutan['desa']} {self.desa_nama}".upper(),
        ]


def kop_desa(shared: Connection, session: DesaSession) -> Kop:
    """Region names come from the shared registry (``shared``, outside the desa role), sebutan from the
    desa's own settings."""
    kec, kab = aliased(WilayahAdministrasi), aliased(WilayahAdministrasi)
    desa_kode = session.desa_kode
    row = shared.execute(
        select(WilayahAdministrasi.nama, kec.nama.label("kec"), kab.nama.label("kab"))
        .join(kec, kec.kode == WilayahAdministrasi.induk_kode)
        .join(kab, kab.kode == kec.induk_kode)
        .where(WilayahAdministrasi.kode == desa_kode)
    ).one()
    pengaturan = dict(session.execute(select(Pengaturan.kunci, Pengaturan.nilai)).all())
    sebutan = {key.removeprefix("sebutan_"): str(pengaturan.get(key) or default)
               for key, default in NATIONAL_DEFAULTS.items()}
    return Kop(desa_kode, row.nama, row.kec, row.kab, sebutan)


@dataclass(frozen=True)
class Kolom:
    judul: str
    grup: str | None = None  # a spanning heading above (TEMPAT & TANGGAL LAHIR, PENAMBAHAN, ...)
    lebar: float = 12  # PDF: millimetres of the 277 mm table (scaled to fit); xlsx: characters
    tanggal: bool = False


KOLOM_INDUK = (
    Kolom("NOMOR URUT", lebar=10.5),
    Kolom("NAMA LENGKAP / PANGGILAN", lebar=29),
    Kolom("JENIS KELAMIN", lebar=11.5),
    Kolom("STATUS PERKAWINAN", lebar=12),
    Kolom("TEMPAT LAHIR", "TEMPAT & TANGGAL LAHIR", lebar=16),
    Kolom("TANGGAL", "TEMPAT & TANGGAL LAHIR", lebar=14, tanggal=True),
    Kolom("AGAMA", lebar=14),
    Kolom("PENDIDIKAN TERAKHIR", lebar=17),
    Kolom("PEKERJAAN", lebar=18),
    Kolom("DAPAT MEMBACA HURUF", lebar=13),
    Kolom("KEWARGANEGARAAN", lebar=14.5),
    Kolom("ALAMAT LENGKAP", lebar=33),
    Kolom("KEDUDUKAN DALAM KELUARGA", lebar=15),
    Kolom("NIK", lebar=23),
    Kolom("NOMOR KK", lebar=23),
    Kolom("KET", lebar=12),
)

KOLOM_MUTASI = (
    Kolom("NOMOR URUT", lebar=10.5),
    Kolom("NAMA LENGKAP / PANGGILAN", lebar=34),
    Kolom("TEMPAT LAHIR", "TEMPAT & TANGGAL LAHIR", lebar=18),
    Kolom("TANGGAL", "TEMPAT & TANGGAL LAHIR", lebar=14, tanggal=True),
    Kolom("JENIS KELAMIN", lebar=11.5),
    Kolom("KEWARGANEGARAAN", lebar=14.5),
    Kolom("DATANG DARI", "PENAMBAHAN", lebar=34),
    Kolom("TANGGAL", "PENAMBAHAN", lebar=14, tanggal=True),
    Kolom("PINDAH KE", "PENGURANGAN", lebar=34),
    Kolom("TANGGAL", "PENGURANGAN", lebar=14, tanggal=True),
    Kolom("MENINGGAL", "PENGURANGAN", lebar=22),
    Kolom("TANGGAL", "PENGURANGAN", lebar=14, tanggal=True),
    Kolom("KET", lebar=34),
)


@dataclass
class Buku:
    kode: str  # "B.1"
    judul: str
    kop: Kop
    periode: str  # the line under the title
    kolom: tuple[Kolom, ...]
    #: Rows without the running number (added when written); a one-shot iterator over a server-side cursor.
    baris: Iterator[list[Any]]
    berkas: str  # file name without extension: code and desa code, never personal data
    dicetak: date = field(default_factory=date.today)

    def kepala(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The two heading rows: spanning cells (label, colspan, rowspan) and the labels under the groups."""
        atas: list[dict[str, Any]] = []
        bawah: list[str] = []
        for kolom in self.kolom:
            if kolom.grup is None:
                atas.append({"judul": kolom.judul, "colspan": 1, "rowspan": 2})
            else:
                if atas and atas[-1]["judul"] == kolom.grup and atas[-1]["rowspan"] == 1:
                    atas[-1]["colspan"] += 1
                else:
                    atas.append({"judul": kolom.grup, "colspan": 1, "rowspan": 1})
                bawah.append(kolom.judul)
        return atas, bawah


# --- B.1 Buku Induk Penduduk ---------------------------------------------------------------------------------

_INDUK = text("""
SELECT p.nama, p.sex, p.status_kawin, p.tempat_lahir, p.tanggal_lahir, p.agama_id, p.pendidikan_kk_id,
       p.pendidikan_sedang_id, p.pekerjaan_id, p.warganegara_id, p.kk_level, p.nik, p.status_penduduk,
       COALESCE(NULLIF(btrim(p.alamat_sekarang), ''), k.alamat) AS alamat,
       COALESCE(p.wilayah_id, k.wilayah_id) AS wilayah_id, k.no_kk
FROM penduduk p LEFT JOIN keluarga k ON k.id = p.keluarga_id
WHERE p.status_dasar = 1
ORDER BY k.no_kk NULLS LAST, p.kk_level NULLS LAST, p.tanggal_lahir, p.id
""")


def buku_induk(session: DesaSession, kop: Kop, *, tanggal: date | None = None) -> Buku:
    tanggal = tanggal or date.today()
    alamat = _alamat_builder(session, kop)

    def rows() -> Iterator[list[Any]]:
        for p in session.execute(_INDUK, execution_options={"yield_per": FETCH}):
            yield [
                p.nama.upper(),
                "L" if p.sex == 1 else "P",
                _status_kawin(p.status_kawin, p.sex),
                (p.tempat_lahir or "").upper(),
                p.tanggal_lahir,
                referensi.label("agama_id", p.agama_id) or "",
                referensi.label("pendidikan_kk_id", p.pendidikan_kk_id) or "",
                referensi.label("pekerjaan_id", p.pekerjaan_id) or "",
                _membaca(p.pendidikan_kk_id, p.pendidikan_sedang_id),
                referensi.label("warganegara_id", p.warganegara_id) or "",
                alamat(p.alamat, p.wilayah_id),
                referensi.label("kk_level", p.kk_level) or "",
                p.nik,
                p.no_kk or "",
                "PENDUDUK TIDAK TETAP" if p.status_penduduk == 2 else "",
            ]

    return Buku("B.1", "BUKU INDUK PENDUDUK", kop, f"KEADAAN TANGGAL {tanggal_panjang(tanggal).upper()}",
                KOLOM_INDUK, rows(), f"buku-induk-penduduk_{_kode_berkas(kop)}_{tanggal.isoformat()}")


def _status_kawin(code: int | None, sex: int) -> str:
    if code in (3, 4):
        return "DUDA" if sex == 1 else "JANDA"
    return referensi.label("status_kawin", code) or ""


def _membaca(pendidikan_kk: int | None, pendidikan_sedang: int | None) -> str:
    if pendidikan_sedang == 17:
        return "TIDAK"
    if pendidikan_kk is not None and pendidikan_kk >= 3:
        return "LATIN"
    return ""


def _alamat_builder(session: DesaSession, kop: Kop) -> Callable[[str | None, int | None], str]:
    """``JL. X RT 001 / RW 002 KAMPUNG Y``: the wilayah chain (a few hundred rows) is read once."""
    wilayah = {r.id: r for r in session.execute(text("SELECT id, tingkat, nama, induk_id FROM wilayah"))}
    cache: dict[int | None, str] = {}

    def chain(wilayah_id: int | None) -> str:
        if wilayah_id not in cache:
            parts: dict[str, str] = {}
            current, seen = wilayah_id, set()
            while current is not None and current in wilayah and current not in seen:
                seen.add(current)
                row = wilayah[current]
                parts.setdefault(row.tingkat, row.nama)
                current = row.induk_id
            rt_rw = " / ".join(f"{label} {parts[key]}" for key, label in (("rt", "RT"), ("rw", "RW")) if key in parts)
            dusun = f"{kop.sebutan['dusun']} {parts['dusun']}" if "dusun" in parts else ""
            cache[wilayah_id] = " ".join(x for x in (rt_rw, dusun) if x)
        return cache[wilayah_id]

    def build(alamat: str | None, wilayah_id: int | None) -> str:
        return " ".join(x for x in ((alamat or "").strip(), chain(wilayah_id)) if x).upper()

    return build


# --- B.2 Buku Mutasi Penduduk Desa --------------------------------------------------------------------------

MUTASI_DICATAT = (LAHIR, MATI, PINDAH_KELUAR, HILANG, DATANG, PERGI)

_MUTASI = text(f"""
SELECT m.kode_peristiwa, m.tanggal_peristiwa, m.catatan, m.data,
       p.nama, p.tempat_lahir, p.tanggal_lahir, p.sex, p.warganegara_id, p.alamat_sebelumnya
FROM mutasi_penduduk m JOIN penduduk p ON p.id = m.penduduk_id
WHERE m.kode_peristiwa IN {MUTASI_DICATAT} AND m.tanggal_peristiwa BETWEEN :dari AND :sampai
ORDER BY m.tanggal_peristiwa, m.id
""")


def buku_mutasi(session: DesaSession, kop: Kop, *, dari: date, sampai: date) -> Buku:
    if dari > sampai:
        raise ValueError("dari harus sebelum atau sama dengan sampai / dari must not be after sampai")

    def rows() -> Iterator[list[Any]]:
        for m in session.execute(_MUTASI, {"dari": dari, "sampai": sampai}, execution_options={"yield_per": FETCH}):
            data = m.data or {}
            kode, tanggal = m.kode_peristiwa, m.tanggal_peristiwa
            datang_dari = pindah_ke = meninggal = ""
            tgl_datang = tgl_pindah = tgl_meninggal = None
            ket = [] if kode in (DATANG, PINDAH_KELUAR, MATI) else [referensi.PERISTIWA[kode]]
            if kode == DATANG:
                datang_dari, tgl_datang = _text(data.get("alamat_sebelumnya") or m.alamat_sebelumnya) or "-", tanggal
            elif kode == LAHIR:
                tgl_datang = tanggal
            elif kode == MATI:
                meninggal, tgl_meninggal = _text(data.get("tempat")) or "MENINGGAL", tanggal
                if data.get("sebab"):
                    ket.append(f"SEBAB: {_text(data['sebab'])}")
            else:  # pindah keluar, hilang, pergi
                tujuan = _text(data.get("tujuan")) or referensi.JENIS_PINDAH.get(data.get("jenis_pindah"), "")
                pindah_ke, tgl_pindah = tujuan or "-", tanggal
            if m.catatan:
                ket.append(_text(m.catatan))
            yield [
                m.nama.upper(), (m.tempat_lahir or "").upper(), m.tanggal_lahir, "L" if m.sex == 1 else "P",
                referensi.label("warganegara_id", m.warganegara_id) or "",
                datang_dari, tgl_datang, pindah_ke, tgl_pindah, meninggal, tgl_meninggal, "; ".join(ket),
            ]

    if dari.year == sampai.year and dari.month == sampai.month and dari.day == 1 and _last_day(sampai):
        periode = f"BULAN {BULAN[dari.month - 1].upper()} TAHUN {dari.year}"
    else:
        periode = f"PERIODE {tanggal_panjang(dari).upper()} S.D. {tanggal_panjang(sampai).upper()}"
    return Buku("B.2", "BUKU MUTASI PENDUDUK DESA", kop, periode, KOLOM_MUTASI, rows(),
                f"buku-mutasi-penduduk_{_kode_berkas(kop)}_{dari.isoformat()}_{sampai.isoformat()}")


def _text(value: Any) -> str:
    return " ".join(str(value).split()).upper() if value not in (None, "") else ""


def _last_day(value: date) -> bool:
    return (value + timedelta(days=1)).month != value.month


def _kode_berkas(kop: Kop) -> str:
    return kop.desa_kode.replace(".", "")


# --- writers ----------------------------------------------------------------------------------------------


def ke_xlsx(buku: Buku) -> tuple[bytes, int]:
    """The book as an xlsx workbook (write-only, so memory stays flat); returns (bytes, data rows)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(buku.kode)
    n_cols = len(buku.kolom)
    for i, kolom in enumerate(buku.kolom, start=1):
        ws.column_dimensions[get_column_letter(i)].width = kolom.lebar
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True

    bold, thin = Font(bold=True), Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)

    def cell(value, *, font=None, border=None, align=None, fmt=None):
        c = WriteOnlyCell(ws, value=value)
        if font:
            c.font = font
        if border:
            c.border = border
        if align:
            c.alignment = align
        if fmt:
            c.number_format = fmt
        return c

    title_rows = [*buku.kop.baris, "", f"{buku.kode} {buku.judul}", buku.periode, ""]
    for row_index, line in enumerate(title_rows, start=1):
        ws.append([cell(line, font=bold, align=Alignment(horizontal="center"))] if line else [])
        if line:
            ws.merged_cells.add(f"A{row_index}:{get_column_letter(n_cols)}{row_index}")
    first = len(title_rows) + 1  # the heading's first row
    atas, bawah = buku.kepala()
    row1, row2, col, under = [], [], 1, iter(bawah)
    for head in atas:
        row1.append(cell(head["judul"], font=bold, border=box, align=center))
        row1 += [cell(None, border=box) for _ in range(head["colspan"] - 1)]
        if head["rowspan"] == 2:
            row2.append(cell(None, border=box))
            ws.merged_cells.add(f"{get_column_letter(col)}{first}:{get_column_letter(col)}{first + 1}")
        else:
            row2 += [cell(next(under), font=bold, border=box, align=center) for _ in range(head["colspan"])]
            if head["colspan"] > 1:
                ws.merged_cells.add(f"{get_column_letter(col)}{first}:{get_column_letter(col + head['colspan'] - 1)}"
                                    f"{first}")
        col += head["colspan"]
    ws.append(row1)
    ws.append(row2)
    ws.append([cell(i, font=bold, border=box, align=center) for i in range(1, n_cols + 1)])
    ws.print_title_rows = f"{first}:{first + 2}"

    dates = [k.tanggal for k in buku.kolom[1:]]
    count = 0
    for values in buku.baris:
        count += 1
        out: list[Any] = [count]
        for value, is_date in zip(values, dates, strict=True):
            out.append(cell(value, fmt="DD-MM-YYYY") if is_date and value is not None else value)
        ws.append(out)
    ws.append([])
    ws.append([f"Dicetak {tanggal_panjang(buku.dicetak)}; {count} baris."])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue(), count


def ke_pdf(buku: Buku) -> tuple[bytes, int]:
    """The book as a PDF (A4 landscape, headings repeated on every page); returns (bytes, data rows)."""
    from weasyprint import HTML

    rows = [[tanggal_pendek(v) if isinstance(v, date) else v for v in values] for values in buku.baris]
    atas, bawah = buku.kepala()
    total = sum(k.lebar for k in buku.kolom)
    html = _jinja().get_template("buku.html").render(
        buku=buku, atas=atas, bawah=bawah, rows=rows, dicetak=tanggal_panjang(buku.dicetak),
        lebar=[round(100 * k.lebar / total, 2) for k in buku.kolom],
    )
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(), len(rows)


def render(buku: Buku, fmt: str) -> tuple[bytes, int]:
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: one of {', '.join(FORMATS)}")
    return ke_xlsx(buku) if fmt == "xlsx" else ke_pdf(buku)


_ENV = None
_SOFT_HYPHENS = {"KEWARGANEGARAAN": "KEWARGA\u00adNEGARAAN", "STATUS PERKAWINAN": "STATUS PER\u00adKAWINAN"}


def _jinja():
    global _ENV
    if _ENV is None:
        from jinja2 import Environment, FileSystemLoader, select_autoescape

        _ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                           trim_blocks=True, lstrip_blocks=True)
        # Long heading words get a soft hyphen where the form's narrow columns need one.
        _ENV.filters["pecah"] = lambda judul: _SOFT_HYPHENS.get(judul, judul)
    return _ENV
