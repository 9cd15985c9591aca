"""Layanan surat: the request's life in the desa, its climb through kecamatan and kabupaten, and issuing.

State machine (OpenSID's statuses, extended with the upper levels)::

    BELUM_LENGKAP ─(attachments complete)→ SEDANG_DIPERIKSA ─(each verification step)→ MENUNGGU_TANDATANGAN
    MENUNGGU_TANDATANGAN ─(Rio signs)→ SIAP_DIAMBIL (chain "desa", issued) | MENUNGGU_KECAMATAN
    MENUNGGU_KECAMATAN ─(camat approves)→ SIAP_DIAMBIL (chain "kecamatan") | MENUNGGU_KABUPATEN
    MENUNGGU_KABUPATEN ─(kabupaten approves)→ SIAP_DIAMBIL ─(handed over)→ SUDAH_DIAMBIL
    any open state ─(reject)→ DITOLAK;  ─(return)→ DIKEMBALIKAN ─(resubmitted)→ SEDANG_DIPERIKSA (next round)
    before issuing ─(requester cancels)→ DIBATALKAN

Every transition writes one history entry whose ``kunci`` makes a repeated decision a no-op. Moving up a
level commits an outbox event in the same transaction; the worker places the inbox item (idempotent on
desa, request, round and level). Decisions above the desa come back the same way.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from service.auth.principal import Kind, Principal
from service.auth.roles import Peran
from service.penduduk.models import Penduduk
from service.penduduk.services import mark_changed
from service.surat import katalog
from service.surat.models import LampiranPermohonan, Notifikasi, PermohonanSurat, RiwayatPermohonan
from tenants.session import DesaSession
from workers.outbox import emit

BELUM_LENGKAP = "Belum Lengkap"
SEDANG_DIPERIKSA = "Sedang Diperiksa"
MENUNGGU_TANDATANGAN = "Menunggu Tandatangan"
MENUNGGU_KECAMATAN = "Menunggu Kecamatan"
MENUNGGU_KABUPATEN = "Menunggu Kabupaten"
SIAP_DIAMBIL = "Siap Diambil"
SUDAH_DIAMBIL = "Sudah Diambil"
DIBATALKAN = "Dibatalkan"
DITOLAK = "Ditolak"
DIKEMBALIKAN = "Dikembalikan"
OPEN = {BELUM_LENGKAP, SEDANG_DIPERIKSA, MENUNGGU_TANDATANGAN, MENUNGGU_KECAMATAN, MENUNGGU_KABUPATEN}

TOPIC_NAIK = "surat.naik"
TOPIC_KEPUTUSAN = "surat.keputusan"
DEFAULT_CHAIN = ["operator_desa", "sekdes", "kepala_desa"]
SLA = {katalog.KECAMATAN: timedelta(days=3), katalog.KABUPATEN: timedelta(days=5)}


class WrongState(Exception):
    def __init__(self, status: str, action: str):
        self.status = status
        super().__init__(f"permohonan berstatus {status!r}; tidak bisa {action} / wrong state for this action")


class NotAllowed(Exception):
    pass


class InvalidRequest(ValueError):
    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class Jenis:
    """A letter type as it applies to one desa (defaults + kabupaten override + desa settings)."""

    base: katalog.JenisSurat
    rantai: str
    mandiri: bool
    kode_klasifikasi: str

    @property
    def kode(self) -> str:
        return self.base.kode

    @property
    def nama(self) -> str:
        return self.base.nama


def _setting(session: DesaSession, key: str, default: Any) -> Any:
    """A desa setting. The settings are read once per transaction (listing the catalogue asks ~60 times)."""
    transaction = session.get_transaction()
    cached = session.info.get("pengaturan")
    if cached is None or cached[0] is not transaction:
        rows = dict(session.execute(text("SELECT kunci, nilai FROM pengaturan")).all())
        cached = session.info["pengaturan"] = (session.get_transaction(), rows)
    value = cached[1].get(key)
    return default if value is None else value


def village_chain(session: DesaSession) -> list[str]:
    chain = _setting(session, "surat_rantai_verifikasi", DEFAULT_CHAIN)
    return chain if chain and chain[-1] == "kepala_desa" else [*chain, "kepala_desa"]


def resolve_jenis(session: DesaSession, kode: str) -> Jenis:
    base = katalog.BY_KODE.get(kode)
    if base is None:
        raise InvalidRequest("jenis", f"jenis surat {kode!r} tidak dikenal / unknown letter type")
    kabupaten = ".".join(session.desa.kode.split(".")[:2])
    override = session.execute(
        text("SELECT rantai, mandiri FROM kawasan.jenis_surat_kabupaten WHERE kabupaten_kode = :k AND jenis_kode = :j"),
        {"k": kabupaten, "j": kode},
    ).first()
    skema = _setting(session, "surat_skema_klasifikasi", "83")
    kode_klasifikasi = _setting(session, f"surat_klasifikasi:{kode}", base.kode_83 if skema == "83" else base.kode_78)
    return Jenis(
        base=base,
        rantai=(override.rantai if override and override.rantai else base.rantai),
        mandiri=base.mandiri if override is None or override.mandiri is None else override.mandiri,
        kode_klasifikasi=kode_klasifikasi,
    )


def _history(
    session: DesaSession,
    permohonan: PermohonanSurat,
    *,
    tingkat: str,
    aksi: str,
    actor: Principal | None,
    peran: str | None = None,
    catatan: str | None = None,
    kunci: str | None = None,
) -> bool:
    """Append a history entry; ``False`` when this ``kunci`` was already recorded (a repeated decision).

    Every status change writes one, so this is also where the desa's rollup is marked dirty: the coalesced
    ``penduduk.berubah:<desa>`` event recounts the letters (requested, issued, rejected, returned, waiting)."""
    if kunci and _recorded(session, permohonan, kunci):
        return False
    mark_changed(session)
    session.add(
        RiwayatPermohonan(
            permohonan_id=permohonan.id,
            tingkat=tingkat,
            aksi=aksi,
            status=permohonan.status,
            oleh=actor.subject if actor else None,
            oleh_nama=actor.name if actor else None,
            peran=peran,
            catatan=catatan,
            kunci=kunci,
        )
    )
    return True


def _recorded(session: DesaSession, permohonan: PermohonanSurat, kunci: str) -> bool:
    return session.scalar(
        select(RiwayatPermohonan.id).where(
            RiwayatPermohonan.permohonan_id == permohonan.id, RiwayatPermohonan.kunci == kunci
        )
    ) is not None


def _notify(session: DesaSession, penerima: str, judul: str, permohonan: PermohonanSurat, isi: str | None = None):
    session.add(Notifikasi(penerima=penerima, judul=judul, isi=isi, permohonan_id=permohonan.id))
    emit(
        session,
        "surat.kabar",
        desa_kode=session.desa.kode,
        payload={"permohonan": str(permohonan.public_id), "judul": judul, "status": permohonan.status},
    )


# --- requests -------------------------------------------------------------------------------------------


def ajukan(
    session: DesaSession, *, actor: Principal, jenis_kode: str, penduduk: Penduduk, isian: dict[str, Any]
) -> PermohonanSurat:
    """A warga (for self or family) or an operator at the counter asks for a letter."""
    jenis = resolve_jenis(session, jenis_kode)
    if actor.kind is Kind.WARGA:
        if not jenis.mandiri:
            raise InvalidRequest("jenis", "surat ini harus diurus di kantor desa / ask at the village office")
        me = session.get(Penduduk, actor.penduduk_id)
        if me is None or penduduk.id != me.id and (me.keluarga_id is None or penduduk.keluarga_id != me.keluarga_id):
            raise NotAllowed("hanya untuk diri sendiri atau keluarga (KK yang sama) / self or family only")
    if penduduk.status_dasar != 1:
        raise InvalidRequest("penduduk", "penduduk tidak berstatus hidup / resident not in the living register")
    clean = {}
    for field in jenis.base.isian:
        value = isian.get(field.kode)
        if field.wajib and (value is None or str(value).strip() == ""):
            raise InvalidRequest(f"isian.{field.kode}", f"{field.nama} wajib diisi / required")
        if value is not None:
            clean[field.kode] = str(value).strip()[:2000]
    unknown = set(isian) - {f.kode for f in jenis.base.isian}
    if unknown:
        raise InvalidRequest(f"isian.{sorted(unknown)[0]}", "isian tidak dikenal untuk surat ini / unknown field")
    permohonan = PermohonanSurat(
        jenis_kode=jenis.kode,
        penduduk_id=penduduk.id,
        pemohon=actor.subject,
        isian=clean,
        status=BELUM_LENGKAP if jenis.base.lampiran else SEDANG_DIPERIKSA,
        rantai=jenis.rantai,
        rantai_desa=village_chain(session),
    )
    session.add(permohonan)
    session.flush()
    _history(session, permohonan, tingkat="desa", aksi="diajukan", actor=actor)
    return permohonan


def lampiran_kurang(session: DesaSession, permohonan: PermohonanSurat) -> list[str]:
    required = katalog.BY_KODE[permohonan.jenis_kode].lampiran
    have = set(
        session.scalars(select(LampiranPermohonan.nama).where(LampiranPermohonan.permohonan_id == permohonan.id))
    )
    return [name for name in required if name not in have]


def tambah_lampiran(
    session: DesaSession,
    permohonan: PermohonanSurat,
    *,
    nama: str,
    nama_berkas: str,
    mime: str,
    isi: bytes,
    actor: Principal,
) -> LampiranPermohonan:
    if permohonan.status not in (BELUM_LENGKAP, SEDANG_DIPERIKSA, DIKEMBALIKAN):
        raise WrongState(permohonan.status, "menambah lampiran")
    required = katalog.BY_KODE[permohonan.jenis_kode].lampiran
    if nama not in required:
        raise InvalidRequest("nama", f"lampiran {nama!r} tidak diminta surat ini; pilih: {', '.join(required)}")
    lampiran = LampiranPermohonan(
        permohonan_id=permohonan.id,
        nama=nama,
        nama_berkas=nama_berkas[:200],
        mime=mime,
        ukuran=len(isi),
        sha256=hashlib.sha256(isi).hexdigest(),
        isi=isi,
    )
    session.add(lampiran)
    session.flush()
    if permohonan.status == BELUM_LENGKAP and not lampiran_kurang(session, permohonan):
        permohonan.status = SEDANG_DIPERIKSA
        _history(session, permohonan, tingkat="desa", aksi="lengkap", actor=actor)
    return lampiran


# --- in the desa ----------------------------------------------------------------------------------------


def _chain_of(session: DesaSession, permohonan: PermohonanSurat) -> list[str]:
    """The chain the request started its round with (a settings change does not reroute it midway)."""
    return permohonan.rantai_desa or village_chain(session)


def _step_role(session: DesaSession, permohonan: PermohonanSurat) -> str:
    chain = _chain_of(session, permohonan)
    return chain[min(permohonan.langkah, len(chain) - 1)]


def _holds(actor: Principal, role: str, desa_kode: str) -> bool:
    return actor.kind is Kind.STAFF and any(g.peran.value == role and g.covers(desa_kode) for g in actor.grants)


def verifikasi(session: DesaSession, permohonan: PermohonanSurat, actor: Principal) -> PermohonanSurat:
    """The current village step approves; the last step (the signer) signs, see :func:`tandatangani`."""
    role = _step_role(session, permohonan)
    if permohonan.status != SEDANG_DIPERIKSA or not _holds(actor, role, session.desa.kode):
        already = session.scalar(
            select(RiwayatPermohonan.id).where(
                RiwayatPermohonan.permohonan_id == permohonan.id,
                RiwayatPermohonan.kunci.like(f"desa:{permohonan.putaran}:%"),
                RiwayatPermohonan.aksi == "diverifikasi",
                RiwayatPermohonan.oleh == actor.subject,
            )
        )
        if already:
            return permohonan  # this person's approval is already recorded: approving twice changes nothing
        if permohonan.status != SEDANG_DIPERIKSA:
            raise WrongState(permohonan.status, "memverifikasi")
        raise NotAllowed(f"langkah ini untuk {role} / this step belongs to {role}")
    kunci = f"desa:{permohonan.putaran}:{permohonan.langkah}"
    chain = _chain_of(session, permohonan)
    permohonan.langkah += 1
    permohonan.status = MENUNGGU_TANDATANGAN if permohonan.langkah >= len(chain) - 1 else SEDANG_DIPERIKSA
    _history(session, permohonan, tingkat="desa", aksi="diverifikasi", actor=actor, peran=role, kunci=kunci)
    if permohonan.status == MENUNGGU_TANDATANGAN:
        _notify(session, f"kepala_desa@{session.desa.kode}", "Surat menunggu tanda tangan", permohonan)
    return permohonan


def tandatangani(
    session: DesaSession, permohonan: PermohonanSurat, actor: Principal, *, base_url: str
) -> PermohonanSurat:
    kunci = f"desa:{permohonan.putaran}:ttd"
    if permohonan.status != MENUNGGU_TANDATANGAN:
        if _recorded(session, permohonan, kunci):
            return permohonan
        raise WrongState(permohonan.status, "menandatangani")
    if not _holds(actor, "kepala_desa", session.desa.kode):
        raise NotAllowed("hanya kepala desa yang menandatangani / only the kepala desa signs")
    sebutan = _setting(session, "sebutan_kepala_desa", "Kepala Desa")
    permohonan.penandatangan = [
        *permohonan.penandatangan,
        {
            "tingkat": "desa",
            "nama": actor.name,
            "jabatan": f"{sebutan} {session.desa.nama}",
            "waktu": datetime.now(UTC).isoformat(),
        },
    ]
    if permohonan.rantai == katalog.DESA:
        terbitkan(session, permohonan, base_url=base_url)
    else:
        permohonan.status = MENUNGGU_KECAMATAN
        naik(session, permohonan, katalog.KECAMATAN)
    _history(session, permohonan, tingkat="desa", aksi="ditandatangani", actor=actor, peran="kepala_desa", kunci=kunci)
    return permohonan


def naik(session: DesaSession, permohonan: PermohonanSurat, tingkat: str) -> None:
    """Send the request up one level: an outbox event in this transaction; a worker fills the inbox."""
    emit(
        session,
        TOPIC_NAIK,
        desa_kode=session.desa.kode,
        queue="default",
        key=f"{TOPIC_NAIK}:{session.desa.kode}:{permohonan.public_id}:{permohonan.putaran}:{tingkat}",
        payload={"permohonan": str(permohonan.public_id), "putaran": permohonan.putaran, "tingkat": tingkat},
    )


def tolak_atau_kembalikan(
    session: DesaSession, permohonan: PermohonanSurat, actor: Principal, *, kembalikan: bool, alasan: str
) -> PermohonanSurat:
    if permohonan.status not in (SEDANG_DIPERIKSA, MENUNGGU_TANDATANGAN, BELUM_LENGKAP):
        raise WrongState(permohonan.status, "mengembalikan" if kembalikan else "menolak")
    role = _step_role(session, permohonan)
    if not _holds(actor, role, session.desa.kode) and not _holds(actor, "kepala_desa", session.desa.kode):
        raise NotAllowed(f"langkah ini untuk {role} / this step belongs to {role}")
    permohonan.status = DIKEMBALIKAN if kembalikan else DITOLAK
    permohonan.alasan = alasan
    _history(
        session,
        permohonan,
        tingkat="desa",
        aksi="dikembalikan" if kembalikan else "ditolak",
        actor=actor,
        peran=role,
        catatan=alasan,
    )
    _notify(session, permohonan.pemohon, f"Permohonan surat {permohonan.status.lower()}", permohonan, alasan)
    return permohonan


def ajukan_ulang(
    session: DesaSession, permohonan: PermohonanSurat, actor: Principal, isian: dict[str, Any] | None = None
) -> PermohonanSurat:
    if permohonan.status != DIKEMBALIKAN:
        raise WrongState(permohonan.status, "mengajukan ulang")
    if isian:
        jenis = katalog.BY_KODE[permohonan.jenis_kode]
        allowed = {f.kode for f in jenis.isian}
        unknown = set(isian) - allowed
        if unknown:
            raise InvalidRequest(f"isian.{sorted(unknown)[0]}", "isian tidak dikenal / unknown field")
        permohonan.isian = {**permohonan.isian, **{k: str(v).strip() for k, v in isian.items()}}
    permohonan.putaran += 1
    permohonan.langkah = 0
    permohonan.rantai_desa = village_chain(session)
    permohonan.alasan = None
    permohonan.penandatangan = []
    permohonan.status = BELUM_LENGKAP if lampiran_kurang(session, permohonan) else SEDANG_DIPERIKSA
    _history(session, permohonan, tingkat="desa", aksi="diajukan_ulang", actor=actor)
    return permohonan


def batalkan(session: DesaSession, permohonan: PermohonanSurat, actor: Principal) -> PermohonanSurat:
    if permohonan.status not in OPEN and permohonan.status != DIKEMBALIKAN:
        raise WrongState(permohonan.status, "membatalkan")
    permohonan.status = DIBATALKAN
    _history(session, permohonan, tingkat="desa", aksi="dibatalkan", actor=actor)
    return permohonan


def serahkan(session: DesaSession, permohonan: PermohonanSurat, actor: Principal) -> PermohonanSurat:
    if permohonan.status != SIAP_DIAMBIL:
        raise WrongState(permohonan.status, "menyerahkan")
    permohonan.status = SUDAH_DIAMBIL
    _history(session, permohonan, tingkat="desa", aksi="diambil", actor=actor)
    return permohonan


# --- decisions from above -------------------------------------------------------------------------------


def terapkan_keputusan(
    session: DesaSession,
    permohonan: PermohonanSurat,
    *,
    tingkat: str,
    putaran: int,
    keputusan: str,
    oleh: dict[str, str],
    alasan: str | None,
    base_url: str,
) -> bool:
    """Apply a kecamatan or kabupaten decision in the desa. Idempotent: ``False`` if already applied."""
    kunci = f"{tingkat}:{putaran}:keputusan"
    if _recorded(session, permohonan, kunci):
        return False
    expected = MENUNGGU_KECAMATAN if tingkat == katalog.KECAMATAN else MENUNGGU_KABUPATEN
    if permohonan.putaran != putaran or permohonan.status != expected:
        raise WrongState(permohonan.status, f"menerima keputusan {tingkat}")
    actor = Principal(kind=Kind.STAFF, subject=oleh["subject"], name=oleh.get("nama", ""))
    if keputusan == "setuju":
        permohonan.penandatangan = [
            *permohonan.penandatangan,
            {
                "tingkat": tingkat,
                "nama": oleh.get("nama", ""),
                "jabatan": oleh.get("jabatan", ""),
                "waktu": datetime.now(UTC).isoformat(),
            },
        ]
        if tingkat == katalog.KECAMATAN and permohonan.rantai == katalog.KABUPATEN:
            permohonan.status = MENUNGGU_KABUPATEN
            naik(session, permohonan, katalog.KABUPATEN)
        else:
            terbitkan(session, permohonan, base_url=base_url)
    elif keputusan == "tolak":
        permohonan.status, permohonan.alasan = DITOLAK, alasan
    elif keputusan == "kembalikan":
        permohonan.status, permohonan.alasan = DIKEMBALIKAN, alasan
    else:
        raise InvalidRequest("keputusan", "setuju, tolak atau kembalikan")
    _history(
        session,
        permohonan,
        tingkat=tingkat,
        aksi=keputusan,
        actor=actor,
        peran=oleh.get("peran"),
        catatan=alasan,
        kunci=kunci,
    )
    _notify(session, permohonan.pemohon, f"Keputusan {tingkat}: {keputusan}", permohonan, alasan)
    return True


# --- issuing --------------------------------------------------------------------------------------------


def allocate_number(session: DesaSession, kode_klasifikasi: str) -> tuple[int, int]:
    """Next number of the year, per classification code or one shared sequence (desa setting
    ``surat_nomor_per``: ``klasifikasi`` or ``tahun``): no gap, no duplicate. Types that share a
    classification share its sequence, so two letters can never carry the same number.

    The counter row is updated in the issuing transaction, so concurrent issuers queue on its row lock and a
    rolled-back issue gives its number back.
    """
    tahun = datetime.now(UTC).year
    per = _setting(session, "surat_nomor_per", "klasifikasi")
    kunci = kode_klasifikasi if per == "klasifikasi" else "*"
    nomor = session.scalar(
        text(
            "INSERT INTO nomor_surat (tahun, kunci, terakhir) VALUES (:t, :k, 1) "
            "ON CONFLICT (tahun, kunci) DO UPDATE SET terakhir = nomor_surat.terakhir + 1 RETURNING terakhir"
        ),
        {"t": tahun, "k": kunci},
    )
    return tahun, nomor


ROMAWI = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
DEFAULT_FORMAT = "[kode_klasifikasi]/[nomor,3]/[kode_desa]/[bulan_romawi]/[tahun]"


def format_number(fmt: str, *, kode_klasifikasi: str, nomor: int, kode_desa: str, when: datetime) -> str:
    import re

    def width(match):
        return str(nomor).zfill(int(match.group(1)))

    out = re.sub(r"\[nomor,(\d+)\]", width, fmt).replace("[nomor]", str(nomor))
    return (
        out.replace("[kode_klasifikasi]", kode_klasifikasi)
        .replace("[kode_desa]", kode_desa)
        .replace("[bulan_romawi]", ROMAWI[when.month - 1])
        .replace("[bulan]", f"{when.month:02d}")
        .replace("[tahun]", str(when.year))
    )


def terbitkan(session: DesaSession, permohonan: PermohonanSurat, *, base_url: str) -> None:
    """Final approval: number, PDF with QR, status Siap Diambil (all in the caller's transaction)."""
    from service.surat.pdf import render_letter

    jenis = resolve_jenis(session, permohonan.jenis_kode)
    tahun, nomor = allocate_number(session, jenis.kode_klasifikasi)
    now = datetime.now(UTC)
    fmt = _setting(session, "surat_format_nomor", DEFAULT_FORMAT)
    kode_desa = _setting(session, "surat_kode_desa", session.desa.kode.split(".")[-1])
    permohonan.tahun, permohonan.nomor_urut = tahun, nomor
    permohonan.nomor = format_number(
        fmt, kode_klasifikasi=jenis.kode_klasifikasi, nomor=nomor, kode_desa=kode_desa, when=now
    )
    permohonan.token_verifikasi = secrets.token_urlsafe(32)
    permohonan.diterbitkan_pada = now
    pdf = render_letter(
        session, permohonan, jenis, verify_url=f"{base_url.rstrip('/')}/verifikasi/{permohonan.token_verifikasi}"
    )
    permohonan.pdf, permohonan.pdf_sha256 = pdf, hashlib.sha256(pdf).hexdigest()
    permohonan.status = SIAP_DIAMBIL
    session.execute(
        text(
            "INSERT INTO kawasan.surat_terbit (token, desa_kode, jenis_kode, jenis_nama, nomor, diterbitkan_pada, "
            "penandatangan, pdf_sha256) VALUES (:t, :d, :j, :n, :no, :w, CAST(:p AS jsonb), :h)"
        ),
        {
            "t": permohonan.token_verifikasi,
            "d": session.desa.kode,
            "j": jenis.kode,
            "n": jenis.nama,
            "no": permohonan.nomor,
            "w": now,
            "h": permohonan.pdf_sha256,
            "p": json.dumps([{k: s[k] for k in ("tingkat", "nama", "jabatan")} for s in permohonan.penandatangan]),
        },
    )
    _notify(session, permohonan.pemohon, "Surat siap diambil", permohonan, permohonan.nomor)


def is_camat_role(peran: str) -> bool:
    return peran == Peran.CAMAT.value
