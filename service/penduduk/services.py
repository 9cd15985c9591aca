"""Population register operations: residents, families, wilayah and life events (peristiwa).

Every operation runs in the caller's desa session and transaction. Each life event writes the mutation
log and an outbox event that marks the village's figures dirty (coalesced: one pending event per desa),
in the same transaction as the change.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import Row, and_, func, select, text, tuple_, update

from service.penduduk.models import Keluarga, MutasiPenduduk, Penduduk, RiwayatNoKK, Wilayah
from service.penduduk.validasi import check_penduduk
from tenants.session import DesaSession
from workers.outbox import emit

TOPIC_BERUBAH = "penduduk.berubah"

LAHIR, MATI, PINDAH_KELUAR, HILANG, DATANG, PERGI, KOREKSI, PECAH_KK, GABUNG_KK = 1, 2, 3, 4, 5, 6, 7, 8, 9
#: Which status_dasar each departure event leaves behind.
STATUS_AFTER = {MATI: 2, PINDAH_KELUAR: 3, HILANG: 4, PERGI: 6}
HIDUP = 1
KEPALA_KELUARGA = 1


class InvalidData(ValueError):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        field, message = next(iter(errors.items()))
        super().__init__(f"{field}: {message}")


class DuplicateNik(Exception):
    def __init__(self, public_id):
        self.public_id = str(public_id)
        super().__init__(f"NIK sudah terdaftar di desa ini sebagai penduduk {self.public_id} / NIK already registered")


class NotFound(LookupError):
    pass


class WrongState(Exception):
    """The resident or family is not in a state that allows this operation (409)."""


@dataclass
class Saved:
    penduduk: Penduduk
    warnings: dict[str, str]


# --- NIK index (shared, hashed) ------------------------------------------------------------------------


def _secret() -> bytes:
    if has_app_context():
        return current_app.extensions["kawasan"].settings.secret_key.encode()
    from service.runtime import get_runtime

    return get_runtime().settings.secret_key.encode()


def nik_hmacs(niks: Iterable[str]) -> list[int]:
    """The NIKs' keys in the shared index: the first 64 bits of each one's HMAC-SHA256 with the deployment's
    secret, as a signed number (s0008). The index never holds a NIK."""
    key = _secret()
    return [int.from_bytes(hmac.digest(key, nik.encode(), "sha256")[:8], "big", signed=True) for nik in niks]


def nik_hmac(nik: str) -> int:
    return nik_hmacs((nik,))[0]


def index_nik(session: DesaSession, nik: str, hidup: bool) -> None:
    session.execute(
        text("INSERT INTO kawasan.nik_index (nik_hmac, desa_kode, hidup) VALUES (:h, :d, :a) "
             "ON CONFLICT (nik_hmac, desa_kode) DO UPDATE SET hidup = EXCLUDED.hidup"),
        {"h": nik_hmac(nik), "d": session.desa.kode, "a": hidup},
    )


def alive_elsewhere(session: DesaSession, nik: str) -> list[str]:
    """Other desa of this deployment where this NIK is registered as alive."""
    return list(session.scalars(
        text("SELECT desa_kode FROM kawasan.nik_index WHERE nik_hmac = :h AND hidup AND desa_kode <> :d "
             "ORDER BY desa_kode"),
        {"h": nik_hmac(nik), "d": session.desa.kode},
    ))


def mark_changed(session: DesaSession) -> None:
    emit(session, TOPIC_BERUBAH, desa_kode=session.desa.kode, key=f"{TOPIC_BERUBAH}:{session.desa.kode}")


# --- look-ups -------------------------------------------------------------------------------------------


def get_penduduk(session: DesaSession, public_id) -> Penduduk:
    found = session.scalar(select(Penduduk).where(Penduduk.public_id == public_id))
    if found is None:
        raise NotFound("penduduk tidak ditemukan / resident not found")
    return found


def get_keluarga(session: DesaSession, public_id) -> Keluarga:
    found = session.scalar(select(Keluarga).where(Keluarga.public_id == public_id))
    if found is None:
        raise NotFound("keluarga tidak ditemukan / family not found")
    return found


def find_by_nik(session: DesaSession, nik: str) -> Penduduk | None:
    return session.scalar(select(Penduduk).where(Penduduk.nik == nik))


# --- lists (the API and the portal share these) ---------------------------------------------------------

#: Filters of the resident list (``status_dasar`` defaults to HIDUP).
FILTER_PENDUDUK = ("sex", "agama_id", "pendidikan_kk_id", "pekerjaan_id", "status_kawin")


@dataclass
class Halaman:
    """One page of a keyset-paginated list: ``next`` is the cursor of the following page, ``None`` at the end."""

    items: list[Row]
    next: str | None


def cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def uncursor(raw: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        values = None
    if not isinstance(values, list) or len(values) != 2:
        raise InvalidData({"after": "cursor tidak sah / invalid cursor"})
    return values


def tsquery(q: str) -> str | None:
    """Name words as prefix terms for ``to_tsquery('simple', …)`` (the GIN index on ``nama_tsv``)."""
    words = [w for w in re.findall(r"\w+", q.lower()) if w]
    return " & ".join(f"{w}:*" for w in words) or None


def years_ago(years: int) -> date:
    today = date.today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def wilayah_subtree(session: DesaSession, wilayah_id: int) -> list[int]:
    """A dusun, RW or RT and everything under it."""
    return list(session.scalars(text(
        "WITH RECURSIVE t(id) AS (SELECT id FROM wilayah WHERE id = :w "
        "UNION ALL SELECT w.id FROM wilayah w JOIN t ON w.induk_id = t.id) SELECT id FROM t"), {"w": wilayah_id}))


def daftar_penduduk(session: DesaSession, args: Mapping[str, Any], *, limit: int = 50) -> Halaman:
    """Residents by name then id, filtered (``schemas.PendudukListArgs``: q, wilayah_id, sex, umur_min/max,
    status_dasar, agama_id, pendidikan_kk_id, pekerjaan_id, status_kawin, after). Rows carry the NIK: the
    caller audits the read."""
    where = [Penduduk.status_dasar == args.get("status_dasar", HIDUP)]
    for name in FILTER_PENDUDUK:
        if args.get(name) is not None:
            where.append(getattr(Penduduk, name) == args[name])
    if args.get("umur_min") is not None:
        where.append(Penduduk.tanggal_lahir <= years_ago(args["umur_min"]))
    if args.get("umur_max") is not None:
        where.append(Penduduk.tanggal_lahir > years_ago(args["umur_max"] + 1))
    if args.get("wilayah_id") is not None:
        where.append(Penduduk.wilayah_id.in_(wilayah_subtree(session, args["wilayah_id"])))
    if args.get("after"):
        nama, last_id = uncursor(args["after"])
        where.append(tuple_(Penduduk.nama, Penduduk.id) > tuple_(nama, last_id))
    query = tsquery(args["q"]) if args.get("q") else None
    if query:
        # Match through the GIN index first, then sort the (few) matches: walking the name index
        # and testing every row is what makes late-alphabet names slow (bench/kependudukan.py).
        matches = (select(Penduduk.id).where(Penduduk.nama_tsv.op("@@")(func.to_tsquery("simple", query)), *where)
                   .cte("cocok").prefix_with("MATERIALIZED", dialect="postgresql"))
        where = [Penduduk.id.in_(select(matches.c.id))]
    rows = session.execute(
        select(Penduduk.id, Penduduk.public_id, Penduduk.nik, Penduduk.nama, Penduduk.sex,
               Penduduk.tanggal_lahir, Penduduk.status_dasar, Penduduk.wilayah_id,
               Keluarga.public_id.label("keluarga_public_id"))
        .outerjoin(Keluarga, Keluarga.id == Penduduk.keluarga_id)
        .where(and_(*where)).order_by(Penduduk.nama, Penduduk.id).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Halaman(list(rows), cursor([rows[-1].nama, rows[-1].id]) if more else None)


def daftar_keluarga(session: DesaSession, args: Mapping[str, Any], *, limit: int = 50) -> Halaman:
    """Active families by head's name (keyset): ``q`` searches the head's name, ``wilayah_id`` a subtree."""
    kepala = select(Penduduk.nama).where(Penduduk.id == Keluarga.kepala_id).scalar_subquery()
    jumlah = select(func.count()).where(Penduduk.keluarga_id == Keluarga.id,
                                        Penduduk.status_dasar == HIDUP).scalar_subquery()
    sort = func.coalesce(kepala, "")
    query = select(Keluarga.id, Keluarga.public_id, Keluarga.no_kk, Keluarga.alamat, Keluarga.wilayah_id,
                   sort.label("kepala"), jumlah.label("jumlah")).where(Keluarga.aktif)
    words = tsquery(args["q"]) if args.get("q") else None
    if words:
        query = query.where(select(Penduduk.id).where(
            Penduduk.id == Keluarga.kepala_id,
            Penduduk.nama_tsv.op("@@")(func.to_tsquery("simple", words))).exists())
    if args.get("wilayah_id") is not None:
        query = query.where(Keluarga.wilayah_id.in_(wilayah_subtree(session, args["wilayah_id"])))
    if args.get("after"):
        name, last_id = uncursor(args["after"])
        query = query.where(tuple_(sort, Keluarga.id) > tuple_(name, last_id))
    rows = session.execute(query.order_by(sort, Keluarga.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Halaman(list(rows), cursor([rows[-1].kepala, rows[-1].id]) if more else None)


def anggota_keluarga(session: DesaSession, keluarga: Keluarga) -> list[Penduduk]:
    """Every member (any status), head first, then by birth date."""
    return list(session.scalars(select(Penduduk).where(Penduduk.keluarga_id == keluarga.id)
                                .order_by(Penduduk.kk_level, Penduduk.tanggal_lahir)))


def mutasi_penduduk(session: DesaSession, penduduk: Penduduk, *, limit: int = 50) -> list[MutasiPenduduk]:
    """One resident's life events and corrections, newest first."""
    return list(session.scalars(select(MutasiPenduduk).where(MutasiPenduduk.penduduk_id == penduduk.id)
                                .order_by(MutasiPenduduk.id.desc()).limit(limit)))


