"""Local names of government levels (*sebutan*), which differ by kabupaten.

In Kabupaten Bungo (Perda 9/2007) a desa is a *dusun*, its head the *Rio*, and the old sub-village
dusun a *kampung*. New tenants start from their kabupaten's names; each desa can change its own.
"""

from __future__ import annotations

from typing import Any

from service.regions.codes import Kode

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
