"""``/api/v1/desa/{kode}/…``: the population register (penduduk, keluarga, wilayah, peristiwa, mutasi).

NIKs never travel in URLs: residents and families are addressed by their public id, look-ups by NIK are
POST bodies. Every read or change of personal data is audited (counts and public ids, never NIKs).
Edits need ``If-Match`` with the ETag of the version being edited (412 when stale, 428 when missing).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import current_app, g, request
from flask.views import MethodView
from sqlalchemy import func, select

from service.api import Blueprint, problem
from service.audit.services import record
from service.auth.roles import DESA_STAFF
from service.penduduk import schemas, services
from service.penduduk.models import Keluarga, MutasiPenduduk, Penduduk, Wilayah
from service.penduduk.referensi import LISTS, PERISTIWA, label
from service.tenancy import current_desa, desa_db

blp = Blueprint("penduduk", __name__, url_prefix="/api/v1", desa_scoped=True,
                description="Population register of one desa")
referensi_blp = Blueprint("referensi", __name__, url_prefix="/api/v1/referensi",
                          description="Code lists (OpenSID codes)")

READERS = DESA_STAFF
JENIS_KELUAR = {"mati": services.MATI, "pindah_keluar": services.PINDAH_KELUAR, "hilang": services.HILANG,
                "pergi": services.PERGI}


def _engine():
    return current_app.extensions["kawasan"].engine


def _audit(aksi: str, **detail: Any) -> None:
    record(_engine(), aksi, aktor=g.principal, desa_kode=current_desa().kode,
           objek=detail.pop("objek", None), detail=detail)


def _etag(versi: int) -> str:
    return f'W/"{versi}"'


def _require_match(current: int) -> None:
    header = request.headers.get("If-Match")
    if not header:
        problem(428, "If-Match wajib (ETag versi yang diubah) / If-Match is required", field="If-Match",
                location="headers")
    wanted = {tag.strip() for tag in header.split(",")}
    if "*" not in wanted and _etag(current) not in wanted and f'"{current}"' not in wanted:
        problem(412, f"data sudah diubah orang lain (versi sekarang {current}) / changed since you loaded it",
                field="If-Match", location="headers")


def _errors(exc: services.InvalidData) -> None:
    errors = [{"field": f, "location": "json", "message": m} for f, m in exc.errors.items()]
    from flask_smorest import abort

    abort(422, message=str(exc), errors=errors)


def _listed(query, args: dict[str, Any]) -> services.Halaman:
    try:
        return query(desa_db(), args, limit=args["limit"])
    except services.InvalidData:
        problem(400, "cursor tidak sah / invalid cursor", field="after", location="query")


def _detail(session, penduduk: Penduduk, warnings: dict[str, str] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for column in Penduduk.__table__.columns:
        if column.name in ("id", "public_id", "nama_tsv", "versi", "keluarga_id"):
            continue
        value = getattr(penduduk, column.key)
        data[column.name] = value.isoformat() if isinstance(value, date) else value
        if column.name in LISTS:
            data[f"{column.name}_label"] = label(column.name, value)
    keluarga = None
    if penduduk.keluarga_id:
        row = session.get(Keluarga, penduduk.keluarga_id)
        keluarga = {"id": str(row.public_id), "no_kk": row.no_kk}
    return {"public_id": str(penduduk.public_id), "data": data, "keluarga": keluarga, "versi": penduduk.versi,
            "peringatan": warnings or {}}


def _input(args: dict[str, Any]) -> dict[str, Any]:
    """API names → register values (families by public id)."""
    values = {k: v for k, v in args.items() if k not in ("catatan", "peristiwa", "tanggal_peristiwa")}
    if "keluarga_id" in values:
        keluarga = desa_db().scalar(select(Keluarga.id).where(Keluarga.public_id == values["keluarga_id"]))
        if keluarga is None:
            problem(422, "keluarga tidak ditemukan / unknown family", field="keluarga_id")
        values["keluarga_id"] = keluarga
    return values


def _penduduk_or_404(public_id: str) -> Penduduk:
    try:
        return services.get_penduduk(desa_db(), uuid.UUID(public_id))
    except (ValueError, services.NotFound):
        problem(404, "penduduk tidak ditemukan / resident not found", field="penduduk_id", location="path")


def _keluarga_or_404(public_id: str) -> Keluarga:
    try:
        return services.get_keluarga(desa_db(), uuid.UUID(public_id))
    except (ValueError, services.NotFound):
        problem(404, "keluarga tidak ditemukan / family not found", field="keluarga_id", location="path")


# --- penduduk -------------------------------------------------------------------------------------------


@blp.route("/penduduk")
class PendudukList(MethodView):
    @blp.requires(*READERS, clients=("penduduk:read",))
    @blp.arguments(schemas.PendudukListArgs, location="query")
    @blp.response(200, schemas.PendudukPage)
    def get(self, args):
        """Residents, filtered, by name then id (keyset pagination: pass `next` as `after`)"""
        page = _listed(services.daftar_penduduk, args)
        _audit("baca_data_pribadi", objek="penduduk", jumlah=len(page.items))
        return {"items": page.items, "next": page.next}

    @blp.requires(*READERS)
    @blp.arguments(schemas.RegisterArgs)
    @blp.response(201, schemas.PendudukDetail)
    @blp.alt_response(409, description="NIK already registered in this desa (names the existing public id)")
    def post(self, args):
        """Register a resident (optionally as a birth or an arrival)"""
        session = desa_db()
        peristiwa = {"lahir": services.LAHIR, "datang": services.DATANG}.get(args.get("peristiwa"))
        try:
            saved = services.add_penduduk(session, _input(args), actor=g.principal.subject, peristiwa=peristiwa,
                                          tanggal=args.get("tanggal_peristiwa"), catatan=args.get("catatan"))
        except services.InvalidData as exc:
            _errors(exc)
        except services.DuplicateNik as exc:
            problem(409, str(exc), field="nik")
        session.commit()
        _audit("ubah_data_pribadi", objek=f"penduduk:{saved.penduduk.public_id}", aksi_register="tambah")
        return _detail(session, saved.penduduk, saved.warnings), 201, {"ETag": _etag(saved.penduduk.versi)}


@blp.route("/penduduk/cari")
class PendudukByNik(MethodView):
    @blp.requires(*READERS, clients=("penduduk:read",))
    @blp.arguments(schemas.NikLookupArgs)
    @blp.response(200, schemas.PendudukDetail)
    def post(self, args):
        """Find a resident by NIK (in the body, never in the URL)"""
        from service.penduduk.nik import normalize

        session = desa_db()
        penduduk = services.find_by_nik(session, normalize(args["nik"]))
        _audit("cari_nik", berhasil=penduduk is not None)
        if penduduk is None:
            problem(404, "NIK tidak terdaftar di desa ini / NIK not registered in this desa", field="nik")
        return _detail(session, penduduk), 200, {"ETag": _etag(penduduk.versi)}


@blp.route("/penduduk/<penduduk_id>")
class PendudukItem(MethodView):
    @blp.requires(*READERS, clients=("penduduk:read",))
    @blp.response(200, schemas.PendudukDetail)
    def get(self, penduduk_id):
        """One resident, with an ETag for editing"""
        session = desa_db()
        penduduk = _penduduk_or_404(penduduk_id)
        _audit("baca_data_pribadi", objek=f"penduduk:{penduduk.public_id}")
        return _detail(session, penduduk), 200, {"ETag": _etag(penduduk.versi)}

    @blp.requires(*READERS)
    @blp.arguments(schemas.PendudukInput)
    @blp.response(200, schemas.PendudukDetail)
    @blp.alt_response(412, description="If-Match does not match the current version")
    @blp.alt_response(428, description="If-Match missing")
    def patch(self, args, penduduk_id):
        """Correct data (koreksi): the mutation log keeps before and after"""
        session = desa_db()
        penduduk = _penduduk_or_404(penduduk_id)
        _require_match(penduduk.versi)
        try:
            saved = services.koreksi(session, penduduk, _input(args), actor=g.principal.subject,
                                     catatan=args.get("catatan"))
        except services.InvalidData as exc:
            _errors(exc)
        except services.DuplicateNik as exc:
            problem(409, str(exc), field="nik")
        session.commit()
        _audit("ubah_data_pribadi", objek=f"penduduk:{penduduk.public_id}", aksi_register="koreksi")
        return _detail(session, saved.penduduk, saved.warnings), 200, {"ETag": _etag(saved.penduduk.versi)}


@blp.route("/penduduk/<penduduk_id>/peristiwa")
class PendudukPeristiwa(MethodView):
    @blp.requires(*READERS)
    @blp.arguments(schemas.PeristiwaArgs)
    @blp.response(201, schemas.Mutasi)
    @blp.alt_response(409, description="The resident is no longer in the living register")
    def post(self, args, penduduk_id):
        """Record a death, a move out, a disappearance or a departure"""
        session = desa_db()
        penduduk = _penduduk_or_404(penduduk_id)
        if request.headers.get("If-Match"):
            _require_match(penduduk.versi)
        data = {k: args[k] for k in ("sebab", "tempat", "jenis_pindah", "tujuan") if k in args}
        try:
            entry = services.peristiwa_keluar(session, penduduk, JENIS_KELUAR[args["jenis"]], tanggal=args["tanggal"],
                                              actor=g.principal.subject, catatan=args.get("catatan"), data=data)
        except services.InvalidData as exc:
            field, message = next(iter(exc.errors.items()))
            problem(422, message, field=field)
        except services.WrongState as exc:
            problem(409, str(exc), field="status_dasar")
        session.commit()
        _audit("peristiwa_penduduk", objek=f"penduduk:{penduduk.public_id}", peristiwa=args["jenis"])
        return _mutasi(entry, penduduk), 201


def _mutasi(entry: MutasiPenduduk, penduduk: Penduduk) -> dict[str, Any]:
    return {"id": entry.id, "penduduk_public_id": str(penduduk.public_id), "nama": penduduk.nama,
            "kode_peristiwa": entry.kode_peristiwa, "peristiwa": PERISTIWA[entry.kode_peristiwa],
            "tanggal_peristiwa": entry.tanggal_peristiwa, "tanggal_lapor": entry.tanggal_lapor, "no_kk": entry.no_kk,
            "catatan": entry.catatan, "data": entry.data, "oleh": entry.oleh}


@blp.route("/mutasi")
class MutasiList(MethodView):
    @blp.requires(*READERS)
    @blp.arguments(schemas.MutasiArgs, location="query")
    @blp.response(200, schemas.Mutasi(many=True))
    def get(self, args):
        """The mutation log, newest first (keyset: pass the last id as before_id)"""
        session = desa_db()
        query = select(MutasiPenduduk, Penduduk).join(Penduduk, Penduduk.id == MutasiPenduduk.penduduk_id)
        if "kode_peristiwa" in args:
            query = query.where(MutasiPenduduk.kode_peristiwa == args["kode_peristiwa"])
        if "dari" in args:
            query = query.where(MutasiPenduduk.tanggal_peristiwa >= args["dari"])
        if "sampai" in args:
            query = query.where(MutasiPenduduk.tanggal_peristiwa <= args["sampai"])
        if "before_id" in args:
            query = query.where(MutasiPenduduk.id < args["before_id"])
        rows = session.execute(query.order_by(MutasiPenduduk.id.desc()).limit(args["limit"])).all()
        _audit("baca_data_pribadi", objek="mutasi", jumlah=len(rows))
        return [_mutasi(r.MutasiPenduduk, r.Penduduk) for r in rows]


# --- keluarga -------------------------------------------------------------------------------------------


def _keluarga_detail(session, keluarga: Keluarga) -> dict[str, Any]:
    members = services.anggota_keluarga(session, keluarga)
    history = services.riwayat_no_kk(session, keluarga)
    return {
        "id": str(keluarga.public_id), "no_kk": keluarga.no_kk, "alamat": keluarga.alamat,
        "wilayah_id": keluarga.wilayah_id, "kelas_sosial": keluarga.kelas_sosial, "aktif": keluarga.aktif,
        "versi": keluarga.versi,
        "kepala": next((str(m.public_id) for m in members if m.id == keluarga.kepala_id), None),
        "anggota": [{"id": str(m.public_id), "nama": m.nama, "nik": m.nik, "kk_level": m.kk_level,
                     "hubungan": label("kk_level", m.kk_level), "status_dasar": m.status_dasar} for m in members],
        "riwayat_no_kk": [{"no_kk": h.no_kk, "berlaku_dari": h.berlaku_dari.isoformat(),
                           "berlaku_sampai": h.berlaku_sampai.isoformat() if h.berlaku_sampai else None,
                           "sebab": h.sebab} for h in history],
    }


@blp.route("/keluarga")
class KeluargaList(MethodView):
    @blp.requires(*READERS, clients=("penduduk:read",))
    @blp.arguments(schemas.KeluargaListArgs, location="query")
    def get(self, args):
        """Active families by head's name (keyset pagination)"""
        page = _listed(services.daftar_keluarga, args)
        _audit("baca_data_pribadi", objek="keluarga", jumlah=len(page.items))
        return {
            "items": [{"id": str(r.public_id), "no_kk": r.no_kk, "kepala": r.kepala, "jumlah_anggota": r.jumlah,
                       "alamat": r.alamat, "wilayah_id": r.wilayah_id} for r in page.items],
            "next": page.next,
        }

    @blp.requires(*READERS)
    @blp.arguments(schemas.KeluargaInput)
    def post(self, args):
        """Create a family (its members are then registered or joined to it)"""
        session = desa_db()
        try:
            keluarga = services.create_keluarga(session, **args)
        except services.InvalidData as exc:
            _errors(exc)
        session.commit()
        _audit("ubah_data_pribadi", objek=f"keluarga:{keluarga.public_id}", aksi_register="keluarga_baru")
        return _keluarga_detail(session, keluarga), 201, {"ETag": _etag(keluarga.versi)}