def riwayat_no_kk(session: DesaSession, keluarga: Keluarga) -> list[RiwayatNoKK]:
    """Every KK number the family has had, oldest first."""
    return list(session.scalars(select(RiwayatNoKK).where(RiwayatNoKK.keluarga_id == keluarga.id)
                                .order_by(RiwayatNoKK.id)))


# --- families -------------------------------------------------------------------------------------------


def create_keluarga(session: DesaSession, *, no_kk: str, alamat: str | None = None, wilayah_id: int | None = None,
                    kelas_sosial: int | None = None, tanggal_daftar: date | None = None,
                    sebab: str = "keluarga baru") -> Keluarga:
    from service.penduduk.nik import check_no_kk

    checked = check_no_kk(no_kk)
    if checked.errors:
        raise InvalidData({"no_kk": checked.errors[0]})
    if session.scalar(select(Keluarga.id).where(Keluarga.no_kk == checked.value)):
        raise InvalidData({"no_kk": "Nomor KK sudah terdaftar / KK number already registered"})
    _check_wilayah(session, wilayah_id)
    keluarga = Keluarga(no_kk=checked.value, alamat=alamat, wilayah_id=wilayah_id, kelas_sosial=kelas_sosial,
                        tanggal_daftar=tanggal_daftar or date.today())
    session.add(keluarga)
    session.flush()
    session.add(RiwayatNoKK(keluarga_id=keluarga.id, no_kk=keluarga.no_kk, sebab=sebab))
    return keluarga


