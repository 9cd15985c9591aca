"""Layanan surat over HTTP: the desa desk and Layanan Mandiri (desa-scoped), the kecamatan/kabupaten inbox
(region-scoped) and the public verification page reached from the QR code."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, g, request
from flask.views import MethodView
from sqlalchemy import select, text

from service.api import Blueprint, problem
from service.audit.services import record
from service.auth.principal import Kind
from service.auth.roles import DESA_STAFF
from service.penduduk.models import Penduduk
from service.surat import katalog, services
from service.surat.models import LampiranPermohonan, Notifikasi, PermohonanSurat, RiwayatPermohonan
from service.surat.schemas import AjukanArgs, InboxArgs, KeputusanArgs, PermohonanListArgs
from service.tenancy import current_desa, current_region, desa_db
from tenants.session import DesaSession
from workers.outbox import emit

blp = Blueprint("surat", __name__, url_prefix="/api/v1", desa_scoped=True, description="Letters in the desa")
inbox_blp = Blueprint(
    "surat_kotak_masuk",
    __name__,
    url_prefix="/api/v1",
    region_scoped=True,
    description="Kecamatan and kabupaten inboxes",
)
verify_blp = Blueprint("verifikasi", __name__, url_prefix="/verifikasi", description="Public letter verification")

MAX_ATTACHMENT = 2 * 1024 * 1024
MAGIC = {b"%PDF": "application/pdf", b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


def _engine():
    return current_app.extensions["kawasan"].engine


def _base_url() -> str:
    return current_app.extensions["kawasan"].settings.public_url


def _permohonan_or_404(public_id: str) -> PermohonanSurat:
    try:
        wanted = uuid.UUID(public_id)
    except ValueError:
        wanted = None
    found = desa_db().scalar(select(PermohonanSurat).where(PermohonanSurat.public_id == wanted)) if wanted else None
    if found is None or not _may_see(found):
        problem(404, "permohonan tidak ditemukan / request not found", field="permohonan_id", location="path")
    return found


def _may_see(permohonan: PermohonanSurat) -> bool:
    """Staff of the desa see everything; a warga sees their own and their family's requests."""
    principal = g.principal
    if principal.kind is not Kind.WARGA:
        return True
    if permohonan.pemohon == principal.subject:
        return True
    session = desa_db()
    mine = session.get(Penduduk, principal.penduduk_id)
    subject = session.get(Penduduk, permohonan.penduduk_id)
    return bool(mine and subject and mine.keluarga_id and mine.keluarga_id == subject.keluarga_id)


def _view(session: DesaSession, p: PermohonanSurat, *, with_history: bool = True) -> dict[str, Any]:
    penduduk = session.get(Penduduk, p.penduduk_id)
    out = {
        "id": str(p.public_id),
        "jenis": p.jenis_kode,
        "jenis_nama": katalog.BY_KODE[p.jenis_kode].nama,
        "status": p.status,
        "rantai": p.rantai,
        "putaran": p.putaran,
        "isian": p.isian,
        "nomor": p.nomor,
        "penduduk": {"id": str(penduduk.public_id), "nama": penduduk.nama},
        "alasan": p.alasan,
        "penandatangan": p.penandatangan,
        "diterbitkan_pada": p.diterbitkan_pada,
        "dibuat_pada": p.dibuat_pada,
        "lampiran_kurang": services.lampiran_kurang(session, p),
        "lampiran": [
            {"id": a.id, "nama": a.nama, "nama_berkas": a.nama_berkas, "mime": a.mime, "ukuran": a.ukuran}
            for a in session.scalars(
                select(LampiranPermohonan)
                .where(LampiranPermohonan.permohonan_id == p.id)
                .order_by(LampiranPermohonan.id)
            )
        ],
    }
    if with_history:
        out["riwayat"] = [
            {
                "waktu": h.waktu,
                "tingkat": h.tingkat,
                "aksi": h.aksi,
                "status": h.status,
                "oleh": h.oleh_nama,
                "peran": h.peran,
                "catatan": h.catatan,
            }
            for h in session.scalars(
                select(RiwayatPermohonan).where(RiwayatPermohonan.permohonan_id == p.id).order_by(RiwayatPermohonan.id)
            )
        ]
    return out