@blp.route("/keluarga/<keluarga_id>")
class KeluargaItem(MethodView):
    @blp.requires(*READERS, clients=("penduduk:read",))
    def get(self, keluarga_id):
        """A family with its members and every KK number it has had"""
        session = desa_db()
        keluarga = _keluarga_or_404(keluarga_id)
        _audit("baca_data_pribadi", objek=f"keluarga:{keluarga.public_id}")
        return _keluarga_detail(session, keluarga), 200, {"ETag": _etag(keluarga.versi)}

    @blp.requires(*READERS)
    @blp.arguments(schemas.KeluargaEdit)
    def patch(self, args, keluarga_id):
        """Edit a family (a new KK number keeps the old one in the history); needs If-Match"""
        session = desa_db()
        keluarga = _keluarga_or_404(keluarga_id)
        _require_match(keluarga.versi)
        try:
            if "no_kk" in args and args["no_kk"] != keluarga.no_kk:
                if not args.get("sebab"):
                    problem(422, "sebab wajib saat nomor KK berubah / give the reason", field="sebab")
                services.ganti_no_kk(session, keluarga, args["no_kk"], sebab=args["sebab"])
            if "wilayah_id" in args:
                services._check_wilayah(session, args["wilayah_id"])
            for name in ("alamat", "wilayah_id", "kelas_sosial"):
                if name in args:
                    setattr(keluarga, name, args[name])
        except services.InvalidData as exc:
            _errors(exc)
        keluarga.diubah_pada = func.now()
        session.commit()
        _audit("ubah_data_pribadi", objek=f"keluarga:{keluarga.public_id}", aksi_register="ubah_keluarga")
        return _keluarga_detail(session, keluarga), 200, {"ETag": _etag(keluarga.versi)}


