"""Letters for the demo: a few hundred requests across the Bathin III Ulu villages, in every state.

``isi_surat_demo(engine, base_url=…)`` fills each pilot desa (15.08.14.2001–2009) that has no letters yet
with about ``per_desa`` requests: just asked (some still missing attachments), at each village step,
awaiting the Rio's signature, issued with a real PDF and handed over (``terbit_per_desa``, 2 by default:
a letter's PDF costs 0.3–0.6 s to render on a 2-core machine, most of it font subsetting), rejected,
returned (one resubmitted), cancelled, waiting in the camat's inbox (half of them overdue), returned by
the camat, and, in a few villages, approved by the camat and issued, or waiting for the kabupaten. The
fixed demo residents of ``service.demo`` who can sign in get some of them, so Layanan Mandiri shows their
letters.

Every transition goes through :mod:`service.surat.services` with staff principals (the demo accounts when
they exist), so histories, numbers, notifications and outbox events are the real ones. Requests climbing
to the kecamatan/kabupaten are placed in the inbox with the job's own code (``tasks.place_in_inbox``) and
their outbox event is marked done in that transaction, as the job base does; camat decisions are applied
with ``services.terapkan_keputusan``, as the decision job does. The status news they emit
(``surat.kabar``) is marked done: seeded history is not announced. Times are spread over the past days (a
clock stamps history, notification and inbox rows), so ages, SLA and overdue items look like real use;
issued letters are issued *now* because their PDF carries the date.

Idempotent per desa: a desa that already has letters is skipped (checked under an advisory lock). A desa
without residents first gets the synthetic register (``service.penduduk.demo_data.isi_desa``).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, event, func, select, text

from service.auth.principal import Kind, Principal
from service.auth.roles import Grant, Peran
from service.penduduk.demo_data import isi_desa
from service.penduduk.models import Penduduk
from service.surat import katalog, services, tasks
from service.surat.models import LampiranPermohonan, Notifikasi, PermohonanSurat, RiwayatPermohonan
from tenants.session import DesaNotFound, DesaSession
from workers.jobs import JobContext

log = logging.getLogger(__name__)

KECAMATAN = "15.08.14"  # Bathin III Ulu
KABUPATEN = "15.08"  # Bungo
PILOT = tuple(f"{KECAMATAN}.{n}" for n in range(2001, 2010))
TERBIT_PER_DESA = 2  # issued in the desa (one of them handed over): each renders a PDF (~0.3–0.6 s)
CAMAT_TERBIT_DESA = 3  # villages with one letter approved by the camat and issued (one more PDF)
KABUPATEN_DESA = 2  # villages with one request waiting for the kabupaten

# Scenarios for per_desa=40 (scaled for other sizes; "baru", just asked, takes what is left). The issuing ones
# are counted separately: terbit/diambil from ``terbit_per_desa``, terbit_camat and kabupaten in a few villages.
BASE_PLAN = {
    "langkah": 6,  # at a middle village step (sekdes)
    "ttd": 6,  # waiting for the Rio's signature
    "tolak": 2,
    "kembali": 2,
    "ulang": 1,  # returned, then resubmitted (round 2)
    "batal": 1,
    "camat": 8,  # waiting in the camat's inbox; every other one overdue
    "camat_kembali": 1,  # returned by the camat
}
UPPER = ("camat", "camat_kembali", "terbit_camat", "kabupaten")

# Letter types by how often a village office issues them (desa-chain ones).
JENIS_DESA = {"DOM": 20, "S-02": 15, "S-11": 12, "S-01": 10, "S-14": 10, "S-07": 8, "BM": 6, "PH": 6, "S-10": 4,
              "S-08": 3, "S-03": 3, "S-09": 3, "S-13": 3, "S-12": 3, "S-16": 3, "S-17": 3, "S-21": 2}
JENIS_KECAMATAN = {"S-04": 6, "AW": 4}
JENIS_KABUPATEN = {"S-06": 1}

ALASAN_TOLAK = ("Pemohon tidak tercatat sebagai warga RT yang mengantar", "Keperluan tidak sesuai jenis surat",
                "Surat serupa masih berlaku")
ALASAN_KEMBALI = ("Surat pengantar RT belum ditandatangani", "Fotokopi KK tidak terbaca, mohon unggah ulang",
                  "Keperluan kurang jelas, mohon dilengkapi")
ALASAN_CAMAT = ("Alamat tujuan kurang lengkap (RT/RW dan kelurahan)", "Daftar ahli waris belum memuat semua anak")

PILIHAN = {
    "keperluan": ("melamar pekerjaan", "pendaftaran sekolah anak", "pengajuan KUR di bank", "pengurusan BPJS Kesehatan",
                  "pengajuan beasiswa", "persyaratan nikah", "pembukaan rekening bank", "pengurusan bantuan PKH"),
    "alasan": ("pekerjaan", "ikut suami/istri", "pendidikan", "membangun rumah sendiri", "ikut orang tua"),
    "dokumen": ("ijazah SMA", "buku tabungan", "akta kelahiran", "kartu BPJS"),
    "tujuan": ("Kota Jambi", "Pekanbaru", "Padang", "Jakarta", "Muara Bungo"),
    "acara": ("pesta pernikahan", "khitanan anak", "syukuran panen", "pengajian akbar"),
    "barang": ("KTP-el", "buku tabungan", "STNK sepeda motor", "kartu ATM", "sertifikat tanah"),
    "usaha": ("warung kelontong", "bengkel sepeda motor", "jual beli getah karet", "kedai kopi", "toko bangunan",
              "ternak ayam kampung", "penggilingan padi"),
    "sebab": ("sakit", "usia lanjut", "kecelakaan lalu lintas"),
}
TUJUAN_KECAMATAN = ("Dusun Rantau Keloyang, Kecamatan Pelepat", "Kelurahan Bungo Barat, Kecamatan Muko-Muko Bathin VII",
                    "Dusun Sungai Buluh, Kecamatan Rimbo Tengah", "Dusun Lubuk Kayu Aro, Kecamatan Tanah Tumbuh")
TUJUAN_KABUPATEN = ("Kelurahan Talang Banjar, Kota Jambi", "Kelurahan Rimbo Bujang, Kabupaten Tebo",
                    "Kelurahan Air Tawar, Kota Padang", "Kelurahan Pasar Bangko, Kabupaten Merangin")


# --- time ----------------------------------------------------------------------------------------------


class Clock:
    """What "now" is for the rows the services add: history, notifications, requests, attachments."""

    def __init__(self):
        self.now: datetime | None = None

    def stamp(self, session, flush_context, instances) -> None:
        if self.now is None:
            return
        for obj in session.new:
            if isinstance(obj, RiwayatPermohonan) and obj.waktu is None:
                obj.waktu = self.now
            elif isinstance(obj, Notifikasi | LampiranPermohonan) and obj.dibuat_pada is None:
                obj.dibuat_pada = self.now
            elif isinstance(obj, PermohonanSurat) and obj.dibuat_pada is None:
                obj.dibuat_pada = obj.diubah_pada = self.now
        for obj in session.dirty:
            if isinstance(obj, PermohonanSurat):
                obj.diubah_pada = self.now


def _spread(rng: random.Random, start: datetime, end: datetime, n: int) -> list[datetime]:
    """``n`` increasing times from ``start`` to ``end`` (office hours do not matter here)."""
    if n == 1:
        return [end]
    cuts = sorted(rng.random() for _ in range(n - 2))
    return [start, *(start + (end - start) * c for c in cuts), end]


# --- what to create ------------------------------------------------------------------------------------


@dataclass
class Rencana:
    skenario: str
    jenis: str
    penduduk: Penduduk
    online: bool
    terlambat: bool = False
    #: village-level actions, each with its time
    langkah: list[tuple[str, datetime]] = field(default_factory=list)
    #: kecamatan/kabupaten: when it entered the camat's inbox, the camat's decision and when
    masuk_kecamatan: datetime | None = None
    keputusan_camat: tuple[str, datetime] | None = None
    #: filled in as it runs (plain values: they outlive the sessions)
    id: int | None = None
    public_id: Any = None
    status: str | None = None


def _counts(per_desa: int, index: int, terbit_per_desa: int) -> dict[str, int]:
    factor = per_desa / 40
    counts = {name: round(base * factor) for name, base in BASE_PLAN.items()}
    counts["terbit"] = max(0, terbit_per_desa - 1)  # issued, ready for pick-up
    counts["diambil"] = min(1, terbit_per_desa)  # issued and handed over
    counts["terbit_camat"] = 1 if index < CAMAT_TERBIT_DESA and per_desa >= 10 else 0  # approved by the camat
    counts["kabupaten"] = 1 if index < KABUPATEN_DESA and per_desa >= 10 else 0  # camat approved; kabupaten next
    while sum(counts.values()) > per_desa:  # very small per_desa: drop from the largest
        counts[max(counts, key=counts.get)] -= 1
    counts["baru"] = per_desa - sum(counts.values())
    return counts


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _isian(rng: random.Random, jenis: katalog.JenisSurat, desa_nama: str, today: date) -> dict[str, str]:
    values = {}
    for isian in jenis.isian:
        kode = isian.kode
        if kode in PILIHAN:
            values[kode] = rng.choice(PILIHAN[kode])
        elif kode == "alamat_tujuan":
            values[kode] = rng.choice(TUJUAN_KABUPATEN if jenis.rantai == katalog.KABUPATEN else TUJUAN_KECAMATAN)
        elif kode == "lokasi_usaha":
            values[kode] = f"RT {rng.randint(1, 6):02d}, {desa_nama}"
        elif kode == "identitas_lain":
            values[kode] = rng.choice(("M. ", "Moh. ", "Muh. ")) + rng.choice(("Yusuf", "Rahman", "Hasan"))
        elif kode in ("tanggal_berangkat", "tanggal_acara"):
            values[kode] = (today + timedelta(days=rng.randint(3, 30))).isoformat()
        elif kode in ("tanggal_lahir_anak", "tanggal_meninggal"):
            values[kode] = (today - timedelta(days=rng.randint(2, 40))).isoformat()
        elif kode == "nama_anak":
            values[kode] = rng.choice(("Muhammad Alif", "Aisyah Putri", "Rizky Pratama", "Nur Azizah", "Fathan"))
        elif kode == "pewaris":
            values[kode] = rng.choice(("Abdullah", "Hamzah bin Usman", "Rosmah", "Ismail"))
        elif kode == "ahli_waris":
            values[kode] = "istri dan anak-anak almarhum sebagaimana tercantum dalam Kartu Keluarga"
        elif kode == "penghasilan":
            values[kode] = str(rng.randrange(15, 60) * 100_000)
        else:
            values[kode] = "-"
    return values


@lru_cache(maxsize=16)
def contoh_pdf(judul: str) -> bytes:
    """A small, valid one-page PDF standing in for an uploaded document."""
    safe = judul.replace("\\", "").replace("(", "").replace(")", "")
    content = (f"BT /F1 16 Tf 72 760 Td ({safe}) Tj 0 -24 Td /F1 10 Tf "
               "(Lampiran contoh - data demo Kawasan) Tj ET").encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# --- who acts ------------------------------------------------------------------------------------------


def _staff(engine: Engine, peran: str, scope: str, fallback: str) -> Principal:
    """The demo account holding ``peran`` at ``scope`` when there is one, else a stand-in (subject staff:0)."""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT a.id, a.nama FROM kawasan.akun a JOIN kawasan.peran_akun p ON p.akun_id = a.id "
                 "WHERE p.peran = :r AND p.scope_kode = :s AND a.aktif ORDER BY a.id LIMIT 1"),
            {"r": peran, "s": scope},
        ).first()
    subject, name = (f"staff:{row.id}", row.nama) if row else ("staff:0", fallback)
    return Principal(kind=Kind.STAFF, subject=subject, name=name, grants=(Grant(Peran(peran), scope),))


def _warga(kode: str, penduduk: Penduduk) -> Principal:
    return Principal(kind=Kind.WARGA, subject=f"warga:{kode}:{penduduk.id}", name=penduduk.nama, desa_kode=kode,
                     penduduk_id=penduduk.id)


# --- the work ------------------------------------------------------------------------------------------


def isi_surat_demo(engine: Engine, *, base_url: str, per_desa: int = 40, seed: int | None = None,
                   penduduk: int = 2400, terbit_per_desa: int = TERBIT_PER_DESA, jobs: int = 1,
                   desa: tuple[str, ...] = PILOT) -> dict[str, Any]:
    """Create the demo's letters in every pilot desa that has none; returns counts per desa and status.

    ``jobs`` > 1 fills that many villages at once (threads; the engine's pool must allow ``jobs`` connections).
    It only helps with cores to spare: on 2 busy cores 1, 2 and 3 threads all took 11–13 s (2,400 residents
    per desa: registers ~2–4 s, 21 PDFs ~6 s, the 360 requests' transitions the rest).
    """
    started = time.perf_counter()
    kecamatan_nama = _region_name(engine, KECAMATAN)
    camat = _staff(engine, "camat", KECAMATAN, f"Camat {kecamatan_nama}")

    def one(index: int, kode: str) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            if isi_desa(engine, kode, penduduk=penduduk).get("skipped") is False:
                log.info("demo letters: filled the register of %s first", kode)
        except DesaNotFound:
            log.warning("demo letters: %s is not a ready tenant; skipped", kode)
            return {"skipped": "not provisioned"}
        register = time.perf_counter() - started
        rng = random.Random(f"surat:{seed if seed is not None else 2026}:{kode}")
        done = _isi_satu_desa(engine, kode, index, rng, per_desa=per_desa, terbit_per_desa=terbit_per_desa,
                              base_url=base_url, camat=camat, jabatan_camat=f"Camat {kecamatan_nama}")
        return {**done, "detik_register": round(register, 2), "detik": round(time.perf_counter() - started, 2)}

    if jobs > 1:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="surat-demo") as pool:
            done = list(pool.map(one, range(len(desa)), desa))
    else:
        done = [one(index, kode) for index, kode in enumerate(desa)]
    totals = ("pdf", "kotak_masuk", "terlambat", "detik_register", "detik_terbit")
    result: dict[str, Any] = {"desa": dict(zip(desa, done, strict=True)), "surat": 0, **dict.fromkeys(totals, 0)}
    for item in done:
        if not item.get("skipped"):
            result["surat"] += sum(item["status"].values())
            for key in totals:
                result[key] += item.get(key, 0)
    result["detik_register"] = round(result["detik_register"], 2)
    result["detik_terbit"] = round(result["detik_terbit"], 2)
    result["detik"] = round(time.perf_counter() - started, 2)
    log.info("demo letters: %s letters, %s inbox items (%s overdue), %s PDFs in %.1f s", result["surat"],
             result["kotak_masuk"], result["terlambat"], result["pdf"], result["detik"])
    return result


def start_in_background(engine: Engine, *, base_url: str, penduduk: int = 2400, jobs: int = 1,
                        **kwargs: Any) -> threading.Thread:
    """Run :func:`isi_surat_demo` in a daemon thread (``kawasan demo``: the web is up meanwhile); it logs
    its summary, or the exception if it fails. Stopped mid-way, a desa keeps what it committed (its village
    steps are one transaction; the inbox placing and the camat's decisions follow in their own): the worker
    then places its pending inbox items (dated now), and a desa that has letters is skipped next time."""

    def run() -> None:
        try:
            isi_surat_demo(engine, base_url=base_url, penduduk=penduduk, jobs=jobs, **kwargs)
        except Exception:  # noqa: BLE001 - a background helper: report, never take the demo down
            log.exception("demo letters failed")

    thread = threading.Thread(target=run, name="surat-demo", daemon=True)
    thread.start()
    return thread


def _region_name(engine: Engine, kode: str) -> str:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT nama FROM kawasan.wilayah_administrasi WHERE kode = :k"), {"k": kode}) or kode


def _isi_satu_desa(engine: Engine, kode: str, index: int, rng: random.Random, *, per_desa: int,
                   terbit_per_desa: int, base_url: str,
                   camat: Principal, jabatan_camat: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    clock = Clock()
    staff = {
        peran: _staff(engine, peran, kode, f"{label} (demo)")
        for peran, label in (("operator_desa", "Operator"), ("sekdes", "Sekdes"), ("kepala_desa", "Rio"))
    }
    with DesaSession(engine, kode) as session:
        event.listen(session, "before_flush", clock.stamp)
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"demo.isi_surat:{kode}"})
        if session.scalar(select(func.count()).select_from(PermohonanSurat)):
            return {"skipped": True}
        chain = services.village_chain(session)
        plans = _plan(session, kode, rng, _counts(per_desa, index, terbit_per_desa), now, chain)
        issuing = sum(_run_village(session, plan, clock, rng, staff, chain, base_url) for plan in plans)
        session.commit()
    # Up to the camat: the inbox items (as the surat.naik job places them), dated when the Rio signed.
    placed = _place(engine, kode, katalog.KECAMATAN,
                    {p.public_id: p.masuk_kecamatan for p in plans if p.masuk_kecamatan})
    decided = [p for p in plans if p.keputusan_camat]
    if decided:
        issuing += _decide(engine, kode, decided, clock, camat, jabatan_camat, base_url)
        placed += _place(engine, kode, katalog.KABUPATEN, {p.public_id: p.keputusan_camat[1] for p in decided
                                                           if p.status == services.MENUNGGU_KABUPATEN})
    _history_told(engine, kode, [p.public_id for p in plans])
    with DesaSession(engine, kode) as session:
        status = Counter(dict(session.execute(
            select(PermohonanSurat.status, func.count()).group_by(PermohonanSurat.status)).all()))
        pdf = session.scalar(select(func.count()).where(PermohonanSurat.pdf_sha256.is_not(None)))
    with engine.connect() as conn:
        terlambat = conn.scalar(text("SELECT count(*) FROM kawasan.kotak_masuk WHERE desa_kode = :d AND "
                                     "status = 'menunggu' AND batas_waktu < now()"), {"d": kode})
    return {"skipped": False, "status": dict(status), "pdf": pdf, "kotak_masuk": placed, "terlambat": terlambat,
            "detik_terbit": round(issuing, 2)}


def _plan(session: DesaSession, kode: str, rng: random.Random, counts: dict[str, int], now: datetime,
          chain: list[str]) -> list[Rencana]:
    from service.demo import RESIDENTS

    per_desa = sum(counts.values())
    adult_before = date.today() - timedelta(days=int(17 * 365.25))
    ids = list(session.scalars(select(Penduduk.id).where(Penduduk.status_dasar == 1,
                                                         Penduduk.tanggal_lahir <= adult_before)
                               .order_by(Penduduk.id)))
    fixed_nik = [row[0] for row in RESIDENTS.get(kode, ()) if row[3] in (1, 3)]  # heads and wives sign in
    fixed = list(session.scalars(select(Penduduk).where(Penduduk.nik.in_(fixed_nik)).order_by(Penduduk.nik)))
    fixed_ids = {p.id for p in fixed}
    pool = [i for i in ids if i not in fixed_ids]
    chosen = rng.sample(pool, min(per_desa, len(pool))) if pool else []
    people = {p.id: p for p in session.scalars(select(Penduduk).where(Penduduk.id.in_(chosen)))}
    residents = [people[i] for i in chosen]
    if not residents and not fixed:
        raise RuntimeError(f"desa {kode} has no adult residents to ask for letters")
    rantai = {j.kode: services.resolve_jenis(session, j.kode) for j in katalog.KATALOG}

    def types(level: str, weights: dict[str, int]) -> dict[str, int]:
        found = {k: w for k, w in weights.items() if rantai[k].rantai == level}
        return found or {j: 1 for j, r in rantai.items() if r.rantai == level}

    by_level = {
        katalog.DESA: types(katalog.DESA, JENIS_DESA),
        katalog.KECAMATAN: types(katalog.KECAMATAN, JENIS_KECAMATAN),
        katalog.KABUPATEN: types(katalog.KABUPATEN, JENIS_KABUPATEN),
    }
    scenarios = [name for name, n in counts.items() for _ in range(n)]
    rng.shuffle(scenarios)
    # The residents who can sign in to Layanan Mandiri get one of these first, asked online.
    preferred = ["terbit", "camat", "ttd", "kembali"]
    for person_index in range(len(fixed)):
        want = preferred[person_index % len(preferred)]
        if want in scenarios:
            scenarios.remove(want)
            scenarios.insert(person_index, want)
    plans = []
    camat_seen = 0
    for i, skenario in enumerate(scenarios):
        level = (katalog.KABUPATEN if skenario == "kabupaten"
                 else katalog.KECAMATAN if skenario in UPPER else katalog.DESA)
        if not by_level[level]:
            level, skenario = katalog.DESA, "ttd"  # this kabupaten routes no type there
        jenis = _weighted(rng, by_level[level])
        is_fixed = i < len(fixed)
        person = fixed[i] if is_fixed else residents[(i - len(fixed)) % len(residents)]
        online = rantai[jenis].mandiri and (is_fixed or rng.random() < 0.55)
        plan = Rencana(skenario, jenis, person, online)
        if skenario == "camat":
            plan.terlambat = camat_seen % 2 == 0
            camat_seen += 1
        _timeline(plan, rng, now, len(chain))
        plans.append(plan)
    return plans


def _timeline(plan: Rencana, rng: random.Random, now: datetime, chain_length: int) -> None:
    """The village actions of a scenario, each with its time, and the upper levels' times."""
    jenis = katalog.BY_KODE[plan.jenis]
    s = plan.skenario
    before_signer = chain_length - 1  # verification steps before the signer's
    actions = ["ajukan"]
    if jenis.lampiran and (s != "baru" or rng.random() < 0.5):
        actions.append("lampiran")
    issued_now: list[str] = []  # issued letters are issued now: the PDF carries the date
    if s == "baru":
        end = now - timedelta(minutes=rng.randint(20, 60 * 60))
    elif s == "batal":
        actions.append("batalkan")
        end = now - timedelta(hours=rng.uniform(2, 120))
    elif s in ("langkah", "ttd", "tolak", "kembali", "ulang"):
        steps = {"ttd": before_signer, "langkah": rng.randint(1, max(1, before_signer - 1))}.get(
            s, rng.randint(0, before_signer))
        actions += ["verifikasi"] * min(steps, before_signer)
        if s in ("tolak", "kembali", "ulang"):
            actions.append("tolak" if s == "tolak" else "kembalikan")
        if s == "ulang":
            actions.append("ajukan_ulang")
        end = now - timedelta(hours=rng.uniform(1, 24 * (8 if s in ("tolak", "kembali") else 4)))
    else:  # signed by the Rio: issued here, or up to the camat
        actions += ["verifikasi"] * before_signer
        if s in ("terbit", "diambil"):
            issued_now = ["tandatangani"] + (["serahkan"] if s == "diambil" else [])
            end = now - timedelta(minutes=rng.randint(10, 120))
        else:
            actions.append("tandatangani")
            if s == "camat":
                end = now - (timedelta(days=rng.uniform(3.3, 9)) if plan.terlambat
                             else timedelta(hours=rng.uniform(1, 60)))
            elif s == "camat_kembali":
                end = now - timedelta(days=rng.uniform(2, 6))
            elif s == "terbit_camat":
                end = now - timedelta(days=rng.uniform(1, 2.5))
            else:  # kabupaten
                end = now - timedelta(days=rng.uniform(3, 4.5))
    start = end - timedelta(hours=rng.uniform(2, 72)) if len(actions) > 1 else end
    plan.langkah = [*zip(actions, _spread(rng, start, end, len(actions)), strict=True),
                    *((action, now) for action in issued_now)]
    if s in UPPER:
        plan.masuk_kecamatan = end
        if s == "camat_kembali":
            plan.keputusan_camat = ("kembalikan", end + timedelta(hours=rng.uniform(4, 40)))
        elif s == "terbit_camat":
            plan.keputusan_camat = ("setuju", now)
        elif s == "kabupaten":
            plan.keputusan_camat = ("setuju", end + timedelta(days=rng.uniform(0.5, 2)))


def _run_village(session: DesaSession, plan: Rencana, clock: Clock, rng: random.Random,
                 staff: dict[str, Principal], chain: list[str], base_url: str) -> float:
    """Run a plan's village actions; returns the seconds spent issuing (numbering and rendering the PDF)."""
    kode = session.desa.kode
    issuing = 0.0
    pemohon = _warga(kode, plan.penduduk) if plan.online else staff["operator_desa"]
    jenis = katalog.BY_KODE[plan.jenis]
    p: PermohonanSurat | None = None
    for action, when in plan.langkah:
        clock.now = when
        if action == "ajukan":
            p = services.ajukan(
                session, actor=pemohon, jenis_kode=plan.jenis, penduduk=plan.penduduk,
                isian=_isian(rng, jenis, session.desa.nama, when.date()))
        elif action == "lampiran":
            for nama in jenis.lampiran:
                services.tambah_lampiran(session, p, nama=nama, nama_berkas=f"{nama.lower().replace(' ', '-')}.pdf",
                                         mime="application/pdf", isi=contoh_pdf(nama), actor=pemohon)
        elif action == "verifikasi":
            services.verifikasi(session, p, staff[chain[p.langkah]])
        elif action == "tandatangani":
            started = time.perf_counter()
            services.tandatangani(session, p, staff["kepala_desa"], base_url=base_url)
            if p.nomor:
                issuing += time.perf_counter() - started
            _date_last_signature(p, when)
        elif action in ("tolak", "kembalikan"):
            role = chain[min(p.langkah, len(chain) - 1)]
            alasan = rng.choice(ALASAN_KEMBALI if action == "kembalikan" else ALASAN_TOLAK)
            services.tolak_atau_kembalikan(session, p, staff.get(role, staff["kepala_desa"]),
                                           kembalikan=action == "kembalikan", alasan=alasan)
        elif action == "ajukan_ulang":
            services.ajukan_ulang(session, p, pemohon)
        elif action == "batalkan":
            services.batalkan(session, p, pemohon)
        elif action == "serahkan":
            services.serahkan(session, p, staff["operator_desa"])
        session.flush()
    clock.now = None
    plan.id, plan.public_id, plan.status = p.id, p.public_id, p.status
    return issuing


def _date_last_signature(p: PermohonanSurat, when: datetime) -> None:
    """The signature block records when it was signed: the planned time, not the seeding time."""
    if p.penandatangan and p.nomor is None:
        p.penandatangan = [*p.penandatangan[:-1], {**p.penandatangan[-1], "waktu": when.isoformat()}]


def _place(engine: Engine, kode: str, tingkat: str, masuk: dict[Any, datetime]) -> int:
    """Run the pending ``surat.naik`` events of these requests inline (the job's code, marked done as the job
    base does), then date the items: entered when the level below signed, due after the level's SLA.

    A worker may be running (``kawasan demo``): an event whose job is running is locked by that job, so the
    ``FOR UPDATE`` waits for it to commit and then no longer finds it pending; its item is placed by then and
    gets dated below like the others. One the worker has not started is done here; its job then finds it done.
    """
    if not masuk:
        return 0
    placed = 0
    with engine.begin() as conn:
        events = conn.execute(
            text("SELECT id, payload FROM kawasan.outbox WHERE topic = :t AND desa_kode = :d AND status = 'pending' "
                 "AND payload->>'permohonan' = ANY(:p) ORDER BY id FOR UPDATE"),
            {"t": services.TOPIC_NAIK, "d": kode, "p": [str(k) for k in masuk]},
        ).all()
        for row in events:
            result = tasks.place_in_inbox(JobContext(conn, engine, row.id), kode, row.payload)
            conn.execute(
                text("UPDATE kawasan.outbox SET status = 'done', completed_at = now(), completed_by = 'demo', "
                     "result = CAST(:r AS jsonb), last_error = NULL WHERE id = :i"),
                {"i": row.id, "r": json.dumps({**result, "demo": True})},
            )
        for public_id, when in masuk.items():
            placed += conn.execute(
                text("""UPDATE kawasan.kotak_masuk SET masuk_pada = :m,
                            batas_waktu = :m + CASE tingkat WHEN 'kecamatan' THEN :kec ELSE :kab END
                        WHERE desa_kode = :d AND permohonan_id = :p AND tingkat = :t AND status = 'menunggu'"""),
                {"m": when, "d": kode, "p": public_id, "t": tingkat, "kec": services.SLA[katalog.KECAMATAN],
                 "kab": services.SLA[katalog.KABUPATEN]},
            ).rowcount
    return placed


def _decide(engine: Engine, kode: str, plans: list[Rencana], clock: Clock, camat: Principal, jabatan: str,
            base_url: str) -> float:
    """The camat's decisions: the inbox item is closed (as the decision endpoint does) and the decision is
    applied in the desa (as the ``surat.keputusan`` job does). Returns the seconds spent issuing."""
    issuing = 0.0
    with engine.begin() as conn:
        for plan in list(plans):
            keputusan, when = plan.keputusan_camat
            closed = conn.execute(
                text("UPDATE kawasan.kotak_masuk SET status = 'diputus', keputusan = :k, alasan = :a, "
                     "diputus_pada = :w, diputus_oleh = :o, diputus_nama = :n "
                     "WHERE desa_kode = :d AND permohonan_id = :p AND tingkat = 'kecamatan' AND status = 'menunggu'"),
                {"k": keputusan, "a": _alasan_camat(plan), "w": when, "o": camat.subject, "n": camat.name,
                 "d": kode, "p": plan.public_id},
            ).rowcount
            if not closed:  # no open item to decide on: leave the request waiting for the camat
                log.warning("demo letters: no inbox item for %s in %s; left waiting", plan.public_id, kode)
                plans.remove(plan)
    with DesaSession(engine, kode) as session:
        event.listen(session, "before_flush", clock.stamp)
        for plan in plans:
            keputusan, when = plan.keputusan_camat
            clock.now = when
            permohonan = session.get(PermohonanSurat, plan.id)
            started = time.perf_counter()
            services.terapkan_keputusan(
                session, permohonan, tingkat=katalog.KECAMATAN, putaran=permohonan.putaran, keputusan=keputusan,
                oleh={"subject": camat.subject, "nama": camat.name, "peran": "camat", "jabatan": jabatan},
                alasan=_alasan_camat(plan), base_url=base_url,
            )
            if permohonan.nomor:
                issuing += time.perf_counter() - started
            if permohonan.status == services.MENUNGGU_KABUPATEN:
                _date_last_signature(permohonan, when)
            session.flush()
            plan.status = permohonan.status
        clock.now = None
        session.commit()
    return issuing


def _history_told(engine: Engine, kode: str, public_ids: list[Any]) -> None:
    """The seeded letters' status news (``surat.kabar``) is history, not news: mark those events done rather
    than have the worker deliver hundreds of them (no webhook or address to deliver to in the demo anyway).
    A job already running holds its row: this waits for it, then finds it done."""
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE kawasan.outbox SET status = 'done', completed_at = now(), completed_by = 'demo', "
                 "result = CAST(:r AS jsonb) WHERE topic = 'surat.kabar' AND desa_kode = :d AND status = 'pending' "
                 "AND payload->>'permohonan' = ANY(:p)"),
            {"d": kode, "p": [str(i) for i in public_ids], "r": json.dumps({"skip": "demo history"})},
        )


def _alasan_camat(plan: Rencana) -> str | None:
    if plan.keputusan_camat and plan.keputusan_camat[0] == "kembalikan":
        return ALASAN_CAMAT[0] if plan.jenis == "S-04" else ALASAN_CAMAT[1]
    return None
