"""Local names of government levels (*sebutan*), which differ by kabupaten.

In Kabupaten Bungo (Perda 9/2007) a desa is a *dusun*, its head the *Rio*, and the old sub-village
dusun a *kampung*. New tenants start from their kabupaten's names; each desa can change its own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from service.regions.codes import Kode, parse_desa_kode
from tenants.tables import Pengaturan

NATIONAL_DEFAULTS: dict[str, str] = {
    "sebutan_desa": "Desa",
    "sebutan_kepala_desa": "Kepala Desa",
    "sebutan_dusun": "Dusun",
    "sebutan_camat": "Camat",
}

KABUPATEN_DEFAULTS: dict[str, dict[str, str]] = {
    "15.08": {"sebutan_desa": "Dusun", "sebutan_kepala_desa": "Rio", "sebutan_dusun": "Kampung"},
}


def default_pengaturan(kode: Kode) -> dict[str, Any]:
    kabupaten = ".".join(kode.parts[:2])
    return {**NATIONAL_DEFAULTS, **KABUPATEN_DEFAULTS.get(kabupaten, {})}


#: The longest local name a desa may set (titles, letters and page headings must stay readable).
MAX_SEBUTAN = 50


class InvalidSebutan(ValueError):
    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def sebutan(session) -> dict[str, str]:
    """A desa's local names in effect: its own, else its kabupaten's default, else the national one."""
    stored = dict(session.execute(select(Pengaturan.kunci, Pengaturan.nilai)
                                  .where(Pengaturan.kunci.in_(NATIONAL_DEFAULTS))).all())
    defaults = default_pengaturan(parse_desa_kode(session.desa_kode))
    return {key: str(stored.get(key) or defaults[key]) for key in NATIONAL_DEFAULTS}


def save_sebutan(session, changes: dict[str, str | None]) -> dict[str, str]:
    """Validate and write local names in the caller's transaction; a blank one goes back to the kabupaten's
    default. Raises :class:`InvalidSebutan` naming the field before anything is written. Returns what changed."""
    defaults = default_pengaturan(parse_desa_kode(session.desa_kode))
    current = sebutan(session)
    writes: dict[str, str] = {}
    for key, value in changes.items():
        if key not in NATIONAL_DEFAULTS:
            raise InvalidSebutan(key, "sebutan tidak dikenal / unknown local name")
        text = " ".join((value or "").split()) or defaults[key]
        if len(text) > MAX_SEBUTAN:
            raise InvalidSebutan(key, f"paling panjang {MAX_SEBUTAN} karakter / at most {MAX_SEBUTAN} characters")
        if any(not (c.isalnum() or c in " .'-/()") for c in text):
            raise InvalidSebutan(key, "hanya huruf, angka, spasi dan . ' - / ( ) / letters, digits, spaces and those")
        if text != current[key]:
            writes[key] = text
    for key, text in writes.items():
        session.merge(Pengaturan(kunci=key, nilai=text, diubah_pada=func.now()))
    session.flush()
    return writes
