"""A synthetic but plausibly shaped IDM history for the demo: Kabupaten Bungo's desa, 2016–2024.

Shaped after the real story (research/domain.md §2.1): the regent said Bungo went from **1 dusun maju in
2016 to 28 in 2020** (Gerakan Dusun Membangun). The yearly counts per status below are made up around those
two facts; which desa holds which status, and its scores, come from a seeded random ranking, so every run
gives the same history. A desa never falls back a status (its rank is fixed), the town kecamatan rank a
little higher. Kelurahan are left out: the IDM measures desa only (so 141 of Bungo's 153 villages).

Scores are written through :func:`service.idm.services.hitung` (the real rule), so the stored status is the
computed one; the demo never overwrites rows that exist (imported or entered by hand).
"""

from __future__ import annotations

import random
from decimal import Decimal

from sqlalchemy import Engine

from service.idm.services import Baris, desa_di_wilayah, hitung, simpan
from service.idm.skema import BERKEMBANG, IDM_2016, MAJU, MANDIRI, SANGAT_TERTINGGAL, STATUS, TERTINGGAL

KABUPATEN = "15.08"
SEED = 20161019
#: Desa per status (Sangat Tertinggal, Tertinggal, Berkembang, Maju, Mandiri) per year, for 141 desa.
TARGET: dict[int, tuple[int, int, int, int, int]] = {
    2016: (20, 85, 35, 1, 0),
    2017: (15, 80, 44, 2, 0),
    2018: (8, 62, 65, 6, 0),
    2019: (3, 40, 84, 14, 0),
    2020: (0, 18, 95, 28, 0),
    2021: (0, 8, 90, 40, 3),
    2022: (0, 3, 75, 55, 8),
    2023: (0, 1, 60, 66, 14),
    2024: (0, 0, 48, 74, 19),
}
#: Range of the IDM drawn for each status (inside the real thresholds).
RENTANG = {
    SANGAT_TERTINGGAL: (Decimal("0.4200"), Decimal("0.4907")),
    TERTINGGAL: (Decimal("0.4907"), Decimal("0.5989")),
    BERKEMBANG: (Decimal("0.5989"), Decimal("0.7072")),
    MAJU: (Decimal("0.7072"), Decimal("0.8155")),
    MANDIRI: (Decimal("0.8155"), Decimal("0.8600")),
}
#: The desa of the kecamatan around the town (Rimbo Tengah, Bungo Dani; Pasar Muaro Bungo has kelurahan only) and
#: of the pilot Bathin III Ulu rank a little higher.
BONUS = {"15.08.13": 0.35, "15.08.12": 0.35, "15.08.14": 0.25}
_E4 = Decimal("0.0001")


def riwayat_sintetis(kodes: list[tuple[str, str]]) -> list[Baris]:
    """The demo history for ``(desa kode, kecamatan kode)`` pairs (any number: the targets are scaled)."""
    rng = random.Random(SEED)
    ranked = sorted(sorted(kodes), key=lambda k: rng.random() + BONUS.get(k[1], 0.0), reverse=True)
    n = len(ranked)
    rows: list[Baris] = []
    for tahun, target in TARGET.items():
        counts = _scaled(target, n)
        position = 0
        for status in reversed(STATUS):  # best first: the top-ranked desa hold the highest statuses
            size = counts[STATUS.index(status)]
            lo, hi = RENTANG[status]
            for j, (kode, _kec) in enumerate(ranked[position:position + size]):
                f = Decimal(1) - (Decimal(j) + Decimal("0.5")) / size
                nilai = (lo + (hi - lo) * (Decimal("0.06") + Decimal("0.88") * f)).quantize(_E4)
                a = Decimal(rng.randint(300, 900)) * _E4  # social resilience above the index
                b = Decimal(rng.randint(400, 1000)) * _E4  # economic resilience below it
                skor = {"iks": nilai + a, "ike": nilai - b, "ikl": 3 * nilai - (nilai + a) - (nilai - b)}
                hasil = hitung(IDM_2016, skor)
                assert hasil.status == status, (kode, tahun, hasil)  # the generator keeps inside the thresholds
                rows.append(Baris(kode, tahun, hasil))
            position += size
    return rows


def _scaled(target: tuple[int, ...], n: int) -> list[int]:
    total = sum(target)
    if n == total:
        return list(target)
    counts = [round(c * n / total) for c in target]
    counts[2] += n - sum(counts)  # the remainder goes to Berkembang
    return counts


def seed_idm_demo(engine: Engine, kabupaten: str = KABUPATEN) -> int:
    """Write the demo history for every desa of ``kabupaten`` (rows already there are kept)."""
    with engine.begin() as conn:
        desa = desa_di_wilayah(conn, kabupaten)
        rows = riwayat_sintetis([(d.kode, d.kec_kode) for d in desa])
        return simpan(conn, IDM_2016, rows, sumber="demo", oleh="demo", timpa=False)
