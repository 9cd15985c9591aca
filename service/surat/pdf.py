"""Rendering an issued letter: A4, kop surat, Indonesian dates, a signature block per level that signed,
and a QR code to the public verification page. Templates are Jinja in a sandbox: a desa's or kabupaten's
template can read the letter's data but call nothing."""

from __future__ import annotations

import base64
import io
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import segno
from babel.dates import format_date
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import text

from service.penduduk.models import Penduduk
from service.penduduk.referensi import label

if TYPE_CHECKING:
    from service.surat.models import PermohonanSurat
    from service.surat.services import Jenis
    from tenants.session import DesaSession


def tanggal(value: date | datetime | str | None) -> str:
    """17 Agustus 1988."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return format_date(value, "d MMMM y", locale="id")


@lru_cache(maxsize=1)
def _page_env() -> Environment:
    env = Environment(loader=PackageLoader("service.surat", "templates"), autoescape=select_autoescape(["html"]))
    env.filters["tanggal"] = tanggal
    return env


@lru_cache(maxsize=1)
def _body_env() -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
    env.filters["tanggal"] = tanggal
    return env


def check_template(source: str, context: dict[str, Any]) -> str:
    """Compile and render a letter body; raises ``jinja2.TemplateError`` with the problem (checked on save)."""
    return _body_env().from_string(source).render(**context)


def letter_context(session: DesaSession, permohonan: PermohonanSurat, penandatangan_jabatan: str) -> dict[str, Any]:
    penduduk = session.get(Penduduk, permohonan.penduduk_id)
    names = dict(session.execute(text("SELECT kunci, nilai FROM pengaturan")).all())
    return {
        "desa": desa_context(session, names),
        "penduduk": {
            "nama": penduduk.nama,
            "nik": penduduk.nik,
            "tempat_lahir": penduduk.tempat_lahir or "",
            "tanggal_lahir": tanggal(penduduk.tanggal_lahir),
            "jenis_kelamin": label("sex", penduduk.sex) or "",
            "agama": label("agama_id", penduduk.agama_id) or "",
            "pekerjaan": label("pekerjaan_id", penduduk.pekerjaan_id) or "",
            "alamat": penduduk.alamat_sekarang or "",
            "status_kawin": label("status_kawin", penduduk.status_kawin) or "",
        },
        "isian": dict(permohonan.isian),
        "penandatangan": {"jabatan": penandatangan_jabatan},
    }


def desa_context(session: DesaSession, names: dict[str, Any]) -> dict[str, Any]:
    """The ``desa`` part of a letter's context: names from the registry, local names from its settings."""
    kecamatan, kabupaten = _region_names(session.get_bind(), session.desa.kode)
    return {
        "nama": session.desa.nama,
        "kode": session.desa.kode,
        "kecamatan": kecamatan,
        "kabupaten": kabupaten,
        "sebutan_desa": names.get("sebutan_desa", "Desa"),
        "sebutan_kepala_desa": names.get("sebutan_kepala_desa", "Kepala Desa"),
        "alamat": names.get("alamat_kantor", ""),
    }


@lru_cache(maxsize=4096)
def _region_names(engine, desa_kode: str) -> tuple[str, str]:
    """Kecamatan and kabupaten names from the region registry, on a connection of its own (the desa role
    cannot read the shared schema); they never change, so each desa is looked up once per process."""
    from service.regions.services import get_region

    with engine.connect() as conn:
        kecamatan = get_region(conn, desa_kode.rsplit(".", 1)[0]).nama
        kabupaten = get_region(conn, ".".join(desa_kode.split(".")[:2])).nama
    return kecamatan, kabupaten


def qr_data_uri(url: str) -> str:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=3, border=1)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def render_letter(session: DesaSession, permohonan: PermohonanSurat, jenis: Jenis, *, verify_url: str) -> bytes:
    from weasyprint import HTML

    names = dict(session.execute(text("SELECT kunci, nilai FROM pengaturan")).all())
    jabatan = f"{names.get('sebutan_kepala_desa', 'Kepala Desa')} {session.desa.nama}"
    context = letter_context(session, permohonan, jabatan)
    body = check_template(names.get(f"surat_template:{jenis.kode}") or jenis.base.template, context)
    html = (
        _page_env()
        .get_template("surat.html")
        .render(
            context=context,
            body=body,
            judul=jenis.nama,
            nomor=permohonan.nomor,
            tanggal_surat=tanggal(permohonan.diterbitkan_pada),
            penandatangan=permohonan.penandatangan,
            qr=qr_data_uri(verify_url),
            verify_url=verify_url,
        )
    )
    from service.surat.pengaturan import data_only_url_fetcher

    # Only data: URLs (the QR code): a letter never makes WeasyPrint fetch files or network resources.
    return HTML(string=html, url_fetcher=data_only_url_fetcher()).write_pdf()