def _act(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except services.WrongState as exc:
        problem(409, str(exc), field="status")
    except services.NotAllowed as exc:
        problem(403, str(exc))
    except services.InvalidRequest as exc:
        problem(422, str(exc), field=exc.field)


# --- catalogue and requests -----------------------------------------------------------------------------


@blp.route("/surat/jenis")
class JenisList(MethodView):
    @blp.requires(*DESA_STAFF, warga=True)
    def get(self):
        """Letter types as they apply in this desa (a warga sees those requestable online)"""
        session = desa_db()
        items = []
        for base in katalog.KATALOG:
            jenis = services.resolve_jenis(session, base.kode)
            if g.principal.kind is Kind.WARGA and not jenis.mandiri:
                continue
            items.append(
                {
                    "kode": jenis.kode,
                    "nama": jenis.nama,
                    "kode_klasifikasi": jenis.kode_klasifikasi,
                    "rantai": jenis.rantai,
                    "mandiri": jenis.mandiri,
                    "isian": [{"kode": i.kode, "nama": i.nama, "tipe": i.tipe, "wajib": i.wajib} for i in base.isian],
                    "lampiran": list(base.lampiran),
                }
            )
        return items


@blp.route("/surat/permohonan")
class PermohonanList(MethodView):
    @blp.requires(*DESA_STAFF, warga=True)
    @blp.arguments(PermohonanListArgs, location="query")
    def get(self, args):
        """Requests: the desk's queue for staff; own and family's for a warga"""
        session = desa_db()
        query = select(PermohonanSurat)
        if g.principal.kind is Kind.WARGA:
            me = session.get(Penduduk, g.principal.penduduk_id)
            family = (
                select(Penduduk.id).where(Penduduk.keluarga_id == me.keluarga_id)
                if me and me.keluarga_id
                else select(Penduduk.id).where(Penduduk.id == g.principal.penduduk_id)
            )
            query = query.where(
                (PermohonanSurat.pemohon == g.principal.subject) | PermohonanSurat.penduduk_id.in_(family)
            )
        if args.get("status"):
            query = query.where(PermohonanSurat.status == args["status"])
        if args.get("jenis"):
            query = query.where(PermohonanSurat.jenis_kode == args["jenis"])
        if args.get("before_id"):
            query = query.where(PermohonanSurat.id < args["before_id"])
        rows = session.scalars(query.order_by(PermohonanSurat.id.desc()).limit(args["limit"])).all()
        return [{**_view(session, p, with_history=False), "_id": p.id} for p in rows]

    @blp.requires(*DESA_STAFF, warga=True)
    @blp.arguments(AjukanArgs)
    def post(self, args):
        """Request a letter: a warga for self or family, or an operator at the counter"""
        session = desa_db()
        if args.get("penduduk_id"):
            penduduk = session.scalar(select(Penduduk).where(Penduduk.public_id == args["penduduk_id"]))
            if penduduk is None:
                problem(422, "penduduk tidak ditemukan / unknown resident", field="penduduk_id")
        elif g.principal.kind is Kind.WARGA:
            penduduk = session.get(Penduduk, g.principal.penduduk_id)
        else:
            problem(422, "penduduk_id wajib di loket / required at the counter", field="penduduk_id")
        permohonan = _act(
            services.ajukan,
            session,
            actor=g.principal,
            jenis_kode=args["jenis"],
            penduduk=penduduk,
            isian=args["isian"],
        )
        session.commit()
        record(
            _engine(),
            "surat_diajukan",
            aktor=g.principal,
            desa_kode=current_desa().kode,
            objek=f"permohonan:{permohonan.public_id}",
        )
        return _view(session, permohonan), 201


@blp.route("/surat/permohonan/<permohonan_id>")
class PermohonanItem(MethodView):
    @blp.requires(*DESA_STAFF, warga=True)
    def get(self, permohonan_id):
        """A request with its attachments and full history (every level)"""
        return _view(desa_db(), _permohonan_or_404(permohonan_id))


@blp.route("/surat/permohonan/<permohonan_id>/lampiran")
class Lampiran(MethodView):
    @blp.requires(*DESA_STAFF, warga=True)
    def post(self, permohonan_id):
        """Attach a required document (PDF, JPEG or PNG, checked by content; at most 2 MB)"""
        session = desa_db()
        permohonan = _permohonan_or_404(permohonan_id)
        upload = request.files.get("berkas")
        nama = request.form.get("nama", "")
        if upload is None:
            problem(422, "unggah berkas di field 'berkas' / upload a file in field 'berkas'", field="berkas")
        data = upload.read(MAX_ATTACHMENT + 1)
        if len(data) > MAX_ATTACHMENT:
            problem(413, "berkas lebih dari 2 MB / file larger than 2 MB", field="berkas")
        mime = next((m for magic, m in MAGIC.items() if data.startswith(magic)), None)
        if not data or mime is None:
            problem(415, "hanya PDF, JPEG atau PNG / only PDF, JPEG or PNG", field="berkas")
        _act(
            services.tambah_lampiran,
            session,
            permohonan,
            nama=nama,
            nama_berkas=upload.filename or "berkas",
            mime=mime,
            isi=data,
            actor=g.principal,
        )
        session.commit()
        return _view(session, permohonan), 201


@blp.route("/surat/permohonan/<permohonan_id>/lampiran/<int:lampiran_id>")
class LampiranFile(MethodView):
    @blp.requires(*DESA_STAFF, warga=True)
    def get(self, permohonan_id, lampiran_id):
        """Download an attachment"""
        permohonan = _permohonan_or_404(permohonan_id)
        lampiran = desa_db().get(LampiranPermohonan, lampiran_id)
        if lampiran is None or lampiran.permohonan_id != permohonan.id:
            problem(404, "lampiran tidak ditemukan / attachment not found", field="lampiran_id", location="path")
        return Response(
            lampiran.isi,
            mimetype=lampiran.mime,
            headers={"Content-Disposition": f'attachment; filename="lampiran-{lampiran.id}"'},
        )


def _transition(action: str):
    """A village action on a request (POST /surat/permohonan/<id>/<action>)."""

    def view(permohonan_id):
        session = desa_db()
        permohonan = _permohonan_or_404(permohonan_id)
        args = request.get_json(silent=True) or {}
        if action == "verifikasi":
            _act(services.verifikasi, session, permohonan, g.principal)
        elif action == "tandatangani":
            _act(services.tandatangani, session, permohonan, g.principal, base_url=_base_url())
        elif action in ("tolak", "kembalikan"):
            alasan = str(args.get("alasan", "")).strip()
            if len(alasan) < 3:
                problem(422, "alasan wajib / a reason is required", field="alasan")
            _act(
                services.tolak_atau_kembalikan,
                session,
                permohonan,
                g.principal,
                kembalikan=action == "kembalikan",
                alasan=alasan,
            )
        elif action == "ajukan-ulang":
            _act(services.ajukan_ulang, session, permohonan, g.principal, args.get("isian") or {})
        elif action == "batalkan":
            if g.principal.kind is Kind.WARGA and permohonan.pemohon != g.principal.subject:
                problem(403, "hanya pemohon yang dapat membatalkan / only the requester can cancel")
            _act(services.batalkan, session, permohonan, g.principal)
        elif action == "serahkan":
            _act(services.serahkan, session, permohonan, g.principal)
        session.commit()
        record(
            _engine(),
            f"surat_{action}",
            aktor=g.principal,
            desa_kode=current_desa().kode,
            objek=f"permohonan:{permohonan.public_id}",
        )
        return _view(session, permohonan)

    return view


_STAFF_ACTIONS = ("verifikasi", "tandatangani", "tolak", "kembalikan", "serahkan")
for _action in (*_STAFF_ACTIONS, "ajukan-ulang", "batalkan"):
    _fn = _transition(_action)
    _fn.__name__ = f"permohonan_{_action.replace('-', '_')}"
    _fn.__doc__ = f"Village action on a request: {_action}"
    _who = {"warga": _action not in _STAFF_ACTIONS}
    _fn = blp.requires(*DESA_STAFF, **_who)(_fn)
    blp.route(f"/surat/permohonan/<permohonan_id>/{_action}", methods=["POST"])(_fn)


@blp.route("/surat/permohonan/<permohonan_id>/pdf")
class PermohonanPdf(MethodView):
    @blp.requires(*DESA_STAFF, warga=True)
    def get(self, permohonan_id):
        """The issued, signed letter (PDF); reprintable"""
        permohonan = _permohonan_or_404(permohonan_id)
        if permohonan.nomor is None:
            problem(409, f"surat belum terbit (status {permohonan.status}) / not issued yet", field="status")
        pdf = desa_db().scalar(select(PermohonanSurat.pdf).where(PermohonanSurat.id == permohonan.id))
        record(
            _engine(),
            "surat_diunduh",
            aktor=g.principal,
            desa_kode=current_desa().kode,
            objek=f"permohonan:{permohonan.public_id}",
        )
        return Response(
            pdf,
            mimetype="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="surat-{permohonan.public_id}.pdf"'},
        )


@blp.route("/surat/notifikasi")
class Notifications(MethodView):
    @blp.requires(*DESA_STAFF, warga=True)
    def get(self):
        """In-app notifications for me (and for my roles in this desa)"""
        session = desa_db()
        mine = [g.principal.subject] + [f"{grant.peran.value}@{current_desa().kode}" for grant in g.principal.grants]
        rows = session.scalars(
            select(Notifikasi).where(Notifikasi.penerima.in_(mine)).order_by(Notifikasi.id.desc()).limit(100)
        ).all()
        return [
            {
                "id": n.id,
                "judul": n.judul,
                "isi": n.isi,
                "dibuat_pada": n.dibuat_pada,
                "dibaca": n.dibaca_pada is not None,
            }
            for n in rows
        ]


# --- kecamatan / kabupaten inbox ------------------------------------------------------------------------

UPPER = ("staf_kecamatan", "camat", "staf_kabupaten", "admin_kabupaten")
APPROVERS = {katalog.KECAMATAN: "camat", katalog.KABUPATEN: "admin_kabupaten"}


def _item(conn, item_id: int):
    row = conn.execute(text("SELECT * FROM kawasan.kotak_masuk WHERE id = :i"), {"i": item_id}).first()
    region = current_region()
    if row is None or not (row.desa_kode.startswith(region + ".")):
        problem(404, "item tidak ditemukan / item not found", field="item_id", location="path")
    return row


def _inbox_view(row, now: datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "desa": row.desa_kode,
        "permohonan": str(row.permohonan_id),
        "putaran": row.putaran,
        "tingkat": row.tingkat,
        "jenis": row.jenis_kode,
        "jenis_nama": row.jenis_nama,
        "pemohon_nama": row.pemohon_nama,
        "status": row.status,
        "masuk_pada": row.masuk_pada,
        "batas_waktu": row.batas_waktu,
        "terlambat": row.status == "menunggu" and row.batas_waktu < now,
        "keputusan": row.keputusan,
        "alasan": row.alasan,
        "diputus_pada": row.diputus_pada,
        "diputus_nama": row.diputus_nama,
        "jam_di_tingkat": round(((row.diputus_pada or now) - row.masuk_pada).total_seconds() / 3600, 1),
    }


@inbox_blp.route("/kotak-masuk")
class Inbox(MethodView):
    @inbox_blp.requires(*UPPER)
    @inbox_blp.arguments(InboxArgs, location="query")
    def get(self, args):
        """The inbox of a kecamatan (or kabupaten): overdue first, then oldest first"""
        region = current_region()
        where = ["status = :status"] if args["status"] == "menunggu" else ["status <> 'menunggu'"]
        params: dict[str, Any] = {"status": "menunggu", "region": region, "like": region + ".%", "limit": args["limit"]}
        where.append("desa_kode LIKE :like" if args["semua"] else "scope_kode = :region")
        if args.get("desa"):
            where.append("desa_kode = :desa")
            params["desa"] = args["desa"]
        if args.get("jenis"):
            where.append("jenis_kode = :jenis")
            params["jenis"] = args["jenis"]
        if args.get("terlambat"):
            where.append("status = 'menunggu' AND batas_waktu < now()")
        if args.get("umur_min_jam") is not None:
            where.append("masuk_pada <= now() - make_interval(hours => :umur)")
            params["umur"] = args["umur_min_jam"]
        with _engine().connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT * FROM kawasan.kotak_masuk WHERE {' AND '.join(where)} "
                    "ORDER BY (status = 'menunggu' AND batas_waktu < now()) DESC, masuk_pada LIMIT :limit"
                ),
                params,
            ).all()
        now = datetime.now(UTC)
        return [_inbox_view(r, now) for r in rows]


