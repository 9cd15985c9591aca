"""Telling people about their letters: in-app rows (written with the change), and, by a job, an email when
SMTP is configured and an outgoing webhook when the desa set one (signed with HMAC-SHA256)."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Any

from sqlalchemy import text

from service.regions.codes import parse_desa_kode, schema_name_for
from service.runtime import get_runtime
from workers.jobs import JobContext, handles

TOPIC = "surat.kabar"


def _recipient_emails(ctx: JobContext, schema: str, penerima: str) -> list[str]:
    """A subject (``warga:…``, ``staff:…``) or a role in the desa (``kepala_desa@15.08.14.2001``)."""
    if "@" in penerima and ":" not in penerima:
        peran, _, desa = penerima.partition("@")
        return list(ctx.conn.scalars(text(
            "SELECT a.email FROM kawasan.akun a JOIN kawasan.peran_akun p ON p.akun_id = a.id "
            "WHERE p.peran = :peran AND p.scope_kode = :desa AND a.aktif AND a.email IS NOT NULL"),
            {"peran": peran, "desa": desa}))
    kind, _, rest = penerima.partition(":")
    if kind == "warga":
        pid = rest.rsplit(":", 1)[-1]
        email = ctx.conn.scalar(text(f'SELECT email FROM "{schema}".penduduk WHERE id = :i'), {"i": int(pid)})
        return [email] if email else []
    if kind == "staff":
        email = ctx.conn.scalar(text("SELECT email FROM kawasan.akun WHERE id = :i"), {"i": int(rest)})
        return [email] if email else []
    return []


@handles(TOPIC)
def deliver(ctx: JobContext, desa_kode: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    settings = get_runtime().settings
    schema = schema_name_for(parse_desa_kode(desa_kode))
    done: dict[str, Any] = {}
    row = ctx.conn.execute(
        text(
            f'SELECT s.pemohon, s.status, s.jenis_kode, s.nomor FROM "{schema}".permohonan_surat s '
            "WHERE s.public_id = :p"
        ),
        {"p": payload["permohonan"]},
    ).first()
    if row is None:
        return {"skip": "permohonan tidak ada"}
    settings_rows = dict(
        ctx.conn.execute(
            text(f"""SELECT kunci, nilai FROM "{schema}".pengaturan WHERE kunci IN ('webhook_url', 'webhook_secret')""")
        ).all()
    )
    event = {
        "event": "surat.status",
        "desa": desa_kode,
        "permohonan": payload["permohonan"],
        "status": payload.get("status", row.status),
        "judul": payload.get("judul"),
        "jenis": row.jenis_kode,
        "nomor": row.nomor,
    }
    if settings_rows.get("webhook_url"):
        body = json.dumps(event).encode()
        signature = hmac.new(str(settings_rows.get("webhook_secret", "")).encode(), body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            settings_rows["webhook_url"],
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "X-Kawasan-Signature": f"sha256={signature}"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # a failure raises: the outbox retries
            done["webhook"] = response.status
    if settings.smtp_host:
        for address in _recipient_emails(ctx, schema, payload.get("penerima") or row.pemohon):
            message = EmailMessage()
            message["From"], message["To"] = settings.smtp_from, address
            message["Subject"] = f"[Kawasan] {payload.get('judul') or 'Status surat'}"
            message.set_content(
                f"Status permohonan surat Anda: {event['status']}.\n"
                f"{'Nomor: ' + row.nomor if row.nomor else ''}\n"
                "Lihat rinciannya di Layanan Mandiri desa Anda."
            )
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
                smtp.send_message(message)
            done["email"] = True
    return done
