"""One validation of a resident's data, shared by the API, the import and the demo.

Input values may be messy (spreadsheets): dates as date cells or text (``17-08-1988``, ``1988-08-17``,
``17/08/1988``), ``-`` or blanks for empty, codes as numbers or text (``"1"``, ``1.0``). The result is
clean values plus problems per field; warnings never block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from service.penduduk.nik import check_nik, check_no_kk, normalize
from service.penduduk.referensi import LISTS

EMPTY = {"", "-", "--", "null", "none", "nan", "n/a"}
TEXT_FIELDS = {
    "nama": 150, "tempat_lahir": 100, "nama_ayah": 150, "nama_ibu": 150, "akta_lahir": 60, "akta_perkawinan": 60,
    "akta_perceraian": 60, "dokumen_pasport": 45, "dokumen_kitas": 45, "suku": 100, "telepon": 30, "email": 150,
    "alamat_sekarang": 2000, "alamat_sebelumnya": 2000,
}
DATE_FIELDS = ("tanggal_lahir", "tanggal_perkawinan", "tanggal_perceraian")
NIK_FIELDS = ("nik_ayah", "nik_ibu")
REQUIRED = ("nik", "nama", "sex", "tanggal_lahir")
_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%y", "%d/%m/%y")


@dataclass
class Checked:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in EMPTY)


def parse_date(value: Any) -> date:
    """A date from a date cell or text in one of ``_DATE_FORMATS``; never in the future."""
    if isinstance(value, datetime):
        parsed = value.date()
    elif isinstance(value, date):
        parsed = value
    else:
        text = str(value).strip()
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt).date()
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"{text!r} bukan tanggal (contoh 17-08-1988) / not a date")
    if parsed > date.today():
        raise ValueError("tanggal di masa depan / date in the future")
    return parsed


def parse_code(field_name: str, value: Any) -> int:
    text = str(value).strip()
    digits = text.split(".", 1)
    if digits[0].isascii() and digits[0].isdigit() and (len(digits) == 1 or (digits[1] and set(digits[1]) <= {"0"})):
        code = int(digits[0])  # "3", "03" or a spreadsheet's "3.0"
        if code in LISTS[field_name]:
            return code
    else:  # a label instead of a code ("ISLAM", "Laki-laki")
        wanted = text.upper()
        for code, label in LISTS[field_name].items():
            if label == wanted or (field_name == "sex" and wanted in ("L", "P") and label[0] == wanted):
                return code
    raise ValueError(f"{text!r} bukan kode {field_name} yang dikenal / unknown code")


def check_field(name: str, value: Any) -> tuple[Any, str | None]:
    """One non-empty field by the rule that depends on its value only: ``(clean value, warning)``; a
    ``ValueError`` carries the problem. The NIK is checked by :func:`check_nik_of` (it needs the sex and
    birth date). Unknown names come back unchanged."""
    if name == "no_kk":
        kk = check_no_kk(value)
        if kk.errors:
            raise ValueError(kk.errors[0])
        return kk.value, (kk.warnings[0] if kk.warnings else None)
    if name in TEXT_FIELDS:
        text = " ".join(str(value).split())
        if len(text) > TEXT_FIELDS[name]:
            raise ValueError(f"terlalu panjang (maks. {TEXT_FIELDS[name]}) / too long")
        return text, None
    if name in DATE_FIELDS:
        return parse_date(value), None
    if name in LISTS:
        return parse_code(name, value), None
    if name in NIK_FIELDS:
        parent = check_nik(value)
        if parent.errors:
            raise ValueError(parent.errors[0])
        return parent.value, None
    return value, None


def check_nik_of(raw: Any, sex: int | None, tanggal_lahir: date | None) -> tuple[str, str | None, str | None]:
    """A resident's NIK against their sex and birth date: ``(NIK as stored, error, warning)``."""
    nik = check_nik(raw, sex=sex, tanggal_lahir=tanggal_lahir)
    if nik.errors:
        return nik.value, nik.errors[0], None
    return nik.value, None, ("; ".join(nik.warnings) if nik.warnings else None)


def check_penduduk(raw: dict[str, Any], *, partial: bool = False) -> Checked:
    """Validate one resident. ``partial``: only the fields present (an edit)."""
    out = Checked()
    for name in REQUIRED:
        if not partial and is_empty(raw.get(name)):
            out.errors[name] = "wajib diisi / required"
    for name, value in raw.items():
        if name in out.errors or (is_empty(value) and name not in REQUIRED):
            if is_empty(value) and name not in REQUIRED and name in _KNOWN:
                out.values[name] = None
            continue
        if name == "nik" or name not in _KNOWN:
            continue  # the NIK is checked below, with sex and birth date
        try:
            out.values[name], warning = check_field(name, value)
        except ValueError as exc:
            out.errors[name] = str(exc)
            continue
        if warning:
            out.warnings[name] = warning
    if "nik" in raw and "nik" not in out.errors:
        nik, error, warning = check_nik_of(raw["nik"], out.values.get("sex"), out.values.get("tanggal_lahir"))
        if error:
            out.errors["nik"] = error
        else:
            out.values["nik"] = nik
            if warning:
                out.warnings["nik"] = warning
    if out.values.get("sex") == 1 and out.values.get("hamil") == 1:
        out.errors["hamil"] = "laki-laki tidak dapat hamil / a man cannot be pregnant"
    return out


_PASSTHROUGH = {"keluarga_id", "wilayah_id"}
_KNOWN = set(TEXT_FIELDS) | set(DATE_FIELDS) | set(LISTS) | set(NIK_FIELDS) | _PASSTHROUGH | {"no_kk"}
#: Fields a resident row may carry (API and import).
FIELDS = sorted(_KNOWN | {"nik"})


def normalize_nik(raw: Any) -> str:
    return normalize(raw)
