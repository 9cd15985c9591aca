"""Population register operations (minimal until the register lands: used by demo and tests)."""

from __future__ import annotations

from service.penduduk.models import Penduduk
from tenants.session import DesaSession


def add_penduduk(session: DesaSession, *, nik: str, nama: str, no_kk: str | None = None,
                 hubungan_keluarga: str | None = None) -> Penduduk:
    penduduk = Penduduk(nik=nik, nama=nama, no_kk=no_kk, hubungan_keluarga=hubungan_keluarga)
    session.add(penduduk)
    session.flush()
    return penduduk