def ganti_no_kk(session: DesaSession, keluarga: Keluarga, no_kk_baru: str, *, sebab: str) -> None:
    """A family gets a new KK number (moved, split, lost its head): the old one stays in the history."""
    from service.penduduk.nik import check_no_kk

    checked = check_no_kk(no_kk_baru)
    if checked.errors:
        raise InvalidData({"no_kk": checked.errors[0]})
    if session.scalar(select(Keluarga.id).where(Keluarga.no_kk == checked.value, Keluarga.id != keluarga.id)):
        raise InvalidData({"no_kk": "Nomor KK sudah terdaftar / KK number already registered"})
    session.execute(update(RiwayatNoKK).where(RiwayatNoKK.keluarga_id == keluarga.id,
                                              RiwayatNoKK.berlaku_sampai.is_(None)).values(berlaku_sampai=date.today()))
    keluarga.no_kk = checked.value
    keluarga.diubah_pada = func.now()
    session.add(RiwayatNoKK(keluarga_id=keluarga.id, no_kk=checked.value, sebab=sebab))


def _check_wilayah(session: DesaSession, wilayah_id: int | None) -> None:
    if wilayah_id is not None and session.get(Wilayah, wilayah_id) is None:
        raise InvalidData({"wilayah_id": "wilayah tidak ditemukan / unknown wilayah"})


