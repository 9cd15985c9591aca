"""Synthetic village points for the demo maps (no real coordinates are bundled).

The shared data (``shared/data/wilayah``: idn-area-data) has codes and names but no coordinates, so the
demo places Kabupaten Bungo's villages deterministically: each kecamatan gets a centre on a ring around
Muara Bungo (about 102.12° E, 1.48° S), each village a seeded offset of a few kilometres from it. The points
are only plausible (inside the kabupaten's rough extent), never real, and are stored with
``sumber_titik = 'sintetis'``: an imported boundary or point replaces them, and the demo never overwrites a
point that is not synthetic.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal

from sqlalchemy import Engine, text

from service.idm.services import desa_di_wilayah
from service.peta.services import ENAM_DESIMAL

KABUPATEN = "15.08"
#: Muara Bungo, the kabupaten's capital (approximate), and the radius of the kecamatan ring in degrees.
PUSAT = (102.12, -1.48)
CINCIN = 0.32
SEED = 1508


def titik_sintetis(kodes: list[tuple[str, str]]) -> dict[str, tuple[Decimal, Decimal]]:
    """``(village, kecamatan)`` → a deterministic (longitude, latitude) per village."""
    rng = random.Random(SEED)
    kecamatan = sorted({kec for _, kec in kodes})
    pusat: dict[str, tuple[float, float]] = {}
    for i, kec in enumerate(kecamatan):
        # Two rings around the capital, spaced by the golden angle, so that no two centres fall together.
        angle = i * 2.399963
        radius = CINCIN * (0.45 if i % 2 else 1.0)
        pusat[kec] = (PUSAT[0] + radius * math.cos(angle) * 1.15, PUSAT[1] + radius * math.sin(angle) * 0.8)
    out = {}
    for kode, kec in sorted(kodes):
        cx, cy = pusat[kec]
        r, t = 0.06 * math.sqrt(rng.random()), rng.random() * 2 * math.pi
        out[kode] = (Decimal(repr(cx + r * math.cos(t))).quantize(ENAM_DESIMAL),
                     Decimal(repr(cy + r * math.sin(t))).quantize(ENAM_DESIMAL))
    return out


def seed_titik_demo(engine: Engine, kabupaten: str = KABUPATEN) -> int:
    """Give every village of ``kabupaten`` without a point a synthetic one; returns how many were added."""
    with engine.begin() as conn:
        rows = desa_di_wilayah(conn, kabupaten, kelurahan=True)  # kelurahan have offices on the map too
        points = titik_sintetis([(r.kode, r.kec_kode) for r in rows])
        added = 0
        for kode, (x, y) in points.items():
            added += conn.execute(text(
                """INSERT INTO kawasan.peta_desa (desa_kode, bujur, lintang, sumber_titik, diubah_oleh)
                   VALUES (:k, :x, :y, 'sintetis', 'demo')
                   ON CONFLICT (desa_kode) DO UPDATE SET bujur = EXCLUDED.bujur, lintang = EXCLUDED.lintang,
                       sumber_titik = 'sintetis'
                   WHERE kawasan.peta_desa.bujur IS NULL"""
            ), {"k": kode, "x": x, "y": y}).rowcount
        return added
