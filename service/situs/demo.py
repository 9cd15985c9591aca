"""Demo content of the pilot villages' public sites: officials, categories, a few articles (one with a picture),
running text, an approved and a pending comment. Synthetic; written once per desa (kept when present)."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw
from sqlalchemy import Engine, func, select

from service.regions.codes import parse_kode
from service.regions.services import villages_under
from service.situs import services
from service.situs.models import Artikel
from tenants.localnames import sebutan
from tenants.session import DesaNotFound, DesaSession

NAMA = ("Syamsuddin", "Hasan Basri", "Zulkifli", "Nurhasanah", "Rosmawati", "Abdul Halim", "Yusnidar", "Jamaluddin",
        "Sukardi", "Mardiana", "Ilham Saputra", "Fauziah", "Ramli", "Herlina", "Aminuddin")


def _gambar_sawah(rng: random.Random) -> bytes:
    """A small drawn landscape (sky, sun, hills, rice field) so the demo needs no photo files."""
    img = Image.new("RGB", (640, 360), (135, 196, 235))
    draw = ImageDraw.Draw(img)
    draw.ellipse((480, 40, 560, 120), fill=(255, 214, 90))
    for i, color in enumerate(((58, 125, 68), (44, 104, 54))):
        base = 210 + 30 * i
        bukit = [(x, base - rng.randint(20, 70)) for x in range(0, 700, 80)]
        draw.polygon([(0, base), *bukit, (640, 360), (0, 360)], fill=color)
    draw.rectangle((0, 270, 640, 360), fill=(120, 170, 60))
    for y in range(278, 360, 10):
        draw.line((0, y, 640, y + rng.randint(-4, 4)), fill=(96, 146, 44), width=2)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


def _isi_desa(session: DesaSession, nama_desa: str, rng: random.Random) -> bool:
    if session.scalar(select(func.count()).select_from(Artikel)):
        return False
    names = sebutan(session)
    desa, kepala, dusun = names["sebutan_desa"], names["sebutan_kepala_desa"], names["sebutan_dusun"]
    orang = rng.sample(NAMA, 8)
    jabatan = [kepala, f"Sekretaris {desa}", "Kaur Keuangan", "Kaur Umum dan Perencanaan", "Kasi Pemerintahan",
               "Kasi Kesejahteraan"]
    foto = services.simpan_gambar(session, _gambar_sawah(rng))
    for urut, (nama, jab) in enumerate(zip(orang, jabatan, strict=False)):
        services.simpan_perangkat(session, None, {"nama": nama, "jabatan": jab, "nip": None, "urut": urut,
                                                  "aktif": True}, foto=None)
    for urut, (wilayah, _) in enumerate(services.daftar_dusun(session)[:6]):
        services.simpan_perangkat(session, None, {"nama": orang[(urut + 6) % len(orang)],
                                                  "jabatan": f"Kepala {dusun} {wilayah}", "nip": None,
                                                  "urut": 10 + urut, "aktif": True}, foto=None)
    kategori = {nama: services.simpan_kategori(session, None, {"nama": nama, "urut": i, "slug": services.slugify(nama)})
                for i, nama in enumerate(("Berita", "Pengumuman", "Kegiatan"))}
    artikel = [
        ("Kegiatan", f"Gotong royong membersihkan saluran irigasi {desa} {nama_desa}",
         "Warga bersama perangkat membersihkan saluran irigasi menjelang musim tanam.",
         f"Pada hari Minggu pagi, warga {desa} {nama_desa} bergotong royong membersihkan saluran irigasi "
         f"sepanjang dua kilometer.\n\n{kepala} mengucapkan terima kasih kepada seluruh warga yang hadir. "
         "Saluran yang bersih membuat air sampai ke sawah di ujung kampung.", None),
        ("Pengumuman", "Jadwal Posyandu balita dan lansia bulan ini",
         "Posyandu dibuka setiap Sabtu pekan kedua di balai pertemuan.",
         "Posyandu balita dan lansia dibuka pada Sabtu pekan kedua, pukul 08.00–12.00, di balai pertemuan.\n\n"
         "Bawalah buku KIA bagi balita dan kartu berobat bagi lansia.", foto),
        ("Berita", "Penyaluran BLT Dana Desa tahap pertama",
         "BLT Dana Desa tahap pertama disalurkan kepada keluarga penerima manfaat.",
         "Bantuan langsung tunai dari Dana Desa tahap pertama telah disalurkan di kantor "
         f"{desa.lower()}.\n\nPenerima yang belum mengambil dapat menghubungi Kaur Keuangan pada jam kerja.", None),
    ]
    dibuat = []
    for nama_kategori, judul, ringkasan, isi, gambar in artikel:
        item = services.simpan_artikel(session, None, {
            "judul": judul, "ringkasan": ringkasan, "isi": isi, "kategori_id": kategori[nama_kategori].id,
            "boleh_komentar": True}, gambar=gambar, penulis=f"Operator {nama_desa}")
        services.ubah_status_artikel(item, True)
        dibuat.append(item)
    services.simpan_artikel(session, None, {
        "judul": "Rancangan APBDes tahun depan (draf)", "ringkasan": None, "kategori_id": kategori["Berita"].id,
        "isi": "Draf untuk dibahas bersama BPD; belum untuk umum.", "boleh_komentar": False},
        gambar=None, penulis=f"Operator {nama_desa}")
    disetujui = services.kirim_komentar(session, dibuat[0], nama="Pak Ahmad", isi="Mantap, semoga panen tahun ini "
                                                                                  "berhasil.")
    services.moderasi_komentar(session, disetujui.id, "setujui", f"Operator {nama_desa}")
    services.kirim_komentar(session, dibuat[1], nama="Bu Yanti", isi="Apakah posyandu juga buka untuk ibu hamil?")
    for urut, teks in enumerate((f"Selamat datang di situs resmi {desa} {nama_desa}.",
                                 "Posyandu balita dan lansia: Sabtu pekan kedua, pukul 08.00 di balai pertemuan.")):
        services.simpan_teks(session, None, {"teks": teks, "tautan": None, "urut": urut, "aktif": True})
    return True


def seed_situs_demo(engine: Engine, kecamatan: str) -> int:
    """Fill the public site of every provisioned village of ``kecamatan`` that has no article yet."""
    with engine.connect() as conn:
        villages = villages_under(conn, parse_kode(kecamatan))
    filled = 0
    for kode, nama in villages:
        try:
            with DesaSession(engine, kode) as session:
                if _isi_desa(session, nama, random.Random(kode)):
                    session.commit()
                    filled += 1
        except DesaNotFound:
            continue  # not provisioned yet
    return filled