def _residents(public_ids: list[uuid.UUID]) -> list[Penduduk]:
    people = desa_db().scalars(select(Penduduk).where(Penduduk.public_id.in_(public_ids))).all()
    if len(people) != len(set(public_ids)):
        problem(422, "ada anggota yang tidak ditemukan / unknown member", field="anggota")
    return list(people)


@blp.route("/keluarga/<keluarga_id>/pecah")
class PecahKK(MethodView):
    @blp.requires(*READERS)
    @blp.arguments(schemas.PecahArgs)
    def post(self, args, keluarga_id):
        """Pecah KK: members leave and form a new family with its own KK number"""
        session = desa_db()
        keluarga = _keluarga_or_404(keluarga_id)
        anggota = _residents(args["anggota"])
        kepala = next((p for p in anggota if p.public_id == args["kepala"]), None)
        if kepala is None:
            problem(422, "kepala harus salah satu anggota / the head must be one of the members", field="kepala")
        try:
            baru = services.pecah_kk(session, keluarga, anggota, kepala, no_kk_baru=args["no_kk_baru"],
                                     actor=g.principal.subject, tanggal=args["tanggal"], alamat=args.get("alamat"))
        except services.InvalidData as exc:
            _errors(exc)
        session.commit()
        _audit("peristiwa_penduduk", objek=f"keluarga:{baru.public_id}", peristiwa="pecah_kk", jumlah=len(anggota))
        return _keluarga_detail(session, baru), 201


