"""The import job: runs an uploaded population-register file (``impor_penduduk`` row) in its desa.

The outbox event is marked done on ``ctx.conn``; the import itself runs in its own desa session and
commits there, together with the row's final status and report. It is idempotent on its own: a row that
is already ``selesai`` or ``ditolak`` is left alone, so a re-delivered event does nothing. Progress
(``persen``) is written in separate short transactions so that the API sees it while the import runs.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import text

from service.penduduk.impor import BerkasTidakValid, ImportReport, import_bytes, sniff
from service.regions.codes import parse_desa_kode, schema_name_for
from tenants.session import DesaSession
from workers.jobs import JobContext, handles
from workers.outbox import emit

log = logging.getLogger(__name__)

TOPIC_IMPOR = "penduduk.impor"
FINISHED = ("selesai", "ditolak")


def terima_berkas(session: DesaSession, data: bytes, *, nama_berkas: str | None, oleh: str) -> Any:
    """Store an upload and queue its import, in the caller's transaction (the caller commits and audits).

    Raises :class:`BerkasTidakValid` (with the HTTP status) for a file that is empty, too large or neither xlsx
    nor CSV, before anything is written. Returns the row (``id``, ``public_id``, ``format``)."""
    kind = sniff(data)
    row = session.execute(
        text("INSERT INTO impor_penduduk (nama_berkas, format, ukuran, isi, oleh) VALUES (:n, :f, :u, :i, :o) "
             "RETURNING id, public_id, format"),
        {"n": (nama_berkas or "")[:255] or None, "f": kind, "u": len(data), "i": data, "o": oleh[:100]},
    ).one()
    desa = session.desa.kode
    emit(session, TOPIC_IMPOR, desa_kode=desa, key=f"{TOPIC_IMPOR}:{desa}:{row.id}", queue="default",
         payload={"impor_id": row.id})
    return row


def status_impor(session: DesaSession, public_id) -> dict[str, Any] | None:
    """Status, progress (``persen``) and report of one upload; ``None`` when this desa has no such import."""
    row = session.execute(
        text("SELECT public_id AS id, nama_berkas, format, ukuran, status, persen, laporan, oleh, dibuat_pada, "
             "selesai_pada FROM impor_penduduk WHERE public_id = :p"),
        {"p": public_id},
    ).mappings().first()
    return dict(row) if row is not None else None


def daftar_impor(session: DesaSession, *, limit: int = 10) -> list[dict[str, Any]]:
    """The latest uploads of this desa, newest first (no report: see :func:`status_impor`)."""
    rows = session.execute(
        text("SELECT public_id AS id, nama_berkas, format, status, persen, oleh, dibuat_pada, selesai_pada "
             "FROM impor_penduduk ORDER BY dibuat_pada DESC, id DESC LIMIT :n"),
        {"n": limit},
    ).mappings().all()
    return [dict(r) for r in rows]


def _set(engine, schema: str, impor_id: int, **values: Any) -> None:
    """A short transaction of its own (seen at once by the API)."""
    sets = ", ".join(f"{k} = CAST(:{k} AS jsonb)" if k == "laporan" else f"{k} = :{k}" for k in values)
    with engine.begin() as conn:
        conn.execute(text(f'UPDATE "{schema}".impor_penduduk SET {sets} WHERE id = :id'), {"id": impor_id, **values})


@handles(TOPIC_IMPOR)
def run_impor(ctx: JobContext, desa_kode: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    impor_id = int(payload["impor_id"])
    schema = schema_name_for(parse_desa_kode(desa_kode))
    row = ctx.conn.execute(
        text(f'SELECT status, isi, oleh, nama_berkas FROM "{schema}".impor_penduduk WHERE id = :id'),
        {"id": impor_id},
    ).first()
    if row is None:
        return {"impor_id": impor_id, "status": "hilang"}
    if row.status in FINISHED:
        return {"impor_id": impor_id, "status": row.status, "ulang": True}  # re-delivered: nothing to do
    _set(ctx.engine, schema, impor_id, status="berjalan", persen=1)
    shown = [1]

    def progress(persen: int) -> None:
        persen = max(1, min(int(persen), 99))
        if persen >= shown[0] + 5:
            shown[0] = persen
            _set(ctx.engine, schema, impor_id, persen=persen)

    finish = text(
        "UPDATE impor_penduduk SET status = :status, persen = 100, laporan = CAST(:laporan AS jsonb), "
        "selesai_pada = now(), isi = NULL WHERE id = :id"
    )
    try:
        with DesaSession(ctx.engine, desa_kode) as session:
            try:
                report = import_bytes(session, bytes(row.isi), actor=row.oleh or "impor", progress=progress,
                                      catatan=f"impor berkas {row.nama_berkas or ''}".strip()[:200])
            except BerkasTidakValid as exc:
                session.rollback()
                report = ImportReport(rejected=True)
                report.add_error(None, "berkas", str(exc))
            if report.rejected:
                session.rollback()  # nothing of the import stays; only the row's outcome is written
            status = "ditolak" if report.rejected else "selesai"
            session.execute(finish, {"status": status, "laporan": json.dumps(report.to_dict()), "id": impor_id})
            session.commit()
    except Exception as exc:
        # Unexpected (database down, a bug): recorded for the API; the outbox retries with back-off.
        _set(ctx.engine, schema, impor_id, status="gagal",
             laporan=json.dumps({"errors": [{"row": None, "column": None, "message": type(exc).__name__}]}))
        raise
    log.info("penduduk import %s in %s: %s", impor_id, desa_kode, status)
    return {"impor_id": impor_id, "status": status, "inserted": report.inserted, "updated": report.updated,
            "rejected": report.rejected, "errors": report.errors_total}
