"""Letter settings over HTTP: a desa's own settings and templates (desa-scoped) and a kabupaten's overrides of
the catalogue (region-scoped)."""

from __future__ import annotations

import marshmallow as ma
from flask import Response, current_app, g
from flask.views import MethodView

from service.api import Blueprint, Schema, problem
from service.audit.services import record
from service.auth.roles import DESA_STAFF
from service.regions.codes import parse_kode
from service.surat import katalog, pengaturan
from service.surat.services import InvalidRequest
from service.tenancy import current_desa, current_region, desa_db

blp = Blueprint(
    "surat_pengaturan",
    __name__,
    url_prefix="/api/v1",
    desa_scoped=True,
    description="A desa's letter settings: number format, verification chain, classification, webhook, templates",
)
kabupaten_blp = Blueprint(
    "surat_katalog_kabupaten",
    __name__,
    url_prefix="/api/v1",
    region_scoped=True,
    description="A kabupaten's overrides of the letter catalogue (approval chain, requestable online)",
)

EDITORS = ("sekdes", "kepala_desa")
READERS_UPPER = ("staf_kabupaten", "admin_kabupaten", "camat", "staf_kecamatan")


def _engine():
    return current_app.extensions["kawasan"].engine


class _Skema(ma.fields.Field):
    """``"78"``/``"83"`` (a number is accepted too); stored as the string :mod:`service.surat.services` compares."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ma.ValidationError("78 atau 83 / one of 78, 83")
        value = str(value).strip()
        if value not in pengaturan.SKEMA:
            raise ma.ValidationError("78 (Permendagri 78/2012) atau 83 (Permendagri 83/2022) / one of 78, 83")
        return value


class SuratPengaturanArgs(Schema):
    """Any subset of the settings; a field sent as ``null`` goes back to its default."""

    format_nomor = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=100),
        metadata={
            "description": "Placeholders: [kode_klasifikasi] [nomor] [nomor,N] (N 1–6, zero-padded) [kode_desa] "
            "[bulan_romawi] [bulan] [tahun]; must contain [nomor] or [nomor,N] and [tahun]",
            "example": "[kode_klasifikasi]/[nomor,3]/[kode_desa]/[bulan_romawi]/[tahun]",
        },
    )
    nomor_per = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(pengaturan.NOMOR_PER))
    rantai_verifikasi = ma.fields.List(
        ma.fields.String(),
        allow_none=True,
        metadata={"description": "Ordered subset of operator_desa, sekdes, kepala_desa; ends with kepala_desa",
                  "example": ["sekdes", "kepala_desa"]},
    )
    skema_klasifikasi = _Skema(allow_none=True, metadata={"type": "string", "enum": list(pengaturan.SKEMA)})
    kode_desa = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Regexp(pengaturan.KODE_DESA_RE, error="1–20 karakter A-Z a-z 0-9 . - / 1-20 of those"),
    )
    klasifikasi = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Raw(allow_none=True),
        allow_none=True,
        metadata={"description": "Letter type → classification code (a code null: back to the scheme's default; "
                  "the whole map null: every code back to the default)",
                  "example": {"DOM": "400.12.2.1"}},
    )
    webhook_url = ma.fields.String(
        allow_none=True,
        validate=[
            ma.validate.Length(max=500),
            ma.validate.URL(schemes={"http", "https"}, require_tld=False, error="URL http/https / an http(s) URL"),
        ],
    )
    webhook_secret = ma.fields.String(
        allow_none=True,
        load_only=True,
        validate=ma.validate.Length(min=16, max=200),
        metadata={"description": "HMAC-SHA256 key for X-Kawasan-Signature (write-only)"},
    )


class SuratTemplateArgs(Schema):
    template = ma.fields.String(required=True, metadata={"description": "Letter body: HTML with sandboxed Jinja"})


class SuratPratinjauArgs(Schema):
    template = ma.fields.String(metadata={"description": "Preview this body instead of the stored one (not saved)"})


class JenisKabupatenArgs(Schema):
    rantai = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(katalog.RANTAI))
    mandiri = ma.fields.Boolean(allow_none=True, truthy={True}, falsy={False})

    @ma.validates_schema
    def something(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("isi rantai dan/atau mandiri / send rantai and/or mandiri", "rantai")


def _jenis_or_404(jenis_kode: str) -> katalog.JenisSurat:
    base = katalog.BY_KODE.get(jenis_kode)
    if base is None:
        problem(404, f"jenis surat {jenis_kode!r} tidak dikenal / unknown letter type", field="jenis_kode",
                location="path")
    return base


def _checked(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except InvalidRequest as exc:
        problem(422, str(exc), field=exc.field)


# --- desa settings --------------------------------------------------------------------------------------


@blp.route("/surat/pengaturan")
class Pengaturan(MethodView):
    @blp.requires(*DESA_STAFF)
    def get(self):
        """The letter settings in effect in this desa (the webhook secret is never shown, only whether it is set)"""
        return pengaturan.effective_settings(desa_db())

    @blp.requires(*EDITORS)
    @blp.arguments(SuratPengaturanArgs)
    def put(self, args):
        """Change letter settings (any subset; null resets a field); the answer shows a sample number"""
        session = desa_db()
        if not args:
            return pengaturan.effective_settings(session)
        detail = _checked(pengaturan.save_settings, session, args)
        session.commit()
        record(_engine(), "pengaturan_surat_diubah", aktor=g.principal, desa_kode=current_desa().kode,
               objek="pengaturan:surat", detail=detail)
        return pengaturan.effective_settings(session)


@blp.route("/surat/jenis/<jenis_kode>/template")
class Template(MethodView):
    @blp.requires(*DESA_STAFF)
    def get(self, jenis_kode):
        """The letter body used in this desa (its own, or the catalogue's) and the fields it may use"""
        base = _jenis_or_404(jenis_kode)
        session = desa_db()
        own = pengaturan.stored_template(session, jenis_kode)
        sample = pengaturan.sample_context(session, base)
        return {
            "jenis": base.kode,
            "template": own or base.template,
            "khusus": own is not None,
            "bawaan": base.template,
            "variabel": {name: sorted(value) for name, value in sample.items()},
        }

    @blp.requires(*EDITORS)
    @blp.arguments(SuratTemplateArgs)
    def put(self, args, jenis_kode):
        """Store this desa's body for a letter type; checked on save, answered with an HTML preview"""
        base = _jenis_or_404(jenis_kode)
        session = desa_db()
        html = _checked(pengaturan.check_letter_template, session, base, args["template"])
        _checked(pengaturan.save_template, session, base.kode, args["template"])
        session.commit()
        record(_engine(), "template_surat_diubah", aktor=g.principal, desa_kode=current_desa().kode,
               objek=f"jenis_surat:{base.kode}", detail=pengaturan.template_audit(args["template"]))
        return {"jenis": base.kode, "template": args["template"], "khusus": True, "pratinjau_html": html}

    @blp.requires(*EDITORS)
    def delete(self, jenis_kode):
        """Go back to the catalogue's body for this letter type"""
        base = _jenis_or_404(jenis_kode)
        session = desa_db()
        pengaturan.save_template(session, base.kode, None)
        session.commit()
        record(_engine(), "template_surat_dihapus", aktor=g.principal, desa_kode=current_desa().kode,
               objek=f"jenis_surat:{base.kode}")
        return {"jenis": base.kode, "template": base.template, "khusus": False}


@blp.route("/surat/jenis/<jenis_kode>/pratinjau")
class Pratinjau(MethodView):
    @blp.requires(*DESA_STAFF)
    @blp.arguments(SuratPratinjauArgs, required=False)
    @blp.response(200, description="The sample letter (PDF)", content_type="application/pdf")
    def post(self, args, jenis_kode):
        """A sample letter as a PDF, from the submitted body (checked, not saved) or the one in use"""
        base = _jenis_or_404(jenis_kode)
        session = desa_db()
        source = args.get("template") or pengaturan.template_for(session, base)
        html = _checked(pengaturan.check_letter_template, session, base, source)
        pdf = pengaturan.preview_pdf(
            session, base.kode, html, base_url=current_app.extensions["kawasan"].settings.public_url
        )
        return Response(pdf, mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="pratinjau-{base.kode}.pdf"'})


# --- kabupaten overrides --------------------------------------------------------------------------------


@kabupaten_blp.route("/surat/jenis")
class KabupatenJenisList(MethodView):
    @kabupaten_blp.requires(*READERS_UPPER)
    def get(self):
        """The catalogue as it applies in this kabupaten (a kecamatan sees its kabupaten's): chain and online"""
        kabupaten = pengaturan.kabupaten_of(current_region())
        with _engine().connect() as conn:
            return pengaturan.kabupaten_catalogue(conn, kabupaten)


@kabupaten_blp.route("/surat/jenis/<jenis_kode>")
class KabupatenJenis(MethodView):
    @kabupaten_blp.requires("admin_kabupaten")
    @kabupaten_blp.arguments(JenisKabupatenArgs)
    def put(self, args, jenis_kode):
        """Set the kabupaten's approval chain and/or online availability for a letter type (null: the default).
        Requests already made keep the chain they started with."""
        region = current_region()
        if len(parse_kode(region).parts) != 2:
            problem(422, f"{region!r} bukan kabupaten / overrides are set on a kabupaten", field="wilayah",
                    location="path")
        base = _jenis_or_404(jenis_kode)
        with _engine().begin() as conn:
            detail = pengaturan.set_kabupaten_override(conn, region, base.kode, args, oleh=g.principal.subject)
            record(conn, "jenis_surat_kabupaten_diubah", aktor=g.principal, objek=f"jenis_surat:{region}:{base.kode}",
                   detail=detail)
            items = pengaturan.kabupaten_catalogue(conn, region)
        return next(item for item in items if item["kode"] == base.kode)