@inbox_blp.route("/kotak-masuk/<int:item_id>")
class InboxItem(MethodView):
    @inbox_blp.requires(*UPPER)
    def get(self, item_id):
        """One item with the draft: the request, its attachments and its history, read from the desa"""
        with _engine().connect() as conn:
            row = _item(conn, item_id)
        with DesaSession(_engine(), row.desa_kode) as session:
            permohonan = session.scalar(select(PermohonanSurat).where(PermohonanSurat.public_id == row.permohonan_id))
            draft = _view(session, permohonan)
        record(
            _engine(),
            "baca_data_pribadi",
            aktor=g.principal,
            desa_kode=row.desa_kode,
            objek=f"permohonan:{row.permohonan_id}",
        )
        return {**_inbox_view(row, datetime.now(UTC)), "permohonan_detail": draft}


@inbox_blp.route("/kotak-masuk/<int:item_id>/lampiran/<int:lampiran_id>")
class InboxAttachment(MethodView):
    @inbox_blp.requires(*UPPER)
    def get(self, item_id, lampiran_id):
        """Open one of the request's attachments (read from the desa; audited)"""
        with _engine().connect() as conn:
            row = _item(conn, item_id)
        with DesaSession(_engine(), row.desa_kode) as session:
            permohonan = session.scalar(select(PermohonanSurat).where(PermohonanSurat.public_id == row.permohonan_id))
            lampiran = session.get(LampiranPermohonan, lampiran_id)
            if lampiran is None or lampiran.permohonan_id != permohonan.id:
                problem(404, "lampiran tidak ditemukan / attachment not found", field="lampiran_id", location="path")
            data, mime = lampiran.isi, lampiran.mime
        record(
            _engine(),
            "baca_data_pribadi",
            aktor=g.principal,
            desa_kode=row.desa_kode,
            objek=f"lampiran:{row.permohonan_id}:{lampiran_id}",
        )
        return Response(
            data, mimetype=mime, headers={"Content-Disposition": f'inline; filename="lampiran-{lampiran_id}"'}
        )