def _members(session: DesaSession, keluarga_id: int) -> list[Penduduk]:
    return list(session.scalars(select(Penduduk).where(Penduduk.keluarga_id == keluarga_id,
                                                       Penduduk.status_dasar == HIDUP).order_by(Penduduk.kk_level)))


def _refresh_head(session: DesaSession, keluarga: Keluarga) -> None:
    heads = [p for p in _members(session, keluarga.id) if p.kk_level == KEPALA_KELUARGA]
    keluarga.kepala_id = heads[0].id if heads else None
    if not _members(session, keluarga.id):
        keluarga.aktif = False


# --- residents ------------------------------------------------------------------------------------------


def _log(session: DesaSession, penduduk: Penduduk, kode: int, tanggal: date | None, actor: str,
         catatan: str | None = None, data: dict[str, Any] | None = None) -> MutasiPenduduk:
    no_kk = session.scalar(select(Keluarga.no_kk).where(Keluarga.id == penduduk.keluarga_id)) \
        if penduduk.keluarga_id else None
    entry = MutasiPenduduk(penduduk_id=penduduk.id, kode_peristiwa=kode, tanggal_peristiwa=tanggal or date.today(),
                           no_kk=no_kk, catatan=catatan, data=data or {}, oleh=actor)
    session.add(entry)
    return entry


def add_penduduk(session: DesaSession, raw: dict[str, Any], *, actor: str, peristiwa: int | None = None,
                 tanggal: date | None = None, catatan: str | None = None) -> Saved:
    """Register a resident: by birth (LAHIR), arrival (DATANG) or plain registration (``None``)."""
    checked = check_penduduk(raw)
    if checked.errors:
        raise InvalidData(checked.errors)
    values = checked.values
    values.pop("no_kk", None)
    existing = find_by_nik(session, values["nik"])
    if existing is not None:
        raise DuplicateNik(existing.public_id)
    if values.get("keluarga_id") is not None and session.get(Keluarga, values["keluarga_id"]) is None:
        raise InvalidData({"keluarga_id": "keluarga tidak ditemukan / unknown family"})
    _check_wilayah(session, values.get("wilayah_id"))
    warnings = dict(checked.warnings)
    elsewhere = alive_elsewhere(session, values["nik"])
    if elsewhere:
        warnings["nik"] = f"terdaftar hidup di desa lain: {', '.join(elsewhere)} / registered as alive elsewhere"
    penduduk = Penduduk(**values)
    session.add(penduduk)
    session.flush()
    if penduduk.keluarga_id and penduduk.kk_level == KEPALA_KELUARGA:
        session.get(Keluarga, penduduk.keluarga_id).kepala_id = penduduk.id
    index_nik(session, penduduk.nik, True)
    if peristiwa is not None:
        _log(session, penduduk, peristiwa, tanggal, actor, catatan,
             {"alamat_sebelumnya": values.get("alamat_sebelumnya")} if peristiwa == DATANG else None)
    mark_changed(session)
    return Saved(penduduk, warnings)


