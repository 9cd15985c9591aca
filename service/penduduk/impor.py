"""Bulk import and export of a desa's population register.

Accepted files (detected by content, never by extension):

* **xlsx/xlsm** (zip magic ``PK\\x03\\x04``), read with python-calamine: OpenSID's ``FormatImporExcel``
  layout (research/opensid.md "Bulk import"), OpenSID's penduduk export for OpenDK (same column names plus
  ``id, foto, status_dasar, created_at, updated_at, desa_id``) and OpenDK's heading-row slugs
  (``nomor_nik``, ``nomor_kk``, ``jenis_kelamin``, ... research/opendk.md §2e). The sheet named
  "Data Penduduk" if there is one (OpenSID's template), otherwise the first sheet.
* **CSV** (anything else that decodes as text: UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252),
  ``;``, ``,`` or tab separated, with the same column names (``templates_impor/penduduk.csv``).

The header row is found among the first rows (column names in any order, any case); unknown columns
are ignored and listed in the report. Row numbers in the report are the sheet's own (header = row 1 in
the template). Messy cells are normalised first: dates as date cells, Excel serial numbers or text,
``-`` for empty, codes as numbers, floats (``1.0``) or labels (``ISLAM``), NIKs as floats, spaces.

Every row is validated by the one validation (:mod:`service.penduduk.validasi`): ``check_field`` once per
distinct value for the columns whose check depends on the value only, ``check_nik_of`` once per row) plus
the KK number, the wilayah names, NIKs repeated inside the file and a second living head in one KK. NIKs
registered as alive in another desa (the shared, hashed ``kawasan.nik_index``) are warnings. Any error
rejects the whole file: nothing of it is kept. Otherwise everything is written in the caller's desa session,
in one transaction, with bulk statements (COPY, ``INSERT … SELECT FROM unnest``, ``UPDATE … FROM``), never
an ORM object per row: missing wilayah (dusun → RW → RT), missing keluarga (by Nomor KK, address and
wilayah from the head's row, and their head: ids of new residents and families are drawn first),
residents upserted on NIK (only the columns present in the file are written), one KOREKSI mutation per
changed resident with before/after, the heads of registered families the file changed, the NIK index and
one ``penduduk.berubah`` event.

To overlap Python and PostgreSQL, a writer thread starts on the family columns and takes the resident rows
range by range as they pass their checks (:data:`PIPELINE`). When a later range has an error the writer
stops and the caller rolls back: the outcome is the same as checking everything first (nothing written),
the database just did some work for nothing.

The report never holds a NIK or a name: row numbers, column names and messages only.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import logging
import queue
import re
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from itertools import chain, repeat
from operator import itemgetter
from typing import IO, Any

from psycopg.rows import namedtuple_row
from sqlalchemy import text

from service.penduduk.nik import normalize
from service.penduduk.referensi import LISTS
from service.penduduk.services import mark_changed, nik_hmacs
from service.penduduk.validasi import DATE_FIELDS, check_field, check_nik_of, check_penduduk, is_empty
from tenants.session import DesaSession

log = logging.getLogger(__name__)

#: Largest accepted upload (bytes).
MAX_BYTES = 20 * 1024 * 1024
#: Largest accepted sheet (data rows), and the most a zip may expand to (a zip bomb stops here).
MAX_ROWS = 250_000
MAX_UNZIPPED_BYTES = 600 * 1024 * 1024
#: Entries kept per list in the report (the totals are always exact).
REPORT_LIMIT = 1000
#: The header row is looked for among this many first rows.
HEADER_SEARCH_ROWS = 20

Progress = Callable[[int], None]

#: OpenSID ``FormatImporExcel`` columns, in the template's order (research/opensid.md "Bulk import").
OPENSID_COLUMNS = (
    "alamat", "dusun", "rw", "rt", "nama", "no_kk", "nik", "sex", "tempatlahir", "tanggallahir", "agama_id",
    "pendidikan_kk_id", "pendidikan_sedang_id", "pekerjaan_id", "status_kawin", "kk_level", "warganegara_id",
    "ayah_nik", "nama_ayah", "ibu_nik", "nama_ibu", "golongan_darah_id", "akta_lahir", "dokumen_pasport",
    "tanggal_akhir_paspor", "dokumen_kitas", "akta_perkawinan", "tanggalperkawinan", "akta_perceraian",
    "tanggalperceraian", "cacat_id", "cara_kb_id", "hamil", "ktp_el", "status_rekam", "alamat_sekarang",
    "status_dasar", "suku", "tag_id_card", "id_asuransi", "no_asuransi", "lat", "lng",
)
#: Register fields OpenSID's template lacks; the export appends them so that it re-imports losslessly.
EXTRA_COLUMNS = ("status_penduduk", "telepon", "email", "alamat_sebelumnya")
EXPORT_COLUMNS = OPENSID_COLUMNS + EXTRA_COLUMNS

#: Resident fields the import writes (columns of ``penduduk``).
PERSON_FIELDS = (
    "nama", "kk_level", "sex", "tempat_lahir", "tanggal_lahir", "agama_id", "pendidikan_kk_id",
    "pendidikan_sedang_id", "pekerjaan_id", "status_kawin", "golongan_darah_id", "warganegara_id", "nik_ayah",
    "nama_ayah", "nik_ibu", "nama_ibu", "cacat_id", "status_dasar", "status_penduduk", "ktp_el", "status_rekam",
    "akta_lahir", "akta_perkawinan", "tanggal_perkawinan", "akta_perceraian", "tanggal_perceraian",
    "dokumen_pasport", "dokumen_kitas", "hamil", "suku", "telepon", "email", "alamat_sekarang", "alamat_sebelumnya",
)
#: NOT NULL columns with a default: an empty cell keeps what is there (default for a new resident).
NOT_NULL_DEFAULTS = {"warganegara_id": 1, "status_dasar": 1, "status_penduduk": 1}
WILAYAH_KEYS = ("dusun", "rw", "rt")
REQUIRED_KEYS = ("nik", "nama", "sex", "tanggal_lahir", "no_kk")
HIDUP, KEPALA_KELUARGA, KOREKSI = 1, 1, 7

_IGNORED = object()  # a known column the register does not keep
#: Column name (as slug) → internal key. Internal keys are ``penduduk`` fields plus nik, no_kk, alamat
#: (the family's address), dusun, rw and rt.
ALIASES: dict[str, Any] = {
    # OpenSID FormatImporExcel / OpenSID's export for OpenDK
    "alamat": "alamat", "dusun": "dusun", "rw": "rw", "rt": "rt", "nama": "nama", "no_kk": "no_kk", "nik": "nik",
    "sex": "sex", "tempatlahir": "tempat_lahir", "tanggallahir": "tanggal_lahir", "ayah_nik": "nik_ayah",
    "ibu_nik": "nik_ibu", "tanggalperkawinan": "tanggal_perkawinan", "tanggalperceraian": "tanggal_perceraian",
    # OpenDK heading-row slugs (Imports/SinkronPenduduk.php)
    "nomor_nik": "nik", "nomor_kk": "no_kk", "jenis_kelamin": "sex", "agama": "agama_id",
    "pendidikan_dlm_kk": "pendidikan_kk_id", "pendidikan_sdg_ditempuh": "pendidikan_sedang_id",
    "pekerjaan": "pekerjaan_id", "kawin": "status_kawin", "hubungan_keluarga": "kk_level",
    "kewarganegaraan": "warganegara_id", "gol_darah": "golongan_darah_id",
    "nomor_dokumen_pasport": "dokumen_pasport", "nomor_dokumen_kitas": "dokumen_kitas",
    "nomor_akta_perkawinan": "akta_perkawinan", "nomor_akta_perceraian": "akta_perceraian", "cacat": "cacat_id",
    # common spellings
    "no_nik": "nik", "nomor_kartu_keluarga": "no_kk", "no_kartu_keluarga": "no_kk",
}
for _name in PERSON_FIELDS:
    ALIASES.setdefault(_name, _name)
for _name in ("tanggal_akhir_paspor", "tanggal_akhir_pasport", "cara_kb_id", "cara_kb", "tag_id_card",
              "id_asuransi", "no_asuransi", "lat", "lng", "id", "foto", "created_at", "updated_at", "desa_id",
              "no", "nomor", "nomor_urut", "no_urut"):
    ALIASES[_name] = _IGNORED
_OPENDK_MARKERS = {"nomor_nik", "nomor_kk", "jenis_kelamin", "pendidikan_dlm_kk", "hubungan_keluarga"}

#: Internal key → the column name the export writes (and the import's first choice).
EXPORT_NAME = {"tempat_lahir": "tempatlahir", "tanggal_lahir": "tanggallahir", "nik_ayah": "ayah_nik",
               "nik_ibu": "ibu_nik", "tanggal_perkawinan": "tanggalperkawinan",
               "tanggal_perceraian": "tanggalperceraian"}

_NIK_KEYS = {"nik", "no_kk", "nik_ayah", "nik_ibu"}
_EXCEL_EPOCH = date(1899, 12, 30)
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SLUG = re.compile(r"[^a-z0-9]+")


class BerkasTidakValid(ValueError):
    """The upload cannot be read as an import file (empty, too big, not xlsx/CSV, corrupt, no header).

    Raised before any work; the API answers 4xx naming field ``berkas``."""

    def __init__(self, message: str, status: int = 422):
        self.status = status
        super().__init__(message)


# --- report ---------------------------------------------------------------------------------------------


@dataclass
class Masalah:
    """One problem: the sheet row (as the user sees it), the column (as named in the file) and a message."""

    row: int | None
    column: str | None
    message: str


@dataclass
class Perubahan:
    row: int
    columns: list[str]


@dataclass
class LaporanBaris:
    """What a file check found, row by row: the first ``REPORT_LIMIT`` problems of each kind, and the totals.
    The report of every file import (register, IDM) builds on it."""

    warnings: list[Masalah] = field(default_factory=list)
    errors: list[Masalah] = field(default_factory=list)
    warnings_total: int = 0
    errors_total: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def add_error(self, row: int | None, column: str | None, message: str) -> None:
        self.errors_total += 1
        if len(self.errors) < REPORT_LIMIT:
            self.errors.append(Masalah(row, column, message))

    def add_warning(self, row: int | None, column: str | None, message: str) -> None:
        self.warnings_total += 1
        if len(self.warnings) < REPORT_LIMIT:
            self.warnings.append(Masalah(row, column, message))


@dataclass
class ImportReport(LaporanBaris):
    format: str = ""
    layout: str = ""
    rows_total: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: bool = False
    #: Per changed resident: row and the columns that changed (never values).
    changes: list[Perubahan] = field(default_factory=list)
    keluarga_baru: int = 0
    wilayah_baru: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """A human-readable summary (CLI)."""
        out = [f"berkas: {self.format} ({self.layout}), {self.rows_total} baris / rows"]
        if self.rejected:
            out.append(f"DITOLAK / REJECTED: {self.errors_total} kesalahan / errors; nothing was written")
        else:
            out.append(f"baru / inserted: {self.inserted}, diubah / updated: {self.updated}, "
                       f"tetap / unchanged: {self.unchanged}, keluarga baru: {self.keluarga_baru}, "
                       f"wilayah baru: {self.wilayah_baru}")
        for e in self.errors:
            out.append(f"  error   baris {e.row}, kolom {e.column}: {e.message}")
        if self.errors_total > len(self.errors):
            out.append(f"  ... {self.errors_total - len(self.errors)} more errors")
        for w in self.warnings:
            out.append(f"  warning baris {w.row}, kolom {w.column}: {w.message}")
        if self.warnings_total > len(self.warnings):
            out.append(f"  ... {self.warnings_total - len(self.warnings)} more warnings")
        for c in self.changes:
            out.append(f"  changed baris {c.row}: {', '.join(c.columns)}")
        if self.updated > len(self.changes):
            out.append(f"  ... {self.updated - len(self.changes)} more changed rows")
        if self.ignored_columns:
            out.append("kolom diabaikan / ignored columns: " + ", ".join(self.ignored_columns))
        return out


# --- reading --------------------------------------------------------------------------------------------


@dataclass
class Table:
    """A parsed file, column-oriented: ``cells[key][i]`` is data row ``i`` (sheet row ``numbers[i]``)."""

    format: str  # xlsx | csv
    layout: str  # opensid | opendk
    columns: dict[str, str]  # internal key → column name as written in the file
    ignored: list[str]
    numbers: list[int]
    cells: dict[str, Sequence[Any]]

    def __len__(self) -> int:
        return len(self.numbers)


def sniff(data: bytes) -> str:
    """``"xlsx"`` or ``"csv"`` from the content, or :class:`BerkasTidakValid` (cheap: no parsing)."""
    if not data:
        raise BerkasTidakValid("berkas kosong / the file is empty")
    if len(data) > MAX_BYTES:
        raise BerkasTidakValid(f"berkas lebih dari {MAX_BYTES // (1024 * 1024)} MB / the file is too large", 413)
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                expanded = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, ValueError) as exc:
            raise BerkasTidakValid("berkas xlsx rusak / the xlsx file is corrupt") from exc
        if "xl/workbook.xml" not in names:
            raise BerkasTidakValid("berkas zip ini bukan xlsx / this zip file is not an xlsx workbook")
        if expanded > MAX_UNZIPPED_BYTES:
            raise BerkasTidakValid("isi xlsx terlalu besar / the xlsx expands too much", 413)
        return "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise BerkasTidakValid("format .xls lama tidak didukung: simpan sebagai .xlsx atau CSV / "
                               "old .xls is not supported: save as .xlsx or CSV", 415)
    _decode(data[:65536], sample=True)
    return "csv"


def _decode(data: bytes, *, sample: bool = False) -> str:
    """CSV text: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text") or Windows-1252."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            decoded = data[:len(data) - len(data) % 2].decode("utf-16")
        except UnicodeDecodeError as exc:
            raise BerkasTidakValid("teks UTF-16 rusak / broken UTF-16 text", 415) from exc
    else:
        if b"\x00" in data[:65536]:
            raise BerkasTidakValid("bukan berkas xlsx atau CSV / not an xlsx or CSV file", 415)
        decoded = None
        for encoding in ("utf-8-sig", "cp1252"):
            try:
                decoded = data.decode(encoding)
                break
            except UnicodeDecodeError as exc:
                if sample and encoding == "utf-8-sig" and exc.start >= len(data) - 3:
                    decoded = data[:exc.start].decode(encoding)  # a sample may end inside a character
                    break
    if decoded is None or _CONTROL.search(decoded[:65536]):
        raise BerkasTidakValid("bukan berkas xlsx atau CSV (UTF-8) / not an xlsx or CSV (UTF-8) file", 415)
    return decoded


