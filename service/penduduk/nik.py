"""NIK and Nomor KK rules (research/domain.md §1).

NIK: 16 digits ``PP RR KK DDMMYY SSSS``; the region is where it was first registered, DD is +40 for women,
the serial is never 0000. There is no checksum. A region prefix that is not a current kecamatan is a
warning (codes change with pemekaran), and so is a NIK date or sex that disagrees with the recorded one
(a NIK is never reissued when a birth date is corrected). Nomor KK: same layout, the date is the date of
issue (no +40).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

_STRIP = re.compile(r"[\s.\-]")


@dataclass
class NikCheck:
    value: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sex: int | None = None  # 1 male, 2 female, from the day field
    day: int | None = None
    month: int | None = None
    year2: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def _sixteen_digits(text: str) -> bool:
    return len(text) == 16 and text.isascii() and text.isdigit()


def normalize(raw: object) -> str:
    """Strip spaces, dots and dashes; undo spreadsheets' float rendering (``1508...001.0``)."""
    if type(raw) is str and _sixteen_digits(raw):
        return raw  # the usual case, kept cheap: an import normalises every NIK of a file
    text = str(raw if raw is not None else "").strip()
    if re.fullmatch(r"\d{16}\.0+", text):
        text = text.split(".")[0]
    return _STRIP.sub("", text)


@lru_cache(maxsize=1)
def _kecamatan_prefixes() -> frozenset[str]:
    import csv

    from service.regions.services import data_dir

    with open(data_dir() / "districts.csv", encoding="utf-8") as fh:
        return frozenset(row["code"].replace(".", "") for row in csv.DictReader(fh))


@lru_cache(maxsize=65536)
def _date_ok(day: int, month: int, year2: int) -> bool:
    for century in (2000, 1900):
        try:
            date(century + year2, month, day)
            return True
        except ValueError:
            continue
    return False


@lru_cache(maxsize=65536)
def _nik_head(head: str) -> tuple[int, int, int, int, bool, bool]:
    """What a NIK's first 12 digits say: sex, day, month, 2-digit year, whether that date exists and whether
    the region is a current kecamatan (cached: a register's NIKs share a few regions and birth dates)."""
    dd, mm, yy = int(head[6:8]), int(head[8:10]), int(head[10:12])
    day = dd - 40 if dd > 40 else dd
    valid = 1 <= day <= 31 and 1 <= mm <= 12 and _date_ok(day, mm, yy)
    return (2 if dd > 40 else 1), day, mm, yy, valid, head[:6] in _kecamatan_prefixes()


def check_nik(raw: object, *, sex: int | None = None, tanggal_lahir: date | None = None) -> NikCheck:
    clean = type(raw) is str and _sixteen_digits(raw)  # the usual case: no normalising
    nik = raw if clean else normalize(raw)
    result = NikCheck(nik)
    if not clean and not _sixteen_digits(nik):
        result.errors.append("NIK harus 16 digit angka / NIK must be 16 digits")
        return result
    result.sex, day, mm, yy, valid, current = _nik_head(nik[:12])
    result.day, result.month, result.year2 = day, mm, yy
    if not valid:
        result.errors.append("tanggal lahir dalam NIK tidak sah / the birth date inside the NIK is invalid")
    if nik.endswith("0000"):
        result.errors.append("nomor urut NIK tidak boleh 0000 / the NIK serial cannot be 0000")
    if not current:
        result.warnings.append("kode wilayah NIK bukan kode kecamatan saat ini / region prefix is not a current code")
    if sex is not None and result.sex != sex and not result.errors:
        result.warnings.append("jenis kelamin tidak cocok dengan NIK / sex differs from the NIK")
    if tanggal_lahir is not None and not result.errors and (
        tanggal_lahir.day, tanggal_lahir.month, tanggal_lahir.year % 100
    ) != (day, mm, yy):
        result.warnings.append("tanggal lahir tidak cocok dengan NIK / birth date differs from the NIK")
    return result


def check_no_kk(raw: object) -> NikCheck:
    no_kk = normalize(raw)
    result = NikCheck(no_kk)
    if not _sixteen_digits(no_kk):
        result.errors.append("Nomor KK harus 16 digit angka / KK number must be 16 digits")
        return result
    dd, mm, yy = int(no_kk[6:8]), int(no_kk[8:10]), int(no_kk[10:12])
    if not (1 <= dd <= 31 and 1 <= mm <= 12 and _date_ok(dd, mm, yy)):
        result.errors.append("tanggal dalam Nomor KK tidak sah / the date inside the KK number is invalid")
    if no_kk[12:] == "0000":
        result.errors.append("nomor urut KK tidak boleh 0000 / the KK serial cannot be 0000")
    if no_kk[:6] not in _kecamatan_prefixes():
        result.warnings.append("kode wilayah KK bukan kode kecamatan saat ini / region prefix is not a current code")
    return result