def koreksi(session: DesaSession, penduduk: Penduduk, raw: dict[str, Any], *, actor: str,
            catatan: str | None = None) -> Saved:
    """Correct data fields; the mutation log keeps before and after of what changed."""
    checked = check_penduduk(raw, partial=True)
    if checked.errors:
        raise InvalidData(checked.errors)
    values = {k: v for k, v in checked.values.items() if k != "no_kk"}
    if "nik" in values and values["nik"] != penduduk.nik:
        other = find_by_nik(session, values["nik"])
        if other is not None:
            raise DuplicateNik(other.public_id)
    if "keluarga_id" in values:
        raise InvalidData({"keluarga_id": "pakai peristiwa pecah/gabung KK / use split or join KK"})
    _check_wilayah(session, values.get("wilayah_id"))
    before, after = {}, {}
    for name, value in values.items():
        old = getattr(penduduk, name)
        if old != value:
            before[name], after[name] = _plain(old), _plain(value)
            setattr(penduduk, name, value)
    if not after:
        return Saved(penduduk, dict(checked.warnings))
    old_nik = before.get("nik")
    penduduk.diubah_pada = func.now()
    session.flush()
    if old_nik:
        session.execute(text("DELETE FROM kawasan.nik_index WHERE nik_hmac = :h AND desa_kode = :d"),
                        {"h": nik_hmac(old_nik), "d": session.desa.kode})
        index_nik(session, penduduk.nik, penduduk.status_dasar == HIDUP)
    # Personal values (NIK, names of parents) stay in the desa's own log, never in the shared audit log.
    _log(session, penduduk, KOREKSI, None, actor, catatan, {"sebelum": before, "sesudah": after})
    mark_changed(session)
    return Saved(penduduk, dict(checked.warnings))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def peristiwa_keluar(session: DesaSession, penduduk: Penduduk, kode: int, *, tanggal: date, actor: str,
                     catatan: str | None = None, data: dict[str, Any] | None = None) -> MutasiPenduduk:
    """mati, pindah keluar, hilang, pergi: the resident leaves the living register."""
    if tanggal > date.today():
        raise InvalidData({"tanggal": "tanggal di masa depan / date in the future"})
    if penduduk.status_dasar != HIDUP:
        raise WrongState(f"penduduk berstatus {penduduk.status_dasar}, bukan HIDUP / not alive in the register")
    entry = _log(session, penduduk, kode, tanggal, actor, catatan, data)
    penduduk.status_dasar = STATUS_AFTER[kode]
    penduduk.diubah_pada = func.now()
    session.flush()
    if penduduk.keluarga_id:
        _refresh_head(session, session.get(Keluarga, penduduk.keluarga_id))
    index_nik(session, penduduk.nik, False)
    mark_changed(session)
    return entry


def pecah_kk(session: DesaSession, keluarga: Keluarga, anggota: list[Penduduk], kepala: Penduduk, *, no_kk_baru: str,
             actor: str, tanggal: date, alamat: str | None = None) -> Keluarga:
    """Some members leave a family and form a new one with its own KK number."""
    if kepala not in anggota:
        raise InvalidData({"kepala": "kepala keluarga baru harus termasuk anggota / the new head must be a member"})
    for person in anggota:
        if person.keluarga_id != keluarga.id or person.status_dasar != HIDUP:
            raise InvalidData({"anggota": "semua anggota harus anggota hidup keluarga ini / members must be alive "
                                          "members of this family"})
    baru = create_keluarga(session, no_kk=no_kk_baru, alamat=alamat or keluarga.alamat,
                           wilayah_id=keluarga.wilayah_id, sebab="pecah KK")
    for person in anggota:
        _log(session, person, PECAH_KK, tanggal, actor, data={"dari_no_kk": keluarga.no_kk, "ke_no_kk": baru.no_kk})
        person.keluarga_id = baru.id
        person.kk_level = KEPALA_KELUARGA if person is kepala else (person.kk_level if person.kk_level != 1 else 9)
    session.flush()
    _refresh_head(session, baru)
    _refresh_head(session, keluarga)
    mark_changed(session)
    return baru


def gabung_kk(session: DesaSession, tujuan: Keluarga, anggota: list[Penduduk], *, kk_level: int, actor: str,
              tanggal: date) -> None:
    """Residents join an existing family (marriage, a child taken in)."""
    if not tujuan.aktif:
        raise WrongState("keluarga tujuan tidak aktif / the family is not active")
    for person in anggota:
        if person.status_dasar != HIDUP:
            raise InvalidData({"anggota": "hanya penduduk hidup / only living residents"})
        if person.keluarga_id == tujuan.id:
            raise InvalidData({"anggota": "sudah anggota keluarga ini / already a member"})
    sources = {p.keluarga_id for p in anggota if p.keluarga_id}
    for person in anggota:
        old = session.get(Keluarga, person.keluarga_id) if person.keluarga_id else None
        _log(session, person, GABUNG_KK, tanggal, actor,
             data={"dari_no_kk": old.no_kk if old else None, "ke_no_kk": tujuan.no_kk})
        person.keluarga_id = tujuan.id
        person.kk_level = kk_level
    session.flush()
    for keluarga_id in sources:
        _refresh_head(session, session.get(Keluarga, keluarga_id))
    mark_changed(session)