def slug_header(header: Any) -> str:
    """A column header as a lookup key: lower case, runs of anything but letters and digits → ``_``
    (``"Tgl. Lahir"`` → ``tgl_lahir``)."""
    return _SLUG.sub("_", str(header).strip().lower()).strip("_")


def _find_header(rows: list[list[Any]]) -> tuple[int, dict[str, int], dict[str, str], list[str], str]:
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        slugs = [slug_header(cell) if cell not in (None, "") else "" for cell in row]
        keys = {ALIASES.get(s) for s in slugs}
        if "nik" not in keys or "nama" not in keys:
            continue
        positions: dict[str, int] = {}
        names: dict[str, str] = {}
        ignored: list[str] = []
        for position, (cell, slug) in enumerate(zip(row, slugs, strict=False)):
            if not slug:
                continue
            key = ALIASES.get(slug)
            if key is _IGNORED:
                continue
            if key is None or key in positions:
                ignored.append(str(cell).strip())
                continue
            positions[key] = position
            names[key] = str(cell).strip()
        layout = "opendk" if _OPENDK_MARKERS & set(slugs) else "opensid"
        return index, positions, names, ignored, layout
    raise BerkasTidakValid("baris judul kolom tidak ditemukan: kolom nik dan nama wajib ada / header row not "
                           "found: columns nik and nama are required")