@inbox_blp.route("/kotak-masuk/<int:item_id>/draf")
class InboxDraft(MethodView):
    @inbox_blp.requires(*UPPER)
    def get(self, item_id):
        """The letter as it will be issued (PDF draft without a number), to read beside the decision"""
        from service.surat.pdf import render_letter

        with _engine().connect() as conn:
            row = _item(conn, item_id)
        with DesaSession(_engine(), row.desa_kode) as session:
            permohonan = session.scalar(select(PermohonanSurat).where(PermohonanSurat.public_id == row.permohonan_id))
            jenis = services.resolve_jenis(session, permohonan.jenis_kode)
            session.expunge(permohonan)  # a detached copy: the draft number below is never written
            permohonan.nomor = "DRAF"
            pdf = render_letter(session, permohonan, jenis, verify_url=f"{_base_url()}/verifikasi/DRAF")
            session.rollback()
        record(
            _engine(),
            "baca_data_pribadi",
            aktor=g.principal,
            desa_kode=row.desa_kode,
            objek=f"draf:{row.permohonan_id}",
        )
        return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": 'inline; filename="draf.pdf"'})


@inbox_blp.route("/kotak-masuk/<int:item_id>/keputusan")
class Decide(MethodView):
    @inbox_blp.requires(*UPPER)
    @inbox_blp.arguments(KeputusanArgs)
    def post(self, args, item_id):
        """Approve (the camat / kabupaten signs), reject with a reason, or return for correction"""
        principal = g.principal
        with _engine().begin() as conn:
            row = conn.execute(
                text("SELECT * FROM kawasan.kotak_masuk WHERE id = :i FOR UPDATE"), {"i": item_id}
            ).first()
            if row is None or not row.desa_kode.startswith(current_region() + "."):
                problem(404, "item tidak ditemukan / item not found", field="item_id", location="path")
            if row.status != "menunggu":
                if row.keputusan == args["keputusan"] and row.diputus_oleh == principal.subject:
                    return _inbox_view(row, datetime.now(UTC))  # the same decision again: nothing changes
                problem(409, f"item sudah diputus ({row.keputusan}) / already decided", field="status")
            level_roles = (
                ("staf_kecamatan", "camat")
                if row.tingkat == katalog.KECAMATAN
                else ("staf_kabupaten", "admin_kabupaten")
            )
            if not principal.has_role(tuple(_p(r) for r in level_roles), row.desa_kode):
                problem(403, f"item tingkat {row.tingkat} / this item is for the {row.tingkat}")
            approver = APPROVERS[row.tingkat]
            if args["keputusan"] == "setuju" and not principal.has_role((_p(approver),), row.desa_kode):
                problem(403, f"hanya {approver} yang menyetujui / only the {approver} approves")
            peran = next(
                gr.peran.value for gr in principal.grants if gr.peran.value in (*level_roles, "admin_platform")
            )
            jabatan = (
                f"Camat {_region_name(row.scope_kode)}"
                if row.tingkat == katalog.KECAMATAN
                else f"a.n. Bupati {_region_name(row.scope_kode)}"
            )
            conn.execute(
                text(
                    "UPDATE kawasan.kotak_masuk SET status = 'diputus', keputusan = :k, alasan = :a, "
                    "diputus_pada = now(), diputus_oleh = :o, diputus_nama = :n WHERE id = :i"
                ),
                {
                    "k": args["keputusan"],
                    "a": args.get("alasan"),
                    "o": principal.subject,
                    "n": principal.name,
                    "i": item_id,
                },
            )
            emit(
                conn,
                services.TOPIC_KEPUTUSAN,
                desa_kode=row.desa_kode,
                queue="default",
                key=f"{services.TOPIC_KEPUTUSAN}:{row.desa_kode}:{row.permohonan_id}:{row.putaran}:{row.tingkat}",
                payload={
                    "permohonan": str(row.permohonan_id),
                    "putaran": row.putaran,
                    "tingkat": row.tingkat,
                    "keputusan": args["keputusan"],
                    "alasan": args.get("alasan"),
                    "oleh": {"subject": principal.subject, "nama": principal.name, "peran": peran, "jabatan": jabatan},
                },
            )
            record(
                conn,
                f"surat_keputusan_{row.tingkat}",
                aktor=principal,
                desa_kode=row.desa_kode,
                objek=f"permohonan:{row.permohonan_id}",
                detail={"keputusan": args["keputusan"]},
            )
            updated = conn.execute(text("SELECT * FROM kawasan.kotak_masuk WHERE id = :i"), {"i": item_id}).one()
        return _inbox_view(updated, datetime.now(UTC))


