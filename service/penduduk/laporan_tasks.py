"""Background reports: a Buku Induk/Mutasi PDF too large to lay out within a request."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text

from service.penduduk import buku as books
from tenants.session import DesaSession
from workers.jobs import JobContext, handles

TOPIC = "penduduk.buku_pdf"


@handles(TOPIC)
def render_book(ctx: JobContext, desa_kode: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    """Lay out the book and store it; a finished report is never rendered twice."""
    with DesaSession(ctx.engine, desa_kode) as session:
        row = session.execute(text("SELECT id, buku, format, parameter, status FROM berkas_laporan "
                                   "WHERE public_id = :p FOR UPDATE"), {"p": payload["laporan"]}).first()
        if row is None or row.status == "selesai":
            return {"skip": True}
        with ctx.engine.connect() as shared:
            kop = books.kop_desa(shared, session)
        if row.buku == "B.1":
            buku = books.buku_induk(session, kop)
        else:
            buku = books.buku_mutasi(session, kop, dari=date.fromisoformat(row.parameter["dari"]),
                                     sampai=date.fromisoformat(row.parameter["sampai"]))
        content, rows = books.render(buku, row.format)
        session.execute(text("UPDATE berkas_laporan SET isi = :isi, baris = :n, nama_berkas = :nama, "
                             "status = 'selesai', selesai_pada = now() WHERE id = :i"),
                        {"isi": content, "n": rows, "nama": f"{buku.berkas}.{row.format}", "i": row.id})
        session.commit()
    return {"baris": rows}