def xlsx_rows(data: bytes) -> list[list[Any]]:
    """The cells of an xlsx upload (sheet "Data Penduduk" if there is one, else the first), as Python values;
    :class:`BerkasTidakValid` when it cannot be read or has more than ``MAX_ROWS`` rows."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = workbook.sheet_names
        index = next((i for i, n in enumerate(names) if n.strip().lower() == "data penduduk"), 0)
        sheet = workbook.get_sheet_by_index(index)
        if sheet.height > MAX_ROWS + HEADER_SEARCH_ROWS:
            raise BerkasTidakValid(f"lebih dari {MAX_ROWS} baris / more than {MAX_ROWS} rows", 413)
        return sheet.to_python(skip_empty_area=False)
    except BerkasTidakValid:
        raise
    except Exception as exc:  # calamine raises its own error types for every kind of damage
        raise BerkasTidakValid(f"berkas xlsx tidak dapat dibaca / the xlsx file cannot be read: {exc}") from exc


def csv_rows(data: bytes) -> list[list[str]]:
    """The cells of a CSV upload (UTF-8 or cp1252; ``;``, ``,`` or tab, whichever the first rows use most);
    :class:`BerkasTidakValid` when it cannot be read or has more than ``MAX_ROWS`` rows."""
    decoded = _decode(data)
    head = [line for line in decoded[:65536].splitlines() if line.strip()][:HEADER_SEARCH_ROWS]
    delimiter = max((";", ",", "\t"), key=lambda d: max((line.count(d) for line in head), default=0))
    if '"' not in decoded:
        # Nothing quoted: a plain split is what the csv module would do, several times faster.
        rows = [line.rstrip("\r").split(delimiter) for line in decoded.split("\n")]
    else:
        try:
            rows = list(csv.reader(io.StringIO(decoded, newline=""), delimiter=delimiter))
        except csv.Error as exc:
            raise BerkasTidakValid(f"CSV tidak dapat dibaca / the CSV cannot be read: {exc}") from exc
    if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
        raise BerkasTidakValid(f"lebih dari {MAX_ROWS} baris / more than {MAX_ROWS} rows", 413)
    return rows


def _prepare(key: str, value: Any) -> Any:
    """Normalise one cell of column ``key`` (CSV text, or calamine's str, float, int, bool, date, datetime)
    into what the validation takes: text stripped, ``1.0`` → ``"1"`` (codes, NIKs typed as numbers), a
    leading ``'`` (Excel's text marker) dropped from NIKs, dates as dates (date cells, Excel serial numbers,
    ISO date-times)."""
    if isinstance(value, str):
        value = value.strip()
        if key in _NIK_KEYS and value.startswith("'"):
            return value[1:].strip()
        if value[:1] == "'" and value[1:2] in ("=", "+", "@"):
            return value[1:]  # the export's guard against spreadsheet formulas
        if key in DATE_FIELDS:
            if len(value) > 10 and _ISO_DATETIME.match(value):
                value = value[:10]
            return _as_date(value)
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float | int):
        if key in DATE_FIELDS and 0 < value < 2958466 and float(value).is_integer():
            return _EXCEL_EPOCH + timedelta(days=int(value))  # a date typed as a number
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    if isinstance(value, datetime):
        return value.date() if key in DATE_FIELDS else value.date().isoformat()
    if isinstance(value, date):
        return value if key in DATE_FIELDS else value.isoformat()
    return str(value).strip()


def _blank(cell: Any) -> bool:
    return cell is None or cell == "" or (isinstance(cell, str) and cell.strip() in ("", "-"))


def read_table(data: bytes) -> Table:
    """Parse an upload (any :class:`BerkasTidakValid` before any database work).

    Cells are kept as read (normalised later, once per distinct value); blank rows (every column the
    register knows empty or ``-``) are dropped."""
    kind = sniff(data)
    raw_rows = xlsx_rows(data) if kind == "xlsx" else csv_rows(data)
    header_index, positions, names, ignored, layout = _find_header(raw_rows)
    missing = [EXPORT_NAME.get(k, k) for k in REQUIRED_KEYS if k not in positions]
    if missing:
        raise BerkasTidakValid("kolom wajib tidak ada / required columns missing: " + ", ".join(missing))
    width = max(positions.values()) + 1
    required = itemgetter(*[positions[k] for k in REQUIRED_KEYS])
    mapped = itemgetter(*positions.values())
    numbers: list[int] = []
    rows: list[list[Any]] = []
    for number, row in enumerate(raw_rows[header_index + 1:], start=header_index + 2):
        if len(row) < width:
            row = list(row) + [""] * (width - len(row))
        if kind == "csv":
            if not "".join(required(row)).replace("-", "").strip() and \
                    not "".join(mapped(row)).replace("-", "").strip():
                continue
        elif all(_blank(c) for c in required(row)) and all(_blank(c) for c in mapped(row)):
            continue
        numbers.append(number)
        rows.append(row)
    if not rows:
        raise BerkasTidakValid("tidak ada baris data di bawah judul kolom / no data rows under the header")
    transposed = list(zip(*rows, strict=False))  # every row has at least ``width`` cells
    cells = {key: transposed[position] for key, position in positions.items()}
    return Table(kind, layout, names, ignored, numbers, cells)


# --- validation -----------------------------------------------------------------------------------------

_REQUIRED_MESSAGE = "wajib diisi / required"
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_YMD = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
#: Rows validated (and then handed to the database) at a time.
CHUNK_ROWS = 10_000
#: Interpreter switch interval (s) while the writer thread runs beside the checking thread.
SWITCH_INTERVAL = 0.0002
#: Write checked row ranges while later ones are still being checked (else: check all, then write).
PIPELINE = True
#: A file adding at least this many residents, and no fewer than are registered already, is loaded with
#: penduduk's secondary indexes and foreign keys set aside and rebuilt once afterwards (t0007): building an
#: index over 100,000 rows costs a fraction of maintaining it row by row. Readers of the desa wait meanwhile.
BULK_MIN_ROWS = 5_000

Result = tuple[Any, str | None, str | None]  # clean value, error, warning


def _as_date(value: Any) -> Any:
    """Spreadsheet dates are mostly ``DD-MM-YYYY`` or ISO text: turn those into dates before validation (the
    validation's own parser still handles every other format and reports what is not a date)."""
    if isinstance(value, str):
        match = _DMY.match(value)
        if match:
            day, month, year = match.groups()
        else:
            match = _YMD.match(value)
            if not match:
                return value
            year, month, day = match.groups()
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            return value
    return value


def _text_check(limit: int, level: str | None = None) -> Callable[[Any], Result]:
    def check(value: Any) -> Result:
        value = _prepare("", value)
        if is_empty(value):
            return None, None, None
        cleaned = " ".join(str(value).split())
        if len(cleaned) > limit:
            return None, f"terlalu panjang (maks. {limit}) / too long", None
        if level in ("rw", "rt") and cleaned.strip("0") == "":
            return None, None, None  # OpenSID writes RW/RT "0" for "none"
        return cleaned, None, None

    return check


def _no_kk_check(value: Any) -> Result:
    value = _prepare("no_kk", value)
    if is_empty(value):
        return None, _REQUIRED_MESSAGE, None
    return _field_result("no_kk", value)


def _field_result(key: str, prepared: Any) -> Result:
    """:func:`check_field` of a prepared, non-empty cell as (clean value, error, warning)."""
    try:
        value, warning = check_field(key, prepared)
    except ValueError as exc:
        return None, str(exc), None
    return value, None, warning


def _column(columns: dict[str, str], key: str) -> str:
    return columns.get(key) or EXPORT_NAME.get(key, key)


class _Validation:
    """Every check of a file, column by column and in row ranges, keeping what it learnt between ranges.

    A column's check depends on the value only (codes, dates, names, numbers), so :func:`check_field` runs
    once per distinct value of a column. The NIK, whose check depends on the row's sex and birth date, runs
    once per row (:func:`check_nik_of`). The family columns (KK
    number, relation, status, address, wilayah) are checked for the whole file first: the database needs
    the families before their members."""

    def __init__(self, table: Table, report: ImportReport):
        self.table, self.report = table, report
        self.n = n = len(table)
        report.format, report.layout, report.rows_total = table.format, table.layout, n
        report.ignored_columns = list(table.ignored)
        self.cells, self.columns = table.cells, table.columns
        self.errors: dict[int, dict[str, str]] = {}
        self.warnings: dict[int, dict[str, str]] = {}
        self.fields = [f for f in PERSON_FIELDS if f in table.cells]
        self.values: dict[str, list[Any]] = {f: [None] * n for f in self.fields}
        # Per column and distinct cell value: the clean value, and the problem of the values that have one.
        self.cleaned: dict[str, dict[Any, Any]] = {f: {} for f in self.fields}
        self.flagged: dict[str, dict[Any, Result]] = {f: {} for f in self.fields}
        self.pairs: dict[tuple[Any, Any], tuple[tuple[Any, Any], dict[str, str]]] = {}
        self.seen_nik: dict[str, int] = {}
        self.no_kk: list[str] = []
        self.alamat: list[str | None] | None = None
        self.wilayah: list[tuple[str | None, str | None, str | None]] | None = None
        # NIKs as they will be stored (what check_nik keeps), known before their rows are checked: the
        # database reads what is registered for them while the rows are being checked.
        self.nik = [normalize(_prepare("nik", v)) for v in self.cells["nik"]]
        self.nik_hmac = nik_hmacs(self.nik)

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    def _record(self, key: str, lo: int, column: Sequence[Any], cleaned: dict[Any, Any],
                flagged: dict[Any, Result]) -> list[Any]:
        """Per-row clean values of ``column`` (rows ``lo``…) from per-value results; problems recorded."""
        if flagged:
            for offset, value in enumerate(column):
                if value in flagged:
                    _, error, warning = flagged[value]
                    target = self.errors if error else self.warnings
                    target.setdefault(lo + offset, {})[key] = error or warning
        return list(map(cleaned.__getitem__, column))

    def _slice(self, key: str, lo: int, hi: int) -> tuple[Sequence[Any], set[Any]]:
        column = self.cells[key][lo:hi]
        try:
            return column, set(column)
        except TypeError:  # an unhashable cell type: compare as text
            column = [str(v) for v in column]
            return column, set(column)

    def _by_value(self, key: str, check: Callable[[Any], Result]) -> list[Any]:
        column, values = self._slice(key, 0, self.n)
        results = {value: check(value) for value in values}
        return self._record(key, 0, column, {v: r[0] for v, r in results.items()},
                            {v: r for v, r in results.items() if r[1] or r[2]})

    def _fields(self, keys: list[str], lo: int, hi: int) -> None:
        """Resident fields whose check depends on their own value: each new distinct value checked once."""
        sliced = {key: self._slice(key, lo, hi) for key in keys}
        for key, (_, values) in sliced.items():
            cleaned, flagged = self.cleaned[key], self.flagged[key]
            for value in values - cleaned.keys():
                prepared = _prepare(key, value)
                if is_empty(prepared):
                    cleaned[value] = None
                    if key in REQUIRED_KEYS:
                        flagged[value] = (None, _REQUIRED_MESSAGE, None)
                    continue
                result = _field_result(key, prepared)
                cleaned[value] = result[0]
                if result[1] or result[2]:
                    flagged[value] = result
        for key, (column, _) in sliced.items():
            self.values[key][lo:hi] = self._record(key, lo, column, self.cleaned[key], self.flagged[key])

    def families(self) -> None:
        """The whole file's family columns; a second living head of one KK is an error."""
        self.no_kk = self._by_value("no_kk", _no_kk_check)
        self._fields([k for k in ("kk_level", "status_dasar") if k in self.values], 0, self.n)
        if "alamat" in self.cells:
            self.alamat = self._by_value("alamat", _text_check(2000))
        if "dusun" in self.cells:
            levels = [self._by_value(level, _text_check(100, level)) if level in self.cells else [None] * self.n
                      for level in WILAYAH_KEYS]
            self.wilayah = list(zip(*levels, strict=True))
            for i, (dusun, rw, rt) in enumerate(self.wilayah):
                if dusun is None and (rw or rt) and "dusun" not in self.errors.get(i, {}):
                    self.errors.setdefault(i, {})["dusun"] = ("wajib diisi bila RW/RT diisi / required when RW or RT "
                                                              "is given")
        if "kk_level" in self.values:
            heads: dict[str, int] = {}
            status = self.values.get("status_dasar") or [None] * self.n
            for i, level in enumerate(self.values["kk_level"]):
                if level == KEPALA_KELUARGA and status[i] in (None, HIDUP) and self.no_kk[i]:
                    first = heads.setdefault(self.no_kk[i], i)
                    if first != i and "kk_level" not in self.errors.get(i, {}):
                        row = self.table.numbers[first]
                        self.errors.setdefault(i, {})["kk_level"] = (
                            f"KK ini sudah punya kepala keluarga di baris {row} / this KK already has a head in "
                            f"row {row}")

    def rows(self, lo: int, hi: int) -> None:
        """Everything else for rows ``lo``…``hi`` - 1."""
        self._fields([f for f in self.fields if f not in ("kk_level", "status_dasar", "sex", "hamil")], lo, hi)
        # sex and hamil together (a man cannot be pregnant: check_penduduk's cross-check), once per pair.
        sexes = self.cells["sex"][lo:hi]
        pairs = list(zip(sexes, self.cells["hamil"][lo:hi] if "hamil" in self.cells else [""] * len(sexes),
                         strict=True))
        for pair in set(pairs):
            if pair not in self.pairs:
                sex, hamil = _prepare("sex", pair[0]), _prepare("hamil", pair[1])
                if is_empty(sex):
                    self.pairs[pair] = ((None, None), {"sex": _REQUIRED_MESSAGE})
                else:
                    checked = check_penduduk({"sex": sex, "hamil": hamil}, partial=True)
                    self.pairs[pair] = ((checked.values.get("sex"), checked.values.get("hamil")), checked.errors)
        for offset, pair in enumerate(pairs):
            if self.pairs[pair][1]:
                self.errors.setdefault(lo + offset, {}).update(self.pairs[pair][1])
        self.values["sex"][lo:hi] = [self.pairs[p][0][0] for p in pairs]
        if "hamil" in self.values:
            self.values["hamil"][lo:hi] = [self.pairs[p][0][1] for p in pairs]
        # NIK: per row, with the row's sex and birth date (a warning when they disagree).
        sexes, births, numbers = self.values["sex"], self.values["tanggal_lahir"], self.table.numbers
        for i in range(lo, hi):
            raw = self.nik[i]  # the cell, prepared and normalised (what check_nik keeps)
            if is_empty(raw):
                self.errors.setdefault(i, {})["nik"] = _REQUIRED_MESSAGE
                continue
            _, error, warning = check_nik_of(raw, sexes[i], births[i])
            if error:
                self.errors.setdefault(i, {})["nik"] = error
                continue
            if warning:
                self.warnings.setdefault(i, {})["nik"] = warning
            first = self.seen_nik.setdefault(self.nik[i], i)
            if first != i:
                self.errors.setdefault(i, {})["nik"] = (f"NIK sama dengan baris {numbers[first]} / same NIK as row "
                                                        f"{numbers[first]}")

    def finish(self) -> None:
        report, numbers = self.report, self.table.numbers
        for i in sorted(self.errors):
            for key, message in self.errors[i].items():
                report.add_error(numbers[i], _column(self.columns, key), message)
        for i in sorted(self.warnings):
            for key, message in self.warnings[i].items():
                if key not in self.errors.get(i, {}):
                    report.add_warning(numbers[i], _column(self.columns, key), message)
        report.rejected = report.errors_total > 0

    def alive_elsewhere(self, session: DesaSession) -> None:
        """Warnings for living residents of the file registered as alive in another desa (hashed index)."""
        with session.connection().connection.driver_connection.cursor() as cursor:
            self.warn_elsewhere(cursor.execute(_ELSEWHERE, {"h": self.nik_hmac, "d": session.desa_kode}).fetchall())

    def warn_elsewhere(self, found: list[tuple[str, str]]) -> None:
        status = self.values.get("status_dasar") or [None] * self.n
        index = {digest: i for i, digest in enumerate(self.nik_hmac) if status[i] in (None, HIDUP)}
        column = _column(self.columns, "nik")
        for digest, desa in sorted((f for f in found if f[0] in index), key=lambda f: index[f[0]]):
            self.report.add_warning(self.table.numbers[index[digest]], column,
                                    f"terdaftar hidup di desa lain: {desa} / registered as alive in another desa")


_ELSEWHERE = ("SELECT nik_hmac, string_agg(desa_kode, ', ' ORDER BY desa_kode) FROM kawasan.nik_index "
              "WHERE nik_hmac = ANY(%(h)b::bigint[]) AND hidup AND desa_kode <> %(d)s GROUP BY nik_hmac")


def validate(table: Table, *, session: DesaSession | None = None) -> ImportReport:
    """Check a whole file and write nothing (a dry run). With a session, NIKs alive in another desa are warned."""
    report = ImportReport()
    checks = _Validation(table, report)
    checks.families()
    for lo in range(0, checks.n, CHUNK_ROWS):
        checks.rows(lo, min(lo + CHUNK_ROWS, checks.n))
    checks.finish()
    if session is not None and not report.rejected:
        checks.alive_elsewhere(session)
    return report


# --- loading --------------------------------------------------------------------------------------------


_SQL_TYPE = {**{k: "smallint" for k in LISTS}, **{k: "date" for k in DATE_FIELDS}}
_FAMILIES, _DONE, _ABORT = object(), object(), object()


class _Aborted(Exception):
    """The file turned out to have errors while its first rows were being written: roll back."""


def _norm(name: str) -> str:
    name = " ".join(name.split()).lower()
    return str(int(name)) if name.isdigit() else name


class _Wilayah:
    """The desa's wilayah tree, matched case-insensitively (``RT 001`` = ``1`` for all-digit names)."""

    def __init__(self, session: DesaSession):
        self.session = session
        self.index: dict[tuple[int | None, str, str], int] = {}
        self.path: dict[int, tuple[str | None, str | None, str | None]] = {}
        self.created = 0
        nodes = session.execute(text("SELECT id, tingkat, nama, induk_id FROM wilayah ORDER BY id")).all()
        by_id = {n.id: n for n in nodes}
        for node in nodes:
            self.index.setdefault((node.induk_id, node.tingkat, _norm(node.nama)), node.id)
        for node in nodes:
            names: dict[str, str] = {}
            current = node
            while current is not None and current.tingkat not in names:
                names[current.tingkat] = current.nama
                current = by_id.get(current.induk_id)
            self.path[node.id] = (names.get("dusun"), names.get("rw"), names.get("rt"))

    def _ensure(self, level: str, wanted: dict[tuple, tuple[int | None, str]]) -> dict[tuple, int]:
        """The node of each (parent, name) of one level, the missing ones created in one statement."""
        missing: dict[tuple[int | None, str, str], tuple[int | None, str]] = {}
        for parent, name in wanted.values():
            missing.setdefault((parent, level, _norm(name)), (parent, name))
        missing = {key: node for key, node in missing.items() if key not in self.index}
        if missing:
            created = self.session.execute(text(
                """INSERT INTO wilayah (tingkat, nama, induk_id)
                   SELECT :t, n, i FROM unnest(CAST(:n AS text[]), CAST(:i AS bigint[])) AS u(n, i)
                   RETURNING id, induk_id, nama"""),
                {"t": level, "n": [n for _, n in missing.values()], "i": [i for i, _ in missing.values()]}).all()
            self.index.update({(row.induk_id, level, _norm(row.nama)): row.id for row in created})
            self.created += len(created)
        return {key: self.index[(parent, level, _norm(name))] for key, (parent, name) in wanted.items()}

    def resolve(self, paths: Sequence[tuple[str | None, str | None, str | None]]) -> dict[tuple, int]:
        """The node of each distinct (dusun, RW, RT) path with a dusun (an RT hangs under its RW, or under the
        dusun when the RW is empty), missing ones created: one statement per level, whatever the number."""
        paths = [path for path in dict.fromkeys(paths) if path[0] is not None]
        dusun = self._ensure("dusun", {(d,): (None, d) for d, _, _ in paths})
        rw = self._ensure("rw", {(d, w): (dusun[(d,)], w) for d, w, _ in paths if w is not None})
        rt = self._ensure("rt", {path: (rw[path[:2]] if path[1] is not None else dusun[path[:1]], path[2])
                                 for path in paths if path[2] is not None})
        resolved: dict[tuple, int] = {}
        for path in paths:
            d, w, t = path
            found = rt[path] if t is not None else rw[(d, w)] if w is not None else dusun[(d,)]
            resolved[path] = found
            self.path.setdefault(found, path)
        return resolved


@dataclass
class _Keluarga:
    """A family as the import knows it (registered, or written by this import)."""

    id: int
    no_kk: str
    alamat: str | None
    wilayah_id: int | None


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


class _Loader(threading.Thread):
    """Writes a file in the desa session while the main thread is still checking its later rows.

    It starts as soon as the NIKs are known: it reads the registered residents they name and draws ids while
    the family columns are checked. ``_FAMILIES`` on ``inbox`` says those are checked: it writes wilayah,
    new families and the NIK index. Then row ranges arrive once checked, and residents go in with one COPY
    fed range by range; ``_DONE`` ends the file. ``_ABORT`` (a row had an error) stops everything and the
    caller rolls the transaction back. The session and its connection belong to this thread until it ends."""

    def __init__(self, session: DesaSession, checks: _Validation, *, actor: str, catatan: str,
                 progress: Progress | None):
        super().__init__(name="penduduk-impor-db", daemon=True)
        self.session, self.checks, self.actor, self.catatan, self.progress = session, checks, actor, catatan, progress
        self.report = checks.report
        self.inbox: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.seconds = 0.0

    def run(self) -> None:
        started = time.perf_counter()
        try:
            self._run()
        except _Aborted:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self.error = exc
        finally:
            self.seconds = time.perf_counter() - started

    def _step(self, label: str, since: float) -> float:
        now = time.perf_counter()
        self.report.seconds[f"db_{label}"] = round(now - since, 3)
        return now

    def _draw_ids(self, table: str, count: int) -> list[int]:
        """``count`` ids from ``table``'s identity sequence (unused ones after a rollback are a gap, as always)."""
        if not count:
            return []
        raw = self.session.connection().connection.driver_connection
        with raw.cursor(binary=True) as cursor:
            cursor.execute("SELECT nextval(seq) FROM CAST(pg_get_serial_sequence(%s, 'id') AS regclass) AS seq, "
                           "generate_series(1, %s)", (table, count))
            return [row[0] for row in cursor.fetchall()]

    def _run(self) -> None:
        session, checks, report = self.session, self.checks, self.report
        n, niks, values = checks.n, checks.nik, checks.values
        fields = checks.fields
        columns_of, numbers = checks.columns, checks.table.numbers
        clock = time.perf_counter()
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k)), set_config('work_mem', '64MB', true)"),
                        {"k": f"penduduk.impor:{session.desa_schema}"})
        raw = session.connection().connection.driver_connection

        # What is registered already, for the NIKs and KK numbers of the file only (nothing to look up in a
        # desa whose register is still empty: the usual first import).
        tree = _Wilayah(session)
        registered, has_families = session.execute(text(
            "SELECT (SELECT count(*) FROM penduduk), EXISTS (SELECT FROM keluarga)")).one()
        existing: dict[str, Any] = {}
        if registered:
            with raw.cursor(row_factory=namedtuple_row) as cursor:  # plain tuples: a whole register may come back
                cursor.execute(
                    f"""SELECT p.nik, p.id, p.keluarga_id, p.wilayah_id, p.status_dasar AS status_kini,
                               k.no_kk AS kk_kini {''.join(f', p.{f}' for f in fields)}
                        FROM penduduk p LEFT JOIN keluarga k ON k.id = p.keluarga_id WHERE p.nik = ANY(%(niks)s)""",
                    {"niks": niks})
                existing = {row.nik: row for row in cursor}
        # Ids for the new residents (file order) and families, drawn now: a new family is written with its
        # head's id before the head's row exists (that key is checked once the residents are in, t0008).
        if existing:
            ids: list[int | None] = [None] * n
            fresh: list[int] = []
            for i, nik in enumerate(niks):
                old = existing.get(nik)
                if old is None:
                    fresh.append(i)
                else:
                    ids[i] = old.id
            for i, new_id in zip(fresh, self._draw_ids("penduduk", len(fresh)), strict=True):
                ids[i] = new_id
        else:
            ids = self._draw_ids("penduduk", n)
        clock = self._step("baca", clock)
        # Before any write: setting the keys aside alters keluarga, which must not hold a pending check then.
        # Readers of the desa wait from here until the import commits.
        incoming = n - len(existing)
        bulk = incoming >= BULK_MIN_ROWS and incoming >= registered
        if bulk:
            session.execute(text("SELECT impor_sisihkan_indeks()"))

        # All of the above needed the NIKs only; what follows needs the family columns checked.
        if self.inbox.get() is _ABORT:
            raise _Aborted
        kks = checks.no_kk
        has_wilayah, has_alamat = checks.wilayah is not None, checks.alamat is not None
        distinct_kks = list(dict.fromkeys(kks))
        families: dict[str, Any] = {}
        if has_families:
            families = {row.no_kk: row for row in session.execute(
                text("SELECT id, no_kk, alamat, wilayah_id FROM keluarga WHERE no_kk = ANY(:kks)"),
                {"kks": distinct_kks})}
        new_kks = [kk for kk in distinct_kks if kk not in families]
        # Wilayah (one statement per level), and what each family takes from its head's row (or its first).
        wilayah_ids: list[int | None] = [None] * n
        if has_wilayah:
            resolved = tree.resolve(checks.wilayah)
            wilayah_ids = [resolved.get(path) for path in checks.wilayah]
        alamat = checks.alamat or [None] * n
        levels = values.get("kk_level") or [None] * n
        status = values.get("status_dasar") or [None] * n
        alive = [(status[i] if status[i] is not None else
                  (existing[niks[i]].status_kini if niks[i] in existing else HIDUP)) == HIDUP for i in range(n)]
        family_alamat: dict[str, str | None] = {}
        family_wilayah: dict[str, int | None] = {}
        heads: dict[str, int] = {}  # KK → its living head's row (validation allows one per KK)
        head_rows = [i for i, level in enumerate(levels) if level == KEPALA_KELUARGA]
        for i in chain(head_rows, range(n)):  # heads first, then file order
            kk = kks[i]
            if family_alamat.get(kk) is None:
                family_alamat[kk] = alamat[i]
            if family_wilayah.get(kk) is None:
                family_wilayah[kk] = wilayah_ids[i]
            if levels[i] == KEPALA_KELUARGA and alive[i]:
                heads.setdefault(kk, i)

        # Families: the new ones with their head and number history, then address and wilayah of the others.
        today = date.today()
        new_family_ids: set[int] = set()
        if new_kks:
            family_ids = self._draw_ids("keluarga", len(new_kks))
            living = {kks[i] for i in range(n) if alive[i]}
            if not bulk:  # (a bulk import has set the key aside)
                session.execute(text("SET CONSTRAINTS fk_keluarga_kepala_id_penduduk DEFERRED"))
            heads_of = [ids[heads[k]] if k in heads else None for k in new_kks]
            with raw.cursor() as cursor:
                with cursor.copy("COPY keluarga (id, no_kk, alamat, wilayah_id, kepala_id, aktif, tanggal_daftar) "
                                 "FROM STDIN") as copy:
                    for row in zip(family_ids, new_kks, map(family_alamat.__getitem__, new_kks),
                                   map(family_wilayah.__getitem__, new_kks), heads_of,
                                   [k in living for k in new_kks], repeat(today), strict=False):
                        copy.write_row(row)
                with cursor.copy("COPY riwayat_no_kk (keluarga_id, no_kk, sebab) FROM STDIN") as copy:
                    for row in zip(family_ids, new_kks, repeat("impor"), strict=False):
                        copy.write_row(row)
            report.keluarga_baru = len(new_kks)
            new_family_ids = set(family_ids)
            families.update({kk: _Keluarga(id_, kk, family_alamat[kk], family_wilayah[kk])
                             for kk, id_ in zip(new_kks, family_ids, strict=True)})
        stale = [(f.id, family_alamat[kk], family_wilayah[kk]) for kk, f in families.items()
                 if (has_alamat and f.alamat != family_alamat[kk])
                 or (has_wilayah and f.wilayah_id != family_wilayah[kk])]
        if stale:
            sets = (["alamat = u.al"] if has_alamat else []) + (["wilayah_id = u.wi"] if has_wilayah else [])
            session.execute(text(
                f"""UPDATE keluarga k SET {', '.join(sets)}, versi = k.versi + 1, diubah_pada = now()
                    FROM unnest(CAST(:id AS bigint[]), CAST(:al AS text[]), CAST(:wi AS bigint[])) AS u(id, al, wi)
                    WHERE k.id = u.id"""
            ), {"id": [s[0] for s in stale], "al": [s[1] for s in stale], "wi": [s[2] for s in stale]})
        family_id = {kk: f.id for kk, f in families.items()}
        clock = self._step("keluarga", clock)

        # The shared NIK index. One round trip: the upsert (in a CTE) and who is alive in another desa (the
        # warnings, added once every row has passed).
        # (Binary parameters: psycopg dumps a 100,000-element array as text in Python, binary in C.)
        with raw.cursor() as cursor:
            elsewhere = cursor.execute(
                """WITH indeks AS (
                       INSERT INTO kawasan.nik_index (nik_hmac, desa_kode, hidup)
                       SELECT h, %(d)s, a FROM unnest(%(h)b::bigint[], %(a)b::boolean[]) AS u(h, a) ORDER BY h
                       ON CONFLICT (nik_hmac, desa_kode) DO UPDATE SET hidup = EXCLUDED.hidup
                       WHERE kawasan.nik_index.hidup IS DISTINCT FROM EXCLUDED.hidup)
                   """ + _ELSEWHERE,
                {"d": session.desa_kode, "h": checks.nik_hmac, "a": alive}).fetchall()
        clock = self._step("indeks_nik", clock)

        # Residents as their rows arrive: new ones straight in with COPY, registered ones compared.
        columns = ["id", "nik", "keluarga_id", *(["wilayah_id"] if has_wilayah else []), *fields]
        # Binary COPY: PostgreSQL skips parsing 100,000 rows of dates and numbers from text.
        types = ["bigint", "text", "bigint", *(["bigint"] if has_wilayah else []),
                 *[_SQL_TYPE.get(f, "text") for f in fields]]
        width = len(fields)
        changed_rows: list[int] = []
        mutasi: list[tuple] = []
        touched = set(family_id.values()) - new_family_ids  # registered families whose members may change

        def new_values(rows: range | list[int], *, defaults: bool = True) -> Iterator[tuple]:
            """COPY rows for ``rows`` (a contiguous range is sliced, which is much cheaper than gathering).
            ``defaults``: an empty status/citizenship becomes the column default (new residents); otherwise it
            stays empty and the update keeps what is registered."""
            def pick(column: Sequence[Any]) -> Sequence[Any]:
                return column[rows.start:rows.stop] if isinstance(rows, range) else [column[i] for i in rows]

            data: list[Sequence[Any]] = [pick(ids), pick(niks), list(map(family_id.__getitem__, pick(kks)))]
            if has_wilayah:
                data.append(pick(wilayah_ids))
            for f in fields:
                column, default = pick(values[f]), NOT_NULL_DEFAULTS.get(f)
                data.append(column if default is None or not defaults
                            else [default if v is None else v for v in column])
            return zip(*data, strict=True)

        def compare(i: int, new: tuple) -> None:
            old = existing[niks[i]]
            family = families.get(kks[i])
            if (old[6:6 + width] == new and kks[i] == old.kk_kini
                    and (not has_wilayah or wilayah_ids[i] == old.wilayah_id)
                    and (not has_alamat or family_alamat[kks[i]] == family.alamat)):
                return
            changed: list[str] = []
            before: dict[str, Any] = {}
            after: dict[str, Any] = {}
            for f, now, then in zip(fields, new, old[6:6 + width], strict=True):
                if now != then and not (now is None and f in NOT_NULL_DEFAULTS):
                    changed.append(_column(columns_of, f))
                    before[f], after[f] = _plain(then), _plain(now)
            if kks[i] != old.kk_kini:
                changed.append(_column(columns_of, "no_kk"))
                before["no_kk"], after["no_kk"] = old.kk_kini, kks[i]
                if old.keluarga_id is not None:
                    touched.add(old.keluarga_id)
            if has_wilayah and wilayah_ids[i] != old.wilayah_id:
                old_path = tree.path.get(old.wilayah_id, (None, None, None))
                new_path = tree.path.get(wilayah_ids[i], (None, None, None))
                for level, then, now in zip(WILAYAH_KEYS, old_path, new_path, strict=True):
                    if then != now:
                        changed.append(_column(columns_of, level))
                        before[level], after[level] = then, now
            if has_alamat and family_alamat[kks[i]] != family.alamat:
                changed.append(_column(columns_of, "alamat"))
                before["alamat"], after["alamat"] = family.alamat, family_alamat[kks[i]]
            if changed:
                changed_rows.append(i)
                if len(report.changes) < REPORT_LIMIT:
                    report.changes.append(Perubahan(numbers[i], changed))
                mutasi.append((old.id, KOREKSI, today, kks[i], self.catatan,
                               json.dumps({"sebelum": before, "sesudah": after}, default=str), self.actor))

        inserted = 0
        with raw.cursor() as cursor, cursor.copy(
                f"COPY penduduk ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            while True:
                item = self.inbox.get()
                if item is _ABORT:
                    raise _Aborted
                if item is _DONE:
                    break
                lo, hi = item
                fresh: range | list[int] = range(lo, hi)
                if existing:
                    fresh = [i for i in fresh if niks[i] not in existing]
                for row in new_values(fresh):
                    copy.write_row(row)
                inserted += len(fresh)
                if len(fresh) < hi - lo:
                    chunk = zip(*[values[f][lo:hi] for f in fields], strict=True) if fields else [()] * (hi - lo)
                    for i, new in enumerate(chunk, start=lo):
                        if niks[i] in existing:
                            compare(i, new)
        report.inserted, report.updated = inserted, len(changed_rows)
        report.unchanged = n - inserted - len(changed_rows)
        if new_kks and not bulk:  # the new families' heads exist now
            session.execute(text("SET CONSTRAINTS fk_keluarga_kepala_id_penduduk IMMEDIATE"))
        clock = self._step("penduduk", clock)
        if bulk:
            session.execute(text("SELECT impor_pulihkan_indeks()"))
            clock = self._step("indeks", clock)
        if self.progress:
            self.progress(85)

        # Changed residents through a staging table; their KOREKSI entries; the family heads.
        if changed_rows:
            session.execute(text(
                "CREATE TEMPORARY TABLE impor_ubah (" + ", ".join(
                    f"{c} {t}" for c, t in zip(columns, types, strict=True)) + ") ON COMMIT DROP"))
            with raw.cursor() as cursor, cursor.copy(
                    f"COPY pg_temp.impor_ubah ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for row in new_values(changed_rows, defaults=False):
                    copy.write_row(row)
            sets = [f"{c} = COALESCE(s.{c}, p.{c})" if c in NOT_NULL_DEFAULTS else f"{c} = s.{c}" for c in columns[2:]]
            session.execute(text(
                f"""UPDATE penduduk p SET {', '.join(sets)}, versi = p.versi + 1, diubah_pada = now()
                    FROM pg_temp.impor_ubah s WHERE p.id = s.id"""
            ))
            session.execute(text("DROP TABLE pg_temp.impor_ubah"))
            with raw.cursor() as cursor, cursor.copy(
                "COPY mutasi_penduduk (penduduk_id, kode_peristiwa, tanggal_peristiwa, no_kk, catatan, data, oleh) "
                "FROM STDIN"
            ) as copy:
                for entry in mutasi:
                    copy.write_row(entry)
        if touched and (inserted or changed_rows):
            session.execute(text(
                """WITH fam AS (SELECT id, kepala_id FROM keluarga WHERE id = ANY(CAST(:ids AS bigint[]))),
                   agg AS (
                       SELECT fam.id,
                              CASE WHEN bool_or(p.id = fam.kepala_id AND p.kk_level = 1 AND p.status_dasar = 1)
                                   THEN fam.kepala_id
                                   ELSE min(p.id) FILTER (WHERE p.kk_level = 1 AND p.status_dasar = 1) END AS kepala,
                              coalesce(bool_or(p.status_dasar = 1), false) AS hidup
                       FROM fam LEFT JOIN penduduk p ON p.keluarga_id = fam.id
                       GROUP BY fam.id, fam.kepala_id)
                   UPDATE keluarga k SET kepala_id = a.kepala, aktif = a.hidup, versi = k.versi + 1,
                       diubah_pada = now()
                   FROM agg a
                   WHERE k.id = a.id AND (k.kepala_id IS DISTINCT FROM a.kepala OR k.aktif IS DISTINCT FROM a.hidup)"""
            ), {"ids": sorted(touched)})
        report.wilayah_baru = tree.created
        if inserted or changed_rows or report.keluarga_baru or report.wilayah_baru or stale:
            mark_changed(session)
        checks.warn_elsewhere(elsewhere)
        self._step("akhir", clock)
        log.info("penduduk import in %s: %s rows, %s inserted, %s updated", session.desa_kode, n, inserted,
                 len(changed_rows))


def import_bytes(session: DesaSession, data: bytes, *, actor: str, progress: Progress | None = None,
                 catatan: str = "impor data penduduk") -> ImportReport:
    """Read, check and (when no row has an error) write a file in the session's transaction.

    The file is read and its family columns checked; then the rest is checked range by range while a
    second thread writes the ranges already checked (the database works while Python checks). An error
    anywhere stops the writing and the report says rejected: the caller must then roll back (the
    transaction may hold the first ranges). Raises :class:`BerkasTidakValid` for a file that cannot be
    read and ``DesaNotFound`` for a desa that cannot be entered. The caller commits."""
    session.connection()  # enter the desa first: an unknown desa fails before any work
    collecting = gc.isenabled()
    # Millions of cell objects, none of them in a reference cycle: the cyclic collector would only walk them
    # over and over (it doubles the time to read a CSV).
    gc.disable()
    try:
        return _import(session, data, actor=actor, progress=progress, catatan=catatan)
    finally:
        if collecting:
            gc.enable()


def _import(session: DesaSession, data: bytes, *, actor: str, progress: Progress | None,
            catatan: str) -> ImportReport:
    started = time.perf_counter()
    table = read_table(data)
    read_done = time.perf_counter()
    if progress:
        progress(10)
    report = ImportReport()
    checks = _Validation(table, report)
    loader: _Loader | None = None
    switch = sys.getswitchinterval()

    def start_loader() -> _Loader:
        writer = _Loader(session, checks, actor=actor, catatan=catatan, progress=progress)
        # The checking thread is busy in Python; the writer mostly waits on the database. Without a short
        # switch interval the writer waits up to 5 ms for the interpreter after every round trip.
        sys.setswitchinterval(SWITCH_INTERVAL)
        writer.start()
        return writer

    if PIPELINE:  # it reads what is registered for these NIKs while the family columns are checked
        loader = start_loader()
    try:
        checks.families()
    except BaseException:
        if loader is not None:
            loader.inbox.put(_ABORT)
            loader.join()
        sys.setswitchinterval(switch)
        raise
    if loader is not None:
        if checks.failed:
            loader.inbox.put(_ABORT)
            loader = _stop(loader)
        else:
            loader.inbox.put(_FAMILIES)
    checking = time.perf_counter() - read_done
    waiting = 0.0
    ranges = [(lo, min(lo + CHUNK_ROWS, checks.n)) for lo in range(0, checks.n, CHUNK_ROWS)]
    try:
        for lo, hi in ranges:
            begun = time.perf_counter()
            checks.rows(lo, hi)
            checking += time.perf_counter() - begun
            if loader is not None:
                if checks.failed or loader.error is not None:
                    loader.inbox.put(_ABORT)
                    loader = _stop(loader)
                else:
                    loader.inbox.put((lo, hi))
            if progress:
                progress(10 + (70 if PIPELINE else 40) * hi // checks.n)
        begun = time.perf_counter()
        checks.finish()
        checking += time.perf_counter() - begun
        if not PIPELINE and not report.rejected:
            loader = start_loader()
            loader.inbox.put(_FAMILIES)
            for item in ranges:
                loader.inbox.put(item)
        if loader is not None:
            begun = time.perf_counter()
            loader.inbox.put(_DONE)
            loader = _stop(loader)
            waiting = time.perf_counter() - begun
    finally:
        if loader is not None:  # an exception in this thread: stop the writer before the caller rolls back
            loader.inbox.put(_ABORT)
            loader.join()
        sys.setswitchinterval(switch)
    if report.rejected:  # whatever the writer got to before it stopped is rolled back: report none of it
        report.inserted = report.updated = report.unchanged = report.keluarga_baru = report.wilayah_baru = 0
        report.changes = []
    finished = time.perf_counter()
    report.seconds.update({"baca": round(read_done - started, 3), "validasi": round(checking, 3),
                           "tunggu_basis_data": round(waiting, 3), "total": round(finished - started, 3)})
    return report


def _stop(loader: _Loader) -> None:
    loader.join()
    loader.report.seconds["basis_data"] = round(loader.seconds, 3)
    if loader.error is not None:
        raise loader.error
    return None


def run_import(engine, desa_kode: str, data: bytes, *, actor: str, progress: Progress | None = None) -> ImportReport:
    """Import into one desa in its own transaction (CLI, bench): committed unless rejected."""
    with DesaSession(engine, desa_kode) as session:
        report = import_bytes(session, data, actor=actor, progress=progress)
        if report.rejected:
            session.rollback()
        else:
            session.commit()
        return report


# --- export ---------------------------------------------------------------------------------------------

_DATE_COLUMNS = {"tanggallahir", "tanggalperkawinan", "tanggalperceraian"}
_FORMULA_START = ("=", "+", "@", "\t", "\r")


def export_rows(session: DesaSession) -> Iterator[list[Any]]:
    """The whole register (every status) in :data:`EXPORT_COLUMNS` order, header first."""
    yield list(EXPORT_COLUMNS)
    tree = _Wilayah(session)
    by_key = {EXPORT_NAME.get(f, f): f for f in PERSON_FIELDS}
    selected = ", ".join(f"p.{f}" for f in PERSON_FIELDS)
    result = session.execute(text(
        f"""SELECT k.alamat AS kk_alamat, k.no_kk, p.nik, p.wilayah_id, {selected}
            FROM penduduk p LEFT JOIN keluarga k ON k.id = p.keluarga_id
            ORDER BY k.no_kk NULLS LAST, p.kk_level NULLS LAST, p.id"""
    ).execution_options(yield_per=2000)).mappings()
    for row in result:
        dusun, rw, rt = tree.path.get(row["wilayah_id"], (None, None, None))
        special = {"alamat": row["kk_alamat"], "dusun": dusun, "rw": rw, "rt": rt, "no_kk": row["no_kk"],
                   "nik": row["nik"]}
        out = []
        for column in EXPORT_COLUMNS:
            if column in special:
                out.append(special[column])
            elif column in by_key:
                out.append(row[by_key[column]])
            else:
                out.append(None)
        yield out


def _csv_text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in _FORMULA_START:
        return "'" + value  # a spreadsheet must not run it as a formula; the import drops the "'" again
    return value


#: A background export (``laporan_tasks``) hears how many residents are written every this many rows.
PROGRESS_EVERY = 2_000


def write_csv(session: DesaSession, fh: IO[str], progress: Progress | None = None) -> int:
    """CSV (comma separated, ISO dates, empty cells for none); returns the number of residents."""
    writer = csv.writer(fh, lineterminator="\n")
    count = -1
    for count, row in enumerate(export_rows(session)):  # noqa: B007 - the count is the result
        writer.writerow([_csv_text(v) for v in row])
        if progress and count and count % PROGRESS_EVERY == 0:
            progress(count)
    return max(count, 0)


def write_xlsx(session: DesaSession, fh: IO[bytes], progress: Progress | None = None) -> int:
    """xlsx in OpenSID's sheet "Data Penduduk" (NIKs as text cells, dates as date cells)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Data Penduduk")
    count = -1
    date_positions = [i for i, c in enumerate(EXPORT_COLUMNS) if c in _DATE_COLUMNS]
    for count, row in enumerate(export_rows(session)):  # noqa: B007 - the count is the result
        if count:
            for i in date_positions:
                if row[i] is not None:
                    cell = WriteOnlyCell(sheet, value=row[i])
                    cell.number_format = "yyyy-mm-dd"
                    row[i] = cell
            for i, value in enumerate(row):
                if isinstance(value, str) and value.startswith("="):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"  # text, never a formula
                    row[i] = cell
            if progress and count % PROGRESS_EVERY == 0:
                progress(count)
        sheet.append(row)
    workbook.save(fh)
    return max(count, 0)


def export_register(session, fmt: str, progress: Progress | None = None) -> tuple[bytes, int]:
    """The whole register as CSV (UTF-8 with BOM, what spreadsheets expect) or xlsx; returns (bytes, rows).
    ``progress(residents written)`` is called every :data:`PROGRESS_EVERY` rows."""
    import io

    if fmt == "csv":
        buffer = io.StringIO()
        count = write_csv(session, buffer, progress)
        return buffer.getvalue().encode("utf-8-sig"), count
    binary = io.BytesIO()
    count = write_xlsx(session, binary, progress)
    return binary.getvalue(), count