@blp.route("/keluarga/<keluarga_id>/gabung")
class GabungKK(MethodView):
    @blp.requires(*READERS)
    @blp.arguments(schemas.GabungArgs)
    def post(self, args, keluarga_id):
        """Gabung KK: residents join this family"""
        session = desa_db()
        keluarga = _keluarga_or_404(keluarga_id)
        anggota = _residents(args["anggota"])
        try:
            services.gabung_kk(session, keluarga, anggota, kk_level=args["kk_level"], actor=g.principal.subject,
                               tanggal=args["tanggal"])
        except services.InvalidData as exc:
            _errors(exc)
        except services.WrongState as exc:
            problem(409, str(exc), field="keluarga_id")
        session.commit()
        _audit("peristiwa_penduduk", objek=f"keluarga:{keluarga.public_id}", peristiwa="gabung_kk", jumlah=len(anggota))
        return _keluarga_detail(session, keluarga), 200


# --- wilayah --------------------------------------------------------------------------------------------


_PARENT = {"dusun": None, "rw": "dusun", "rt": "rw"}


def _wilayah_dict(w: Wilayah) -> dict[str, Any]:
    return {"id": w.id, "tingkat": w.tingkat, "nama": w.nama, "induk_id": w.induk_id, "kepala_nama": w.kepala_nama}


