"""Kemendagri region codes: parsing and naming.

The dotted form (``15.08.14.2001``) is canonical in the data; the bare digits (``1508142001``) are
accepted everywhere as input. Codes are strings, never numbers (leading zeros matter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Tingkat(StrEnum):
    PROVINSI = "provinsi"
    KABUPATEN = "kabupaten"
    KECAMATAN = "kecamatan"
    DESA = "desa"


# Digit groups of each level: 2 (provinsi) . 2 (kabupaten) . 2 (kecamatan) . 4 (desa)
_DOTTED = re.compile(r"^(\d{2})(?:\.(\d{2})(?:\.(\d{2})(?:\.(\d{4}))?)?)?$")
_DIGITS = re.compile(r"^\d{2}(?:\d{2}(?:\d{2}(?:\d{4})?)?)?$")
_LEVELS = (Tingkat.PROVINSI, Tingkat.KABUPATEN, Tingkat.KECAMATAN, Tingkat.DESA)


class InvalidKode(ValueError):
    """A code that is not a well-formed Kemendagri region code."""

    def __init__(self, raw: str, reason: str | None = None):
        self.raw = raw
        self.reason = msg = reason or (
            "bukan kode wilayah Kemendagri yang sah (contoh: 15.08.14.2001 atau 1508142001) / "
            "not a valid Kemendagri region code"
        )
        super().__init__(f"{raw!r}: {msg}")


@dataclass(frozen=True, order=True)
class Kode:
    dotted: str

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.dotted.split("."))

    @property
    def digits(self) -> str:
        return self.dotted.replace(".", "")

    @property
    def tingkat(self) -> Tingkat:
        return _LEVELS[len(self.parts) - 1]

    @property
    def induk(self) -> Kode | None:
        parts = self.parts
        return Kode(".".join(parts[:-1])) if len(parts) > 1 else None

    def __str__(self) -> str:
        return self.dotted


def parse_kode(raw: str | None) -> Kode:
    """Parse a dotted or digits-only code; raise :class:`InvalidKode` naming it otherwise."""
    if raw is None:
        raise InvalidKode("", "kode wilayah wajib diisi / region code is required")
    text = str(raw).strip()
    match = _DOTTED.match(text)
    if match:
        return Kode(".".join(g for g in match.groups() if g))
    if _DIGITS.match(text):
        widths = (2, 2, 2, 4)
        parts, pos = [], 0
        for width in widths:
            if pos >= len(text):
                break
            parts.append(text[pos : pos + width])
            pos += width
        return Kode(".".join(parts))
    raise InvalidKode(text)


def parse_desa_kode(raw: str | None) -> Kode:
    kode = parse_kode(raw)
    if kode.tingkat is not Tingkat.DESA:
        raise InvalidKode(str(raw), "bukan kode desa/kelurahan (10 digit) / not a village code")
    return kode


def schema_name_for(kode: Kode) -> str:
    """PostgreSQL schema of a desa tenant: ``desa_`` + the 10 digits."""
    if kode.tingkat is not Tingkat.DESA:
        raise InvalidKode(kode.dotted, "hanya desa/kelurahan yang menjadi tenant / only villages are tenants")
    return f"desa_{kode.digits}"
