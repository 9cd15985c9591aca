"""Roles (peran) and the scope each is held at.

A role is held at a scope: a desa role at a desa, a kecamatan role at a kecamatan (covering exactly
its villages), a kabupaten role at a kabupaten (its kecamatan and villages). ``admin_platform`` has no
scope and covers everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from service.regions.codes import InvalidKode, Kode, Tingkat, parse_kode


class Peran(StrEnum):
    OPERATOR_DESA = "operator_desa"
    SEKDES = "sekdes"
    KEPALA_DESA = "kepala_desa"
    STAF_KECAMATAN = "staf_kecamatan"
    CAMAT = "camat"
    STAF_KABUPATEN = "staf_kabupaten"
    ADMIN_KABUPATEN = "admin_kabupaten"
    ADMIN_PLATFORM = "admin_platform"
    #: Not grantable to people: what an OAuth client bound to a desa or kecamatan acts as.
    INTEGRASI = "integrasi"


SCOPE_LEVEL: dict[Peran, Tingkat | None] = {
    Peran.OPERATOR_DESA: Tingkat.DESA,
    Peran.SEKDES: Tingkat.DESA,
    Peran.KEPALA_DESA: Tingkat.DESA,
    Peran.STAF_KECAMATAN: Tingkat.KECAMATAN,
    Peran.CAMAT: Tingkat.KECAMATAN,
    Peran.STAF_KABUPATEN: Tingkat.KABUPATEN,
    Peran.ADMIN_KABUPATEN: Tingkat.KABUPATEN,
    Peran.ADMIN_PLATFORM: None,
}

#: Convenience groups used by endpoints.
DESA_STAFF = (Peran.OPERATOR_DESA, Peran.SEKDES, Peran.KEPALA_DESA)
KECAMATAN_STAFF = (Peran.STAF_KECAMATAN, Peran.CAMAT)
KABUPATEN_STAFF = (Peran.STAF_KABUPATEN, Peran.ADMIN_KABUPATEN)
#: Who reads a region's figures (rollups, IDM, maps): its kecamatan staff, the kabupaten above (a kabupaten
#: grant covers its kecamatan) and the platform.
PEMBACA_WILAYAH = (*KECAMATAN_STAFF, *KABUPATEN_STAFF, Peran.ADMIN_PLATFORM)


class InvalidGrant(ValueError):
    pass


@dataclass(frozen=True)
class Grant:
    peran: Peran
    scope: str | None  # dotted code, None for admin_platform

    def __str__(self) -> str:
        return f"{self.peran}@{self.scope}" if self.scope else str(self.peran)

    @classmethod
    def parse(cls, text: str) -> Grant:
        peran, _, scope = text.partition("@")
        return cls(Peran(peran), scope or None)

    def covers(self, target: str | None) -> bool:
        """Whether this grant reaches ``target`` (a dotted code; ``None`` means platform-wide)."""
        if self.scope is None:
            return self.peran is Peran.ADMIN_PLATFORM
        if target is None:
            return False
        return target == self.scope or target.startswith(self.scope + ".")


def make_grant(peran: str, scope: str | None) -> Grant:
    """Validate a role and its scope (level must match the role); raises :class:`InvalidGrant`."""
    try:
        role = Peran(peran)
    except ValueError as exc:
        names = ", ".join(p.value for p in SCOPE_LEVEL)
        raise InvalidGrant(f"peran tidak dikenal {peran!r} / unknown role; one of: {names}") from exc
    level = SCOPE_LEVEL.get(role)
    if role is Peran.INTEGRASI:
        raise InvalidGrant("integrasi is held by OAuth clients, not accounts")
    if level is None:
        if scope:
            raise InvalidGrant(f"{role} has no scope")
        return Grant(role, None)
    if not scope:
        raise InvalidGrant(f"{role} needs --scope, a {level.value} code")
    try:
        kode: Kode = parse_kode(scope)
    except InvalidKode as exc:
        raise InvalidGrant(str(exc)) from exc
    if kode.tingkat is not level:
        raise InvalidGrant(f"{role} is held at a {level.value}, but {kode} is a {kode.tingkat.value}")
    return Grant(role, kode.dotted)