def _p(role: str):
    from service.auth.roles import Peran

    return Peran(role)


def _region_name(kode: str) -> str:
    with _engine().connect() as conn:
        nama = conn.scalar(text("SELECT nama FROM kawasan.wilayah_administrasi WHERE kode = :k"), {"k": kode})
    return (nama or kode).removeprefix("Kabupaten ")


@inbox_blp.route("/sla")
class Sla(MethodView):
    @inbox_blp.requires(*UPPER)
    def get(self):
        """Time spent at each level and overdue items, per desa (and per kecamatan for a kabupaten)"""
        region = current_region()
        with _engine().connect() as conn:
            rows = conn.execute(
                text(
                    """SELECT desa_kode, tingkat, count(*) AS jumlah,
                          count(*) FILTER (WHERE status = 'menunggu') AS menunggu,
                          count(*) FILTER (WHERE status = 'menunggu' AND batas_waktu < now()) AS terlambat,
                          percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM
                              coalesce(diputus_pada, now()) - masuk_pada) / 3600) AS median_jam,
                          percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM
                              coalesce(diputus_pada, now()) - masuk_pada) / 3600) AS p90_jam
                   FROM kawasan.kotak_masuk WHERE desa_kode LIKE :like
                   GROUP BY GROUPING SETS ((desa_kode, tingkat), (tingkat))
                   ORDER BY desa_kode NULLS FIRST, tingkat"""
                ),
                {"like": region + ".%"},
            ).all()
        return {
            "wilayah": region,
            "ringkasan": [_sla(r) for r in rows if r.desa_kode is None],
            "per_desa": [{"desa": r.desa_kode, **_sla(r)} for r in rows if r.desa_kode is not None],
        }


