"""Background reports (table ``berkas_laporan``): a Buku Induk/Mutasi PDF too large to lay out within a request
(``penduduk.buku_pdf``) and the export of a large register (``penduduk.ekspor``, ``buku = 'penduduk'``).

Progress (``persen``) lives in Redis only (``kawasan:laporan:<public id>:persen``, a day), not in the table: it
is worth nothing once the report is finished, and writing it needs no schema change. The report itself, its
status and the failure's name are in the row, written by the job's own desa session.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from sqlalchemy import text

from service.penduduk import buku as books
from service.regions.codes import parse_desa_kode, schema_name_for
from tenants.session import DesaSession
from workers.jobs import JobContext, handles

TOPIC = "penduduk.buku_pdf"
TOPIC_EKSPOR = "penduduk.ekspor"
#: ``berkas_laporan.buku`` of a register export (the books are "B.1", "B.2").
REGISTER = "penduduk"
KEMAJUAN_TTL = 24 * 3600
#: WeasyPrint's layout is one call without progress of its own: the bar advances on this estimate (seconds a
#: row on a 2-core machine, see ``laporan_resources.PDF_MAX_BARIS``) and waits at 95 % if the estimate is short.
DETIK_PER_BARIS_PDF = 0.03


def _kunci(public_id: Any) -> str:
    return f"kawasan:laporan:{public_id}:persen"


def kemajuan(redis, public_id: Any) -> int | None:
    """The percentage a running job last reported; ``None`` before it starts (or after a day)."""
    value = redis.get(_kunci(public_id))
    return int(value) if value is not None else None


def _catat(redis, public_id: Any) -> Callable[[float], None]:
    shown = [-1]

    def report(persen: float) -> None:
        persen = max(1, min(int(persen), 99))
        if persen > shown[0]:  # a few writes per job: only when the shown number changes
            shown[0] = persen
            redis.set(_kunci(public_id), persen, ex=KEMAJUAN_TTL)

    return report


def _dihitung(rows: Iterator[list[Any]], selesai: Callable[[int], None]) -> Iterator[list[Any]]:
    n = 0
    for n, row in enumerate(rows, 1):  # noqa: B007 - the count is the result
        yield row
    selesai(n)


class _Perkiraan(threading.Thread):
    """Moves the bar from ``dari`` towards 95 % over the estimated layout time, until stopped."""

    def __init__(self, report: Callable[[float], None], dari: float, detik: float):
        super().__init__(daemon=True)
        self.report, self.dari, self.detik, self.berhenti = report, dari, max(detik, 0.5), threading.Event()

    def run(self) -> None:
        mulai = time.monotonic()
        while not self.berhenti.wait(1.0):
            self.report(self.dari + (95 - self.dari) * min((time.monotonic() - mulai) / self.detik, 1.0))


def _render_book(session: DesaSession, shared_engine, row, report: Callable[[float], None]) -> tuple[bytes, int, str]:
    with shared_engine.connect() as shared:
        kop = books.kop_desa(shared, session)
    if row.buku == "B.1":
        buku = books.buku_induk(session, kop)
    else:
        buku = books.buku_mutasi(session, kop, dari=date.fromisoformat(row.parameter["dari"]),
                                 sampai=date.fromisoformat(row.parameter["sampai"]))
    perkiraan: list[_Perkiraan] = []

    def rows_read(n: int) -> None:
        report(20)
        if row.format == "pdf":
            perkiraan.append(_Perkiraan(report, 20, n * DETIK_PER_BARIS_PDF))
            perkiraan[0].start()

    buku.baris = _dihitung(buku.baris, rows_read)
    try:
        content, rows = books.render(buku, row.format)
    finally:
        for thread in perkiraan:
            thread.berhenti.set()
            thread.join()
    return content, rows, f"{buku.berkas}.{row.format}"


def _render_register(session: DesaSession, row, report: Callable[[float], None]) -> tuple[bytes, int, str]:
    from service.penduduk.impor import export_register

    total = session.scalar(text("SELECT count(*) FROM penduduk")) or 1
    content, rows = export_register(session, row.format, progress=lambda done: report(5 + 90 * done / total))
    return content, rows, f"penduduk_{session.desa.kode.replace('.', '')}.{row.format}"


@handles(TOPIC)
@handles(TOPIC_EKSPOR)
def render_report(ctx: JobContext, desa_kode: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    """Produce the report and store it; a finished report is never produced twice."""
    from service.runtime import get_runtime

    report = _catat(get_runtime().redis, payload["laporan"])
    try:
        with DesaSession(ctx.engine, desa_kode) as session:
            row = session.execute(text("SELECT id, buku, format, parameter, status FROM berkas_laporan "
                                       "WHERE public_id = :p FOR UPDATE"), {"p": payload["laporan"]}).first()
            if row is None or row.status == "selesai":
                return {"skip": True}
            report(5)
            if row.buku == REGISTER:
                content, rows, nama = _render_register(session, row, report)
            else:
                content, rows, nama = _render_book(session, ctx.engine, row, report)
            session.execute(text("UPDATE berkas_laporan SET isi = :isi, baris = :n, nama_berkas = :nama, "
                                 "status = 'selesai', galat = NULL, selesai_pada = now() WHERE id = :i"),
                            {"isi": content, "n": rows, "nama": nama, "i": row.id})
            session.commit()
    except Exception as exc:
        # Shown on the status page ("gagal, akan dicoba lagi"); the outbox retries with back-off. Only the
        # exception's name: its text could quote data.
        schema = schema_name_for(parse_desa_kode(desa_kode))
        with ctx.engine.begin() as conn:
            conn.execute(text(f'UPDATE "{schema}".berkas_laporan SET status = \'gagal\', galat = :g '
                              "WHERE public_id = :p AND status <> 'selesai'"),
                         {"g": type(exc).__name__, "p": payload["laporan"]})
        raise
    return {"baris": rows}
