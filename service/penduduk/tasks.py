"""Jobs of the register: keep each desa's summary in the shared schema current."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from service.penduduk.services import TOPIC_BERUBAH
from service.regions.codes import parse_desa_kode, schema_name_for
from workers.jobs import JobContext, handles


@handles(TOPIC_BERUBAH)
def recompute_ringkasan(ctx: JobContext, desa_kode: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    """Recount one desa from its own tables (a burst of changes costs one recount: the event is coalesced)."""
    schema = schema_name_for(parse_desa_kode(desa_kode))
    row = ctx.conn.execute(text(
        f"""SELECT count(*) FILTER (WHERE status_dasar = 1) AS hidup,
                   count(*) FILTER (WHERE status_dasar = 1 AND sex = 1) AS laki,
                   count(*) FILTER (WHERE status_dasar = 1 AND sex = 2) AS perempuan,
                   (SELECT count(*) FROM "{schema}".keluarga WHERE aktif) AS keluarga
            FROM "{schema}".penduduk"""
    )).one()
    ctx.conn.execute(text(
        """INSERT INTO kawasan.desa_ringkasan (desa_kode, penduduk_hidup, keluarga_aktif, laki_laki, perempuan,
                                               dihitung_pada)
           VALUES (:d, :h, :k, :l, :p, now())
           ON CONFLICT (desa_kode) DO UPDATE SET penduduk_hidup = EXCLUDED.penduduk_hidup,
               keluarga_aktif = EXCLUDED.keluarga_aktif, laki_laki = EXCLUDED.laki_laki,
               perempuan = EXCLUDED.perempuan, dihitung_pada = now()"""
    ), {"d": desa_kode, "h": row.hidup, "k": row.keluarga, "l": row.laki, "p": row.perempuan})
    return {"penduduk_hidup": row.hidup, "keluarga_aktif": row.keluarga}