@blp.route("/wilayah")
class WilayahList(MethodView):
    @blp.requires(*READERS, clients=("desa:read",))
    def get(self):
        """Local wilayah as a tree: dusun/kampung → RW → RT, with counts of living residents"""
        session = desa_db()
        rows = session.scalars(select(Wilayah).order_by(Wilayah.urut, Wilayah.nama)).all()
        counts = dict(session.execute(select(Penduduk.wilayah_id, func.count())
                                      .where(Penduduk.status_dasar == 1).group_by(Penduduk.wilayah_id)).all())
        nodes = {w.id: {**_wilayah_dict(w), "penduduk": counts.get(w.id, 0), "anak": []} for w in rows}
        roots = []
        for w in rows:
            (nodes[w.induk_id]["anak"] if w.induk_id in nodes else roots).append(nodes[w.id])

        def total(node):
            node["penduduk"] += sum(total(child) for child in node["anak"])
            return node["penduduk"]

        for root in roots:
            total(root)
        return roots

    @blp.requires(*READERS)
    @blp.arguments(schemas.WilayahInput)
    def post(self, args):
        """Add a dusun, an RW under a dusun or an RT under an RW"""
        session = desa_db()
        parent_level = _PARENT[args["tingkat"]]
        parent = session.get(Wilayah, args["induk_id"]) if args.get("induk_id") else None
        if (parent is None) != (parent_level is None) or (parent and parent.tingkat != parent_level):
            problem(422, f"{args['tingkat']} harus di bawah {parent_level or 'desa (tanpa induk)'}", field="induk_id")
        exists = session.scalar(select(Wilayah.id).where(Wilayah.tingkat == args["tingkat"],
                                                         Wilayah.nama == args["nama"],
                                                         Wilayah.induk_id.is_(None) if parent is None
                                                         else Wilayah.induk_id == parent.id))
        if exists:
            problem(409, "nama sudah ada di tingkat ini / already exists", field="nama")
        wilayah = Wilayah(tingkat=args["tingkat"], nama=args["nama"], induk_id=parent.id if parent else None,
                          kepala_nama=args.get("kepala_nama"))
        if args.get("kepala_penduduk_id"):
            head = _residents([args["kepala_penduduk_id"]])[0]
            wilayah.kepala_penduduk_id, wilayah.kepala_nama = head.id, head.nama
        session.add(wilayah)
        session.commit()
        return _wilayah_dict(wilayah), 201

@blp.route("/wilayah/<int:wilayah_id>")
class WilayahItem(MethodView):
    @blp.requires(*READERS)
    @blp.arguments(schemas.WilayahEdit)
    def patch(self, args, wilayah_id):
        """Rename a wilayah or set its head (a resident, or just a name)"""
        session = desa_db()
        wilayah = session.get(Wilayah, wilayah_id)
        if wilayah is None:
            problem(404, "wilayah tidak ditemukan / unknown wilayah", field="wilayah_id", location="path")
        if "nama" in args:
            wilayah.nama = args["nama"]
        if "kepala_penduduk_id" in args:
            if args["kepala_penduduk_id"] is None:
                wilayah.kepala_penduduk_id = None
            else:
                head = _residents([args["kepala_penduduk_id"]])[0]
                wilayah.kepala_penduduk_id, wilayah.kepala_nama = head.id, head.nama
        if "kepala_nama" in args:
            wilayah.kepala_nama = args["kepala_nama"]
        session.commit()
        return _wilayah_dict(wilayah)


@referensi_blp.route("")
@referensi_blp.public
def referensi():
    """Every code list (OpenSID codes): field → {code: label}"""
    from service.penduduk.referensi import JENIS_PINDAH, KELAS_SOSIAL

    lists = {name: {str(k): v for k, v in codes.items()} for name, codes in LISTS.items()}
    lists["peristiwa"] = {str(k): v for k, v in PERISTIWA.items()}
    lists["jenis_pindah"] = {str(k): v for k, v in JENIS_PINDAH.items()}
    lists["kelas_sosial"] = {str(k): v for k, v in KELAS_SOSIAL.items()}
    return lists
