"""Jobs of layanan surat: placing requests in the inboxes above, and bringing decisions back down."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from service.regions.codes import parse_desa_kode, schema_name_for
from service.runtime import get_runtime
from service.surat import katalog, services
from service.surat.models import PermohonanSurat
from tenants.session import DesaSession
from workers.jobs import JobContext, handles


@handles(services.TOPIC_NAIK)
def place_in_inbox(ctx: JobContext, desa_kode: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    """Put the request in the kecamatan's (or kabupaten's) inbox; a second delivery changes nothing."""
    schema = schema_name_for(parse_desa_kode(desa_kode))
    row = ctx.conn.execute(
        text(
            f'SELECT s.jenis_kode, p.nama FROM "{schema}".permohonan_surat s '
            f'JOIN "{schema}".penduduk p ON p.id = s.penduduk_id WHERE s.public_id = :id'
        ),
        {"id": payload["permohonan"]},
    ).one()
    tingkat = payload["tingkat"]
    scope = desa_kode.rsplit(".", 1)[0] if tingkat == katalog.KECAMATAN else ".".join(desa_kode.split(".")[:2])
    inserted = ctx.conn.execute(
        text(
            """INSERT INTO kawasan.kotak_masuk (desa_kode, permohonan_id, putaran, tingkat, scope_kode, jenis_kode,
                                            jenis_nama, pemohon_nama, batas_waktu)
           VALUES (:d, :p, :r, :t, :s, :j, :jn, :n, :due)
           ON CONFLICT (desa_kode, permohonan_id, putaran, tingkat) DO NOTHING RETURNING id"""
        ),
        {
            "d": desa_kode,
            "p": payload["permohonan"],
            "r": payload["putaran"],
            "t": tingkat,
            "s": scope,
            "j": row.jenis_kode,
            "jn": katalog.BY_KODE[row.jenis_kode].nama,
            "n": row.nama,
            "due": datetime.now(UTC) + services.SLA[tingkat],
        },
    ).scalar()
    return {"kotak_masuk": inserted, "baru": inserted is not None}


@handles(services.TOPIC_KEPUTUSAN)
def bring_decision_down(ctx: JobContext, desa_kode: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    """Apply a kecamatan/kabupaten decision in the desa (idempotent on the decision's history key)."""
    settings = get_runtime().settings
    with DesaSession(ctx.engine, desa_kode) as session:
        permohonan = session.query(PermohonanSurat).filter_by(public_id=payload["permohonan"]).one()
        applied = services.terapkan_keputusan(
            session,
            permohonan,
            tingkat=payload["tingkat"],
            putaran=payload["putaran"],
            keputusan=payload["keputusan"],
            oleh=payload["oleh"],
            alasan=payload.get("alasan"),
            base_url=settings.public_url,
        )
        session.commit()
        return {"diterapkan": applied, "status": permohonan.status}