def _sla(row) -> dict[str, Any]:
    return {
        "tingkat": row.tingkat,
        "jumlah": row.jumlah,
        "menunggu": row.menunggu,
        "terlambat": row.terlambat,
        "median_jam": round(row.median_jam or 0, 1),
        "p90_jam": round(row.p90_jam or 0, 1),
    }


# --- public verification --------------------------------------------------------------------------------


@verify_blp.route("/<token>")
@verify_blp.public
def verifikasi(token: str):
    """Public page behind the letter's QR code: type, number, date, signers and PDF hash; nothing personal"""
    with _engine().connect() as conn:
        row = conn.execute(text("SELECT * FROM kawasan.surat_terbit WHERE token = :t"), {"t": token}).first()
    if row is None:
        problem(404, "surat tidak dikenal / unknown letter", field="token", location="path")
    data = {
        "jenis": row.jenis_nama,
        "nomor": row.nomor,
        "diterbitkan_pada": row.diterbitkan_pada.isoformat(),
        "desa": row.desa_kode,
        "penandatangan": row.penandatangan,
        "pdf_sha256": row.pdf_sha256,
        "asli": True,
    }
    if request.accept_mimetypes.best == "application/json" or request.args.get("format") == "json":
        return data
    from flask import render_template_string

    return render_template_string(VERIFY_PAGE, d=data)


VERIFY_PAGE = """<!doctype html><html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Verifikasi surat {{ d.nomor }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
.ok{background:#e6f4ea;border:1px solid #1e7e34;padding:.75rem 1rem;border-radius:.5rem}
dt{font-weight:600;margin-top:.75rem}code{word-break:break-all}</style></head><body>
<h1>Verifikasi surat</h1><p class="ok">Surat ini <strong>asli</strong>: diterbitkan melalui Kawasan.</p>
<dl><dt>Jenis surat</dt><dd>{{ d.jenis }}</dd><dt>Nomor</dt><dd>{{ d.nomor }}</dd>
<dt>Tanggal terbit</dt><dd>{{ d.diterbitkan_pada[:10] }}</dd><dt>Kode desa</dt><dd>{{ d.desa }}</dd>
<dt>Ditandatangani oleh</dt>
<dd><ul>{% for s in d.penandatangan %}<li>{{ s.nama }}, {{ s.jabatan }}</li>{% endfor %}</ul></dd>
<dt>Sidik jari PDF (SHA-256)</dt><dd><code>{{ d.pdf_sha256 }}</code></dd></dl>
<p>Cocokkan sidik jari ini dengan berkas PDF yang Anda terima.</p></body></html>"""
