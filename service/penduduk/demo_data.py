"""A synthetic but plausible population register for one desa (the demo's villages and the benchmarks).

``isi_desa(engine, kode)`` fills an empty desa with families and residents shaped like a rural Jambi
village: 2–5 dusun/kampung with RW and RT (heads are residents), households of a head, a spouse and
0–5 children, some single-person, widowed and three-generation households, a young-heavy age pyramid,
mostly Muslim Melayu Jambi families with Javanese transmigrants and a few Minang, Sunda, Kerinci, Batak
and Balinese ones, farmers and rubber/oil-palm labourers, schooling by age, identity documents, and the
last twelve months' births, deaths, arrivals and departures in the mutation log.

Everything is derived from one seed (by default the desa code), so a desa always gets the same register
(for the same reference date). Numbers are valid and never collide across the desa of a kecamatan: a
NIK is ``kecamatan + birth date (+40 for women) + serial`` and a Nomor KK ``kecamatan + issue date +
serial``, where the serial is ``slot + villages_in_kecamatan * k`` with the desa's slot its position in
the kecamatan; the fixed residents of ``service.demo`` are never generated.

Fast: the rows are written with COPY in one desa transaction (ids reserved from the tables' own
sequences), the hashed NIK index with one INSERT … SELECT, and one ``penduduk.berubah`` event.
"""

from __future__ import annotations

import json
import logging
import random
import time
from bisect import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from faker import Faker
from sqlalchemy import Engine, text

from service.db import SHARED_SCHEMA
from service.penduduk import services
from service.penduduk.referensi import PEKERJAAN
from service.regions.codes import parse_desa_kode
from tenants.session import DesaNotFound, DesaSession

log = logging.getLogger(__name__)

ACTOR = "demo"
DAY = timedelta(days=1)
YEAR_DAYS = 365.2425

# --- code lists (OpenSID codes, see referensi.py) ---------------------------------------------------------

KEPALA, ISTRI, ANAK, MENANTU, CUCU, ORANGTUA, MERTUA, FAMILI = 1, 3, 4, 5, 6, 7, 8, 9
BELUM_KAWIN, KAWIN, CERAI_HIDUP, CERAI_MATI = 1, 2, 3, 4
ISLAM, KRISTEN, KATOLIK, HINDU = 1, 2, 3, 4
HIDUP, MATI, PINDAH = 1, 2, 3
_P = {name: code for code, name in PEKERJAAN.items()}


def _job(name: str) -> int:
    return _P[name]


BELUM_BEKERJA, MRT, PELAJAR = _job("BELUM/TIDAK BEKERJA"), _job("MENGURUS RUMAH TANGGA"), _job("PELAJAR/MAHASISWA")
PERANGKAT_DESA = _job("PERANGKAT DESA")


class Pick:
    """A weighted choice, drawn with one ``random()`` call."""

    __slots__ = ("values", "cum", "total")

    def __init__(self, weighted: dict[Any, float] | Iterable[tuple[Any, float]]):
        pairs = list(weighted.items() if isinstance(weighted, dict) else weighted)
        self.values = [v for v, _ in pairs]
        self.cum = list(accumulate(w for _, w in pairs))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.values[bisect(self.cum, rng.random() * self.total)]


def _jobs_named(weights: dict[str, float]) -> Pick:
    return Pick({_job(name): w for name, w in weights.items()})


# Occupations by sex, age and schooling (rural Bungo: rubber and oil palm smallholders and labourers).
KERJA_LAKI_RENDAH = _jobs_named({
    "PETANI/PEKEBUN": 55, "BURUH TANI/PERKEBUNAN": 18, "BURUH HARIAN LEPAS": 7, "WIRASWASTA": 5, "PEDAGANG": 4,
    "SOPIR": 3, "TUKANG KAYU": 2, "TUKANG BATU": 2, "PETERNAK": 1, "BELUM/TIDAK BEKERJA": 2, "NELAYAN/PERIKANAN": 1,
})
KERJA_LAKI_SLTA = _jobs_named({
    "PETANI/PEKEBUN": 36, "BURUH TANI/PERKEBUNAN": 11, "WIRASWASTA": 14, "PEDAGANG": 8, "KARYAWAN SWASTA": 9,
    "SOPIR": 4, "BURUH HARIAN LEPAS": 5, "PERANGKAT DESA": 2, "KARYAWAN HONORER": 3, "MEKANIK": 2,
    "TENTARA NASIONAL INDONESIA (TNI)": 1, "KEPOLISIAN RI (POLRI)": 1, "BELUM/TIDAK BEKERJA": 2,
    "USTADZ/MUBALIGH": 1, "TUKANG LAS/PANDAI BESI": 1,
})
KERJA_LAKI_TINGGI = _jobs_named({
    "PEGAWAI NEGERI SIPIL (PNS)": 18, "GURU": 17, "KARYAWAN SWASTA": 14, "WIRASWASTA": 12, "PETANI/PEKEBUN": 14,
    "KARYAWAN HONORER": 10, "PERANGKAT DESA": 4, "PEDAGANG": 4, "PERAWAT": 2, "KARYAWAN BUMN": 2,
    "DOKTER": 1, "BELUM/TIDAK BEKERJA": 2,
})
KERJA_PEREMPUAN_RENDAH = _jobs_named({
    "MENGURUS RUMAH TANGGA": 52, "PETANI/PEKEBUN": 27, "BURUH TANI/PERKEBUNAN": 8, "PEDAGANG": 6, "WIRASWASTA": 4,
    "TUKANG JAHIT": 2, "BURUH HARIAN LEPAS": 1,
})
KERJA_PEREMPUAN_SLTA = _jobs_named({
    "MENGURUS RUMAH TANGGA": 45, "PETANI/PEKEBUN": 17, "PEDAGANG": 10, "WIRASWASTA": 9, "KARYAWAN SWASTA": 6,
    "KARYAWAN HONORER": 5, "BURUH TANI/PERKEBUNAN": 4, "TUKANG JAHIT": 2, "PENATA RIAS": 1, "BELUM/TIDAK BEKERJA": 1,
})
KERJA_PEREMPUAN_TINGGI = _jobs_named({
    "GURU": 28, "PEGAWAI NEGERI SIPIL (PNS)": 13, "BIDAN": 10, "PERAWAT": 8, "KARYAWAN HONORER": 12,
    "MENGURUS RUMAH TANGGA": 12, "KARYAWAN SWASTA": 8, "WIRASWASTA": 6, "PEDAGANG": 3,
})
KERJA_LAKI_TUA = _jobs_named({"PETANI/PEKEBUN": 45, "BELUM/TIDAK BEKERJA": 38, "PENSIUNAN": 6, "PEDAGANG": 5,
                              "WIRASWASTA": 4, "IMAM MASJID": 2})
KERJA_PEREMPUAN_TUA = _jobs_named({"MENGURUS RUMAH TANGGA": 45, "BELUM/TIDAK BEKERJA": 33, "PETANI/PEKEBUN": 20,
                                   "PENSIUNAN": 2})
KERJA_MUDA_LAKI = _jobs_named({"PETANI/PEKEBUN": 25, "BURUH TANI/PERKEBUNAN": 25, "BELUM/TIDAK BEKERJA": 20,
                               "BURUH HARIAN LEPAS": 10, "WIRASWASTA": 8, "KARYAWAN SWASTA": 7, "SOPIR": 3,
                               "MEKANIK": 2})
KERJA_MUDA_PEREMPUAN = _jobs_named({"BELUM/TIDAK BEKERJA": 40, "MENGURUS RUMAH TANGGA": 15, "PETANI/PEKEBUN": 15,
                                    "KARYAWAN SWASTA": 10, "PEDAGANG": 8, "WIRASWASTA": 6, "KARYAWAN HONORER": 6})

# Highest schooling finished (pendidikan_kk) of adults, by birth cohort.
PENDIDIKAN_TUA = Pick({1: 14, 2: 28, 3: 40, 4: 9, 5: 7, 8: 2})  # born before 1960
PENDIDIKAN_MADYA = Pick({1: 3, 2: 10, 3: 38, 4: 22, 5: 21, 6: 1, 7: 1, 8: 4})  # 1960–1979
PENDIDIKAN_MUDA = Pick({2: 3, 3: 18, 4: 25, 5: 42, 6: 1, 7: 3, 8: 8})  # 1980 and later
GOLONGAN_DARAH = Pick({13: 58, 1: 9, 2: 11, 3: 3, 4: 19})
KELAS_SOSIAL = Pick({1: 20, 2: 35, 3: 30, 4: 12, 5: 3})
CACAT = Pick({7: 985, 1: 5, 2: 3, 3: 3, 4: 2, 6: 2})
STATUS_REKAM_KTP = Pick({8: 85, 4: 10, 3: 5})

# Ages of the husband heading a couple household, by 5-year band from 20.
UMUR_KEPALA = Pick({20: 4, 25: 10, 30: 14, 35: 14, 40: 13, 45: 11, 50: 10, 55: 8, 60: 6, 65: 4, 70: 2.5, 75: 1.5})
JENIS_RUMAH_TANGGA = Pick({"pasangan": 73, "pasangan_ortu": 7, "tiga_generasi": 6, "janda_duda": 7, "sendiri": 7})

# --- people, names, places --------------------------------------------------------------------------------

SUKU = Pick({"Melayu Jambi": 70, "Jawa": 19, "Minangkabau": 5, "Sunda": 1.5, "Kerinci": 1.5, "Batak": 1.9,
             "Bali": 0.4})
AGAMA_SUKU = {"Jawa": Pick({ISLAM: 97.5, KRISTEN: 1.8, KATOLIK: 0.7}), "Batak": Pick({KRISTEN: 80, KATOLIK: 20}),
              "Bali": Pick({HINDU: 1})}

MELAYU_LAKI_TUA = (
    "Abdullah", "Ahmad", "Amran", "Asril", "Azhar", "Bakri", "Darwis", "Effendi", "Hamdan", "Hasan", "Hasbi",
    "Husin", "Ibrahim", "Idris", "Ismail", "Jafar", "Jamaluddin", "Jufri", "Kamaruddin", "Kasim", "Lukman",
    "Mahmud", "Marzuki", "Mukhtar", "Nasir", "Nasrul", "Rasyid", "Ridwan", "Rusli", "Safri", "Samsul", "Sulaiman",
    "Syafri", "Syamsuddin", "Umar", "Usman", "Yahya", "Yusuf", "Zainal", "Zainuddin", "Zulkifli", "Syahrial",
    "Herman", "Darmawan", "Mansur", "Hamzah", "Ilyas", "Ishak", "Arsyad", "Jalil", "Rahman", "Baharuddin",
)
MELAYU_LAKI_MUDA = (
    "Muhammad", "Ahmad", "Rizky", "Fajar", "Dimas", "Alif", "Arif", "Fikri", "Habib", "Hafiz", "Ilham", "Iqbal",
    "Naufal", "Rafi", "Raihan", "Zaki", "Aditya", "Bayu", "Dafa", "Farhan", "Gilang", "Rendi", "Reza", "Yoga",
    "Rahmat", "Taufik", "Hendra", "Andi", "Doni", "Fauzan", "Firman", "Rio", "Wahyu", "Yusran", "Khairul", "Rizal",
    "Irwan", "Hendri", "Azka", "Akbar", "Fathan", "Alfarizi", "Syahputra",
)
MELAYU_PEREMPUAN_TUA = (
    "Aminah", "Fatimah", "Halimah", "Khadijah", "Maimunah", "Rohani", "Rosmah", "Rosnani", "Rahmah", "Salmah",
    "Zaleha", "Zubaidah", "Asmah", "Nurhayati", "Nurbaiti", "Nurhasanah", "Yusnidar", "Asmawati", "Darmawati",
    "Hasnah", "Jamilah", "Mardiana", "Nurlela", "Rosmaniar", "Saniah", "Zuraidah", "Siti", "Syamsiah", "Nursiah",
    "Rukiah", "Habibah", "Mariani", "Saudah", "Rosidah", "Kamsiah", "Hayati", "Nurmala",
)
MELAYU_PEREMPUAN_MUDA = (
    "Siti", "Nur", "Aisyah", "Anisa", "Dinda", "Fitri", "Indah", "Intan", "Nabila", "Nadia", "Putri", "Rahma",
    "Salsabila", "Syifa", "Tiara", "Wulan", "Zahra", "Ayu", "Citra", "Dewi", "Mutiara", "Nurul", "Rina", "Sri",
    "Yuliana", "Marlina", "Erni", "Elmi", "Juwita", "Fadhilah", "Khairunnisa", "Azizah", "Hafizah", "Nazwa",
)
MELAYU_NAMA_BELAKANG_LAKI = (
    "Hidayat", "Saputra", "Ramadhan", "Firmansyah", "Maulana", "Hakim", "Syahputra", "Kurniawan", "Akbar",
    "Fauzi", "Rahman", "Hamid", "Ibrahim", "Yusuf", "Hasan", "Ilham", "Pratama", "Alamsyah", "Hidayatullah",
)
MELAYU_NAMA_BELAKANG_PEREMPUAN = (
    "Aini", "Sari", "Lestari", "Hasanah", "Rahmawati", "Handayani", "Anggraini", "Wahyuni", "Saputri", "Azzahra",
    "Ramadhani", "Fitriani", "Safitri", "Agustina", "Khairani", "Aulia", "Amelia", "Maharani", "Yanti",
)
BATAK_MARGA = ("Siregar", "Hutagalung", "Simanjuntak", "Nainggolan", "Sitompul", "Hutapea", "Sihombing", "Pardede",
               "Situmorang", "Manurung", "Simbolon", "Sinaga", "Panjaitan", "Tambunan", "Damanik", "Dongoran",
               "Dabukke", "Hutasoit", "Mangunsong", "Manullang", "Marpaung", "Marbun", "Nababan", "Napitupulu",
               "Samosir", "Saragih", "Sihotang", "Sitorus", "Sirait", "Tampubolon", "Tamba", "Tarihoran")
#: Faker's id_ID pools are Javanese-leaning (good for transmigrant families) but hold Western and odd names.
BUKAN_NAMA_DESA = {
    "Agnes", "Azalea", "Aurora", "Anastasia", "Bella", "Betania", "Belinda", "Cindy", "Chelsea", "Clara", "Cornelia",
    "Cinthia", "Ciaobella", "Carla", "Calista", "Elisa", "Ellis", "Gabriella", "Gilda", "Janet", "Jane", "Jessica",
    "Karen", "Kezia", "Kiandra", "Kayla", "Michelle", "Nadine", "Natalia", "Olivia", "Ophelia", "Oliva", "Paris",
    "Patricia", "Paulin", "Queen", "Rachel", "Sakura", "Shania", "Sabrina", "Silvia", "Shakila", "Vanya", "Vanesa",
    "Violet", "Victoria", "Vicky", "Yance", "Zelda", "Zelaya", "Zalindra", "Zamira", "Latupono", "Namaga", "Usamah",
    "Usada", "Uyainah", "Xanana", "Elvin", "Yolanda",
}
JAWA_PEREMPUAN = (
    "Sri", "Sumini", "Suparmi", "Tukinem", "Wartini", "Sulastri", "Suyatmi", "Endang", "Rini", "Yuli", "Puji", "Tri",
    "Dwi", "Eka", "Siti", "Ratna", "Ngatini", "Painem", "Sarmi", "Katmi", "Kartini", "Sumarni", "Partini", "Warsini",
    "Suwarni", "Yatmi", "Asih", "Indah", "Dewi", "Ayu", "Rahayu", "Nur", "Wahyuni", "Lestari", "Sulis", "Ika",
)
BALI_URUTAN_LAKI = ("I Wayan", "I Made", "I Nyoman", "I Ketut", "I Putu", "I Kadek", "I Komang", "I Gede")
BALI_URUTAN_PEREMPUAN = ("Ni Wayan", "Ni Made", "Ni Nyoman", "Ni Ketut", "Ni Putu", "Ni Kadek", "Ni Komang")
BALI_NAMA = ("Sudarsana", "Artawan", "Suardana", "Wirawan", "Sukadana", "Astawa", "Mertayasa", "Sudiarta",
             "Ariani", "Sukerti", "Suartini", "Widiastuti", "Purnamawati", "Sriasih", "Darmini")

JALAN = ("Jl. Poros {desa}", "Jl. Lintas Sumatera", "Jl. Masjid Al-Ikhlas", "Jl. Masjid Nurul Huda", "Jl. Sekolah",
         "Jl. Simpang Tiga", "Lorong Pelita", "Lorong Durian", "Lorong Rambutan", "Jl. Kebun Karet",
         "Jl. Pemandian", "Jl. Puskesmas", "Jl. Lapangan Bola", "Lorong Damai", "Jl. Pasar {desa}",
         "Jl. Transmigrasi", "Jl. Sawit Indah", "Lorong Sepakat")
NAMA_DUSUN = ("Tengah", "Baru", "Ilir", "Ulu", "Pasar", "Seberang", "Lamo", "Simpang", "Bukit", "Tanjung", "Pulau",
              "Durian", "Sungai Arang", "Lubuk", "Koto", "Talang", "Sido Makmur", "Karya Jaya")
#: The town of each Jambi kabupaten, where most residents were born.
KOTA_KABUPATEN = {"15.01": "Sungai Penuh", "15.02": "Bangko", "15.03": "Sarolangun", "15.04": "Muara Bulian",
                  "15.05": "Sengeti", "15.06": "Kuala Tungkal", "15.07": "Muara Sabak", "15.08": "Muara Bungo",
                  "15.09": "Muara Tebo", "15.71": "Jambi", "15.72": "Sungai Penuh"}
TEMPAT_LAHIR_LAIN = Pick({"Jambi": 30, "Padang": 10, "Bukittinggi": 6, "Palembang": 8, "Pekanbaru": 6,
                          "Muara Tebo": 8, "Bangko": 6, "Sungai Penuh": 4, "Medan": 4, "Lubuk Linggau": 4,
                          "Solok": 4, "Dharmasraya": 5, "Jakarta": 3, "Batam": 2})
TEMPAT_LAHIR_JAWA = Pick({"Wonogiri": 10, "Klaten": 8, "Ponorogo": 8, "Boyolali": 7, "Kebumen": 7, "Banyumas": 7,
                          "Ngawi": 6, "Madiun": 5, "Blitar": 5, "Kediri": 5, "Pati": 5, "Grobogan": 5,
                          "Yogyakarta": 4, "Sragen": 5})
TUJUAN_PINDAH = Pick({("Jambi", 3): 25, ("Muara Bungo", 1): 15, ("Pekanbaru", 4): 12, ("Batam", 4): 10,
                      ("Padang", 4): 6, ("Jakarta", 4): 8, ("Muara Tebo", 3): 6, ("Bangko", 3): 5,
                      ("Palembang", 4): 5, ("Dusun tetangga", 2): 8})
TEMPAT_LAHIR_BAYI = Pick({"Puskesmas": 45, "Rumah bersalin / bidan desa": 30, "RSUD": 18, "Rumah": 7})
SEBAB_MATI = Pick({"sakit biasa / tua": 60, "penyakit": 30, "kecelakaan": 6, "lain-lain": 4})
BULAN_ROMAWI = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
PREFIX_HP = ("0812", "0813", "0821", "0822", "0852", "0853", "0823", "0877", "0878", "0819", "0859", "0895",
             "0896", "0831", "0838")


@dataclass(slots=True)
class Orang:
    sex: int
    umur: float  # years, at the reference date
    kk_level: int
    status_kawin: int = BELUM_KAWIN
    nama: str = ""
    lahir: date | None = None
    nik: str = ""
    ayah: Orang | None = None
    ibu: Orang | None = None
    nama_ayah: str | None = None
    nama_ibu: str | None = None
    kawin_umur: float | None = None  # age at marriage (married, divorced or widowed people)
    akta_kawin: str | None = None
    tanggal_kawin: date | None = None
    pekerjaan: int = BELUM_BEKERJA
    pendidikan: int = 1
    sedang: int | None = None
    status_dasar: int = HIDUP
    alamat_sebelumnya: str | None = None
    id: int = 0


@dataclass(slots=True)
class Rumah:
    suku: str
    agama: int
    anggota: list[Orang] = field(default_factory=list)
    rt: int = 0  # index into the RT list
    no_kk: str = ""
    terbit: date | None = None
    datang: date | None = None  # arrived in the last twelve months
    pergi: date | None = None  # the whole family moved out
    aktif: bool = True
    id: int = 0


class _Serials:
    """NIK / KK serials: ``slot + step * k`` per (prefix, date), so the desa of one kecamatan never collide."""

    def __init__(self, slot: int, step: int, taken: set[str]):
        self.slot, self.step, self.taken = slot, step, taken
        self.used: dict[str, int] = {}

    def take(self, head: str) -> str | None:
        k = self.used.get(head, 0)
        while True:
            serial = self.slot + self.step * k
            if serial > 9999:
                return None
            k += 1
            number = f"{head}{serial:04d}"
            if number not in self.taken:
                self.used[head] = k
                self.taken.add(number)
                return number


# --- the generator ----------------------------------------------------------------------------------------


@dataclass
class _Tempat:
    desa: str
    kecamatan: str
    kabupaten_kode: str
    kota: str
    slot: int
    step: int
    sebutan_dusun: str = "Dusun"


class _Generator:
    def __init__(self, kode: str, tempat: _Tempat, target: int, seed: int, hari_ini: date, taken_nik: set[str],
                 taken_kk: set[str]):
        self.rng = random.Random(seed)
        self.faker = Faker("id_ID")
        self.faker.seed_instance(seed)
        self.kode = kode
        self.kec6 = kode.replace(".", "")[:6]
        self.kab4 = self.kec6[:4]
        self.tempat = tempat
        self.target = target
        self.today = hari_ini
        self.nik = _Serials(tempat.slot, tempat.step, taken_nik)
        self.kk = _Serials(tempat.slot, tempat.step, taken_kk)
        person = next(p for p in self.faker.providers if type(p).__module__.endswith("person.id_ID"))
        self.jawa_laki = tuple(person.first_names_male)
        self.jawa_perempuan = tuple(person.first_names_female)
        skip = set(BATAK_MARGA) | BUKAN_NAMA_DESA
        self.jawa_laki = tuple(n for n in self.jawa_laki if n not in skip)
        self.jawa_perempuan = tuple(n for n in self.jawa_perempuan if n not in skip) + JAWA_PEREMPUAN * 2
        self.belakang_laki = tuple(n for n in person.last_names_male if n not in skip)
        self.belakang_perempuan = tuple(n for n in person.last_names_female if n not in skip)
        self.akta_serial = 0
        self.nikah_serial = 0
        self.rumah: list[Rumah] = []
        self.orang: list[Orang] = []

    # --- names ------------------------------------------------------------------------------------------

    def nama(self, sex: int, lahir_tahun: int, suku: str, marga: str | None = None) -> str:
        r = self.rng
        tua = lahir_tahun < 1975
        if suku == "Bali":
            urutan = BALI_URUTAN_LAKI if sex == 1 else BALI_URUTAN_PEREMPUAN
            return f"{r.choice(urutan)} {r.choice(BALI_NAMA)}"
        if suku in ("Jawa", "Sunda", "Batak"):
            first = r.choice(self.jawa_laki if sex == 1 else self.jawa_perempuan)
            if suku == "Batak":
                return f"{first} {marga or r.choice(BATAK_MARGA)}"
            if tua and r.random() < 0.6:
                return first
            return f"{first} {r.choice(self.belakang_laki if sex == 1 else self.belakang_perempuan)}"
        if sex == 1:
            first = r.choice(MELAYU_LAKI_TUA if tua or r.random() < 0.25 else MELAYU_LAKI_MUDA)
            if tua and r.random() < 0.55:
                return first
            second = r.choice(MELAYU_NAMA_BELAKANG_LAKI + MELAYU_LAKI_TUA)
        else:
            first = r.choice(MELAYU_PEREMPUAN_TUA if tua or r.random() < 0.2 else MELAYU_PEREMPUAN_MUDA)
            if tua and r.random() < 0.6 and first not in ("Siti", "Nur", "Sri"):
                return first
            second = r.choice(MELAYU_NAMA_BELAKANG_PEREMPUAN + MELAYU_PEREMPUAN_TUA)
        if second == first:
            second = r.choice(MELAYU_NAMA_BELAKANG_LAKI if sex == 1 else MELAYU_NAMA_BELAKANG_PEREMPUAN)
        if first == "Muhammad" and r.random() < 0.3:
            return f"{first} {r.choice(MELAYU_LAKI_MUDA[1:])} {second}"
        return f"{first} {second}"

    # --- households -------------------------------------------------------------------------------------

    def umur_band(self, band: int) -> float:
        return band + self.rng.random() * 5

    def anak_anak(self, ibu: Orang | None, ayah: Orang | None, kawin_umur: float, ibu_umur: float,
                  *, maks: int = 5, kk_level: int = ANAK, paksa_dewasa: bool = False) -> list[Orang]:
        """Children of a mother now ``ibu_umur`` old who married at ``kawin_umur``; those still at home."""
        r = self.rng
        lahir_tahun = self.today.year - ibu_umur
        if lahir_tahun >= 1985:
            n = Pick({0: 6, 1: 17, 2: 33, 3: 26, 4: 12, 5: 6})(r)
        elif lahir_tahun >= 1965:
            n = Pick({0: 5, 1: 10, 2: 22, 3: 25, 4: 20, 5: 18})(r)
        else:
            n = Pick({0: 4, 1: 6, 2: 15, 3: 22, 4: 25, 5: 28})(r)
        ages: list[float] = []
        at = kawin_umur + 0.8 + r.random() * 1.7
        for _ in range(n):
            if at > 44 or at > ibu_umur:
                break
            ages.append(ibu_umur - at)
            at += 1.8 + r.random() * 3.5
        anak = []
        for umur in ages:
            sex = 1 if r.random() < 0.515 else 2
            if umur >= 18:  # daughters marry and leave earlier than sons
                if sex == 1:
                    stay = 0.85 if umur < 23 else 0.5 if umur < 30 else 0.08
                else:
                    stay = 0.7 if umur < 23 else 0.3 if umur < 30 else 0.04
                if r.random() >= stay:
                    continue  # married away or working elsewhere: not in this KK
            child = Orang(sex=sex, umur=umur, kk_level=kk_level, ayah=ayah, ibu=ibu)
            anak.append(child)
        if paksa_dewasa and not any(21 <= c.umur <= 40 for c in anak):
            umur = min(max(21.0, ibu_umur - kawin_umur - 2), 40.0)
            if ibu_umur - umur >= 16:
                anak.append(Orang(sex=1 if r.random() < 0.35 else 2, umur=umur, kk_level=kk_level, ayah=ayah,
                                  ibu=ibu))
        anak.sort(key=lambda c: -c.umur)
        return anak[:maks]

    def pasangan(self, suami_umur: float) -> tuple[Orang, Orang, float]:
        r = self.rng
        istri_umur = max(17.0 + r.random(), suami_umur - max(-2.0, r.gauss(4.0, 3.5)))
        kawin = min(17.0 + r.random() * 9 + max(0.0, r.gauss(0, 2)), istri_umur - 0.1)
        kawin = min(max(kawin, 16.5 + max(0.0, istri_umur - suami_umur)), istri_umur - 0.05)  # both at least 16.5
        suami = Orang(sex=1, umur=suami_umur, kk_level=KEPALA, status_kawin=KAWIN,
                      kawin_umur=kawin + (suami_umur - istri_umur))
        istri = Orang(sex=2, umur=istri_umur, kk_level=ISTRI, status_kawin=KAWIN, kawin_umur=kawin)
        return suami, istri, kawin

    def rumah_tangga(self) -> Rumah:
        r = self.rng
        suku = SUKU(r)
        agama = AGAMA_SUKU[suku](r) if suku in AGAMA_SUKU else ISLAM
        rumah = Rumah(suku=suku, agama=agama)
        jenis = JENIS_RUMAH_TANGGA(r)
        a = rumah.anggota
        if jenis in ("pasangan", "pasangan_ortu"):
            suami, istri, kawin = self.pasangan(min(self.umur_band(UMUR_KEPALA(r)), 82.0))
            a += [suami, istri, *self.anak_anak(istri, suami, kawin, istri.umur)]
            if jenis == "pasangan_ortu":
                # Melayu and Minang families often live with the wife's parents (mertua of the head).
                dari_istri = r.random() < 0.55
                anak_dari, level = (istri, MERTUA) if dari_istri else (suami, ORANGTUA)
                ibu_umur = min(anak_dari.umur + 20 + r.random() * 14, 95.0)
                if r.random() < 0.3 and ibu_umur < 85:
                    ayah = Orang(sex=1, umur=min(ibu_umur + 2 + r.random() * 6, 99.0), kk_level=level,
                                 status_kawin=KAWIN, kawin_umur=24.0)
                    ibu = Orang(sex=2, umur=ibu_umur, kk_level=level, status_kawin=KAWIN, kawin_umur=19.0)
                    anak_dari.ayah, anak_dari.ibu = ayah, ibu
                    a += [ayah, ibu]
                elif r.random() < 0.78:  # a widowed mother
                    ibu = Orang(sex=2, umur=ibu_umur, kk_level=level, status_kawin=CERAI_MATI, kawin_umur=19.0)
                    anak_dari.ibu = ibu
                    a.append(ibu)
                else:  # a widowed father
                    ayah = Orang(sex=1, umur=min(ibu_umur + 3, 97.0), kk_level=level, status_kawin=CERAI_MATI,
                                 kawin_umur=24.0)
                    anak_dari.ayah = ayah
                    a.append(ayah)
        elif jenis == "tiga_generasi":
            suami, istri, kawin = self.pasangan(50 + r.random() * 25)
            anak = self.anak_anak(istri, suami, kawin, istri.umur, maks=4, paksa_dewasa=True)
            a += [suami, istri, *anak]
            dewasa = [c for c in anak if 21 <= c.umur <= 40]
            if dewasa:
                c = dewasa[0]
                c.status_kawin = KAWIN
                pasangan_umur = c.umur + (2 + r.random() * 5 if c.sex == 2 else -(1 + r.random() * 4))
                pasangan_umur = max(pasangan_umur, 18.0)
                menantu = Orang(sex=3 - c.sex, umur=pasangan_umur, kk_level=MENANTU, status_kawin=KAWIN)
                ibu = c if c.sex == 2 else menantu
                ayah = menantu if c.sex == 2 else c
                kawin_anak = min(ibu.umur - 0.2, 19 + r.random() * 6)
                c.kawin_umur = kawin_anak + (c.umur - ibu.umur)
                menantu.kawin_umur = kawin_anak + (menantu.umur - ibu.umur)
                a.append(menantu)
                a += self.anak_anak(ibu, ayah, kawin_anak, ibu.umur, maks=3, kk_level=CUCU)
        elif jenis == "janda_duda":
            perempuan = r.random() < 0.72
            umur = 35 + r.random() * 45
            cerai_hidup = umur < 55 and r.random() < 0.35
            kepala = Orang(sex=2 if perempuan else 1, umur=umur, kk_level=KEPALA,
                           status_kawin=CERAI_HIDUP if cerai_hidup else CERAI_MATI)
            kawin = 18 + r.random() * 7
            kepala.kawin_umur = kawin if perempuan else kawin + 4
            ibu_umur = umur if perempuan else umur - 4
            a.append(kepala)
            a += self.anak_anak(kepala if perempuan else None, None if perempuan else kepala, kawin,
                                ibu_umur, maks=4)
        else:  # sendiri
            if r.random() < 0.6:
                perempuan = r.random() < 0.65
                kepala = Orang(sex=2 if perempuan else 1, umur=60 + r.random() * 30, kk_level=KEPALA,
                               status_kawin=CERAI_MATI, kawin_umur=19 + r.random() * 6)
            else:
                kepala = Orang(sex=1 if r.random() < 0.9 else 2, umur=20 + r.random() * 16, kk_level=KEPALA)
                if kepala.umur > 26 and r.random() < 0.2:
                    kepala.status_kawin, kepala.kawin_umur = CERAI_HIDUP, 21.0
            a.append(kepala)
        if r.random() < 0.025 and len(a) > 1:  # a niece or nephew living in (schooling, work)
            a.append(Orang(sex=1 if r.random() < 0.6 else 2, umur=8 + r.random() * 16, kk_level=FAMILI))
        return rumah

    # --- attributes -------------------------------------------------------------------------------------

    def lahir(self, umur: float) -> date:
        days = int(umur * YEAR_DAYS)
        return self.today - timedelta(days=max(days, 0))

    def isi_orang(self, rumah: Rumah, o: Orang) -> None:
        r = self.rng
        o.lahir = self.lahir(o.umur)
        umur = o.umur
        tahun = o.lahir.year
        if umur < 5:
            o.pendidikan, o.sedang = 1, (1 if umur < 4 else Pick({1: 40, 2: 60})(r))
        elif umur < 7:
            o.pendidikan, o.sedang = 1, Pick({2: 70, 1: 15, 4: 15})(r)
        elif umur < 13:
            o.pendidikan, o.sedang, o.pekerjaan = 2, 4, PELAJAR
        elif umur < 16:
            o.pendidikan, o.sedang, o.pekerjaan = 3, 6 if r.random() < 0.93 else 18, PELAJAR
        elif umur < 19:
            sekolah = r.random() < 0.8
            o.pendidikan, o.sedang = 4, 7 if sekolah else 18
            if sekolah:
                o.pekerjaan = PELAJAR
            elif o.status_kawin == KAWIN and o.sex == 2:
                o.pekerjaan = MRT
            else:
                o.pekerjaan = (KERJA_MUDA_LAKI if o.sex == 1 else KERJA_MUDA_PEREMPUAN)(r)
        else:
            o.pendidikan = (PENDIDIKAN_TUA if tahun < 1960 else PENDIDIKAN_MADYA if tahun < 1980
                            else PENDIDIKAN_MUDA)(r)
            o.sedang = 18
            if umur < 24 and o.status_kawin == BELUM_KAWIN and o.pendidikan >= 5 and r.random() < 0.3:
                o.pekerjaan, o.sedang = PELAJAR, 11 if r.random() < 0.8 else 10
            elif umur >= 65:
                o.pekerjaan = (KERJA_LAKI_TUA if o.sex == 1 else KERJA_PEREMPUAN_TUA)(r)
            elif umur < 25 and o.status_kawin == BELUM_KAWIN:
                o.pekerjaan = (KERJA_MUDA_LAKI if o.sex == 1 else KERJA_MUDA_PEREMPUAN)(r)
            elif o.sex == 1:
                o.pekerjaan = (KERJA_LAKI_RENDAH if o.pendidikan <= 4 else KERJA_LAKI_SLTA if o.pendidikan == 5
                               else KERJA_LAKI_TINGGI)(r)
            else:
                o.pekerjaan = (KERJA_PEREMPUAN_RENDAH if o.pendidikan <= 4 else KERJA_PEREMPUAN_SLTA
                               if o.pendidikan == 5 else KERJA_PEREMPUAN_TINGGI)(r)
                if o.pekerjaan == MRT and o.status_kawin == BELUM_KAWIN:
                    o.pekerjaan = BELUM_BEKERJA
        if o.kawin_umur is not None and o.status_kawin != BELUM_KAWIN:
            o.tanggal_kawin = o.lahir + timedelta(days=int(o.kawin_umur * YEAR_DAYS))
            if o.tanggal_kawin > self.today:
                o.tanggal_kawin = self.today
        if not o.nama:
            marga = None
            if rumah.suku == "Batak" and o.ayah is not None and o.ayah.nama:
                marga = o.ayah.nama.rsplit(" ", 1)[-1]
            o.nama = self.nama(o.sex, tahun, rumah.suku, marga)

    def nik_for(self, o: Orang) -> None:
        for shift in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7):
            lahir = o.lahir + timedelta(days=shift) if shift else o.lahir
            if lahir > self.today:
                continue
            day = lahir.day + (40 if o.sex == 2 else 0)
            number = self.nik.take(f"{self.kec6}{day:02d}{lahir.month:02d}{lahir.year % 100:02d}")
            if number is not None:
                o.lahir, o.nik = lahir, number
                return
        raise RuntimeError("no free NIK serial around this birth date")

    def kk_for(self, rumah: Rumah) -> None:
        r = self.rng
        youngest = max(o.lahir for o in rumah.anggota)
        kawin = max((o.tanggal_kawin for o in rumah.anggota if o.tanggal_kawin and o.kk_level in (KEPALA, ISTRI)),
                    default=date(2004, 1, 1))
        low = max(youngest + timedelta(days=7), kawin + timedelta(days=30), date(2004, 1, 1))
        if rumah.datang:
            low = max(low, rumah.datang)
        if low >= self.today:
            issued = self.today
        else:
            span = (self.today - low).days
            issued = low if rumah.datang else low + timedelta(days=int(span * r.random() ** 0.7))
        for shift in range(0, 60):
            when = issued - timedelta(days=shift)
            number = self.kk.take(f"{self.kec6}{when.day:02d}{when.month:02d}{when.year % 100:02d}")
            if number is not None:
                rumah.no_kk, rumah.terbit = number, when
                return
        raise RuntimeError("no free KK serial around this issue date")

    def generate(self) -> None:
        goal = int(self.target * 1.015) + 1  # the departed of the last year stay in the register
        total = 0
        while total < goal:
            rumah = self.rumah_tangga()
            self.rumah.append(rumah)
            total += len(rumah.anggota)
        r = self.rng
        arrivals = max(1, len(self.rumah) // 90)
        for rumah in r.sample(self.rumah, min(arrivals, len(self.rumah))):
            rumah.datang = self.today - timedelta(days=r.randint(20, 360))
        for rumah in self.rumah:
            # Older first: parents are named before their children (Batak children take the father's marga).
            for o in sorted(rumah.anggota, key=lambda p: -p.umur):
                self.isi_orang(rumah, o)
            for o in rumah.anggota:
                self.nik_for(o)
            self.kk_for(rumah)
            self.orang.extend(rumah.anggota)

    # --- documents --------------------------------------------------------------------------------------

    def akta_lahir(self, o: Orang) -> str | None:
        r = self.rng
        year = o.lahir.year
        p = 0.97 if year >= 2016 else 0.92 if year >= 2005 else 0.85 if year >= 1990 else 0.7 if year >= 1970 \
            else 0.45
        if r.random() >= p:
            return None
        self.akta_serial += 1
        if year >= 2005:
            terbit = o.lahir + timedelta(days=r.randint(3, 120))
        else:  # late registration, usually for school or a job
            terbit = max(o.lahir, date(2008, 1, 1)) + timedelta(days=r.randint(0, 3000))
        terbit = min(terbit, self.today)
        return f"{self.kab4}-LT-{terbit:%d%m%Y}-{self.akta_serial:04d}"

    def akta_nikah(self, rumah: Rumah, when: date) -> str | None:
        r = self.rng
        if r.random() >= (0.75 if when.year >= 1990 else 0.45):
            return None
        self.nikah_serial += 1
        if rumah.agama == ISLAM:
            return f"{r.randint(1, 450):04d}/{r.randint(1, 60):03d}/{BULAN_ROMAWI[when.month - 1]}/{when.year}"
        return f"{self.kab4}-KW-{when:%d%m%Y}-{self.nikah_serial:04d}"

    def telepon(self) -> str:
        r = self.rng
        return r.choice(PREFIX_HP) + "".join(str(r.randint(0, 9)) for _ in range(r.choice((7, 8))))


def _sebutan_dusun(session: DesaSession) -> str:
    value = session.scalar(text("SELECT nilai FROM pengaturan WHERE kunci = 'sebutan_dusun'"))
    return value if isinstance(value, str) and value else "Dusun"


def _tempat(engine: Engine, kode: str) -> _Tempat:
    """Names and the desa's NIK slot from the region registry (read before entering the desa)."""
    with engine.connect() as conn:
        row = conn.execute(text(
            f"""SELECT d.nama AS desa, k.nama AS kecamatan, k.kode AS kecamatan_kode, b.kode AS kabupaten_kode,
                       b.nama AS kabupaten,
                       ARRAY(SELECT s.kode FROM {SHARED_SCHEMA}.wilayah_administrasi s
                             WHERE s.induk_kode = k.kode AND s.tingkat = 'desa' ORDER BY s.kode) AS villages
                FROM {SHARED_SCHEMA}.wilayah_administrasi d
                JOIN {SHARED_SCHEMA}.wilayah_administrasi k ON k.kode = d.induk_kode
                JOIN {SHARED_SCHEMA}.wilayah_administrasi b ON b.kode = k.induk_kode
                WHERE d.kode = :k"""), {"k": kode}).first()
    if row is None:
        raise DesaNotFound(kode)
    villages = list(row.villages)
    slot = villages.index(kode) + 1 if kode in villages else 1
    kota = KOTA_KABUPATEN.get(row.kabupaten_kode) or row.kabupaten.removeprefix("Kabupaten ").removeprefix("Kota ")
    return _Tempat(desa=row.desa, kecamatan=row.kecamatan, kabupaten_kode=row.kabupaten_kode, kota=kota,
                   slot=slot, step=max(len(villages), slot))


def _fixed_demo_numbers() -> tuple[set[str], set[str]]:
    """NIKs and KK numbers of the fixed demo residents (``service.demo``), never generated."""
    try:
        from service.demo import RESIDENTS
    except ImportError:  # pragma: no cover - the demo module is optional for the generator
        return set(), set()
    niks = {row[0] for people in RESIDENTS.values() for row in people}
    kks = {row[2] for people in RESIDENTS.values() for row in people}
    return niks, kks


def _reserve_ids(cur, table: str, n: int) -> list[int]:
    if n == 0:
        return []
    cur.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", (n,))
    return [row[0] for row in cur.fetchall()]


def _copy(cur, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def isi_desa(engine: Engine, desa_kode: str, *, penduduk: int = 2400, seed: int | None = None,
             hari_ini: date | None = None) -> dict[str, Any]:
    """Fill one provisioned desa with a synthetic register of about ``penduduk`` living residents.

    Deterministic for (desa, ``seed``, ``hari_ini``); the seed defaults to the desa code. Idempotent: a desa
    that already has residents (other than the fixed demo residents) is left alone (``{"skipped": True}``).
    Raises :class:`tenants.session.DesaNotFound` when the desa is not (yet) a ready tenant.
    """
    started = time.perf_counter()
    kode = parse_desa_kode(desa_kode).dotted
    seed = int(kode.replace(".", "")) if seed is None else seed
    today = hari_ini or date.today()
    fixed_nik, fixed_kk = _fixed_demo_numbers()
    tempat = _tempat(engine, kode)
    with DesaSession(engine, kode) as session:
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"demo.isi_desa:{kode}"})
        others = session.scalar(text("SELECT EXISTS (SELECT 1 FROM penduduk WHERE nik <> ALL(CAST(:f AS text[])))"),
                                {"f": sorted(fixed_nik)})
        if others:
            return {"desa": kode, "skipped": True}
        taken_nik = set(session.scalars(text("SELECT nik FROM penduduk"))) | fixed_nik
        taken_kk = set(session.scalars(text("SELECT no_kk FROM keluarga"))) | fixed_kk
        tempat.sebutan_dusun = _sebutan_dusun(session)
        gen = _Generator(kode, tempat, penduduk, seed, today, taken_nik, taken_kk)
        gen.generate()
        generated = time.perf_counter()
        counts = _write(session, gen)
        services.mark_changed(session)
        committing = time.perf_counter()
        session.commit()
        counts["langkah"]["commit"] = round(time.perf_counter() - committing, 3)
    done = time.perf_counter()
    result = {"desa": kode, "skipped": False, **counts, "seed": seed,
              "detik_generate": round(generated - started, 3), "detik_total": round(done - started, 3)}
    log.info("demo register for %s: %s residents, %s families in %.2f s", kode, counts["penduduk_hidup"],
             counts["keluarga_aktif"], done - started)
    return result


# --- writing ----------------------------------------------------------------------------------------------


def _wilayah(gen: _Generator) -> tuple[list[tuple], list[int]]:
    """Dusun → RW → RT rows (ids assigned later) and the RT row indexes."""
    r = gen.rng
    n = gen.target
    n_dusun = max(2, min(5, round(n / 650) + r.choice((-1, 0, 0, 1))))
    names = r.sample(NAMA_DUSUN, n_dusun)
    rows: list[tuple] = []  # (index, tingkat, nama, parent index, urut)
    rts: list[int] = []
    for i, nama in enumerate(names):
        dusun = len(rows)
        rows.append((dusun, "dusun", f"{gen.tempat.sebutan_dusun} {nama}", None, i + 1))
        for j in range(r.randint(1, 3) if n < 20000 else 3):
            rw = len(rows)
            rows.append((rw, "rw", f"{j + 1:03d}", dusun, j + 1))
            for k in range(r.randint(2, 4) if n < 20000 else 4):
                rts.append(len(rows))
                rows.append((len(rows), "rt", f"{k + 1:03d}", rw, k + 1))
    return rows, rts


def _write(session: DesaSession, gen: _Generator) -> dict[str, Any]:
    r = gen.rng
    today = gen.today
    steps: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        steps[name] = round(now - clock[0], 3)
        clock[0] = now
    raw = session.connection().connection.driver_connection
    cur = raw.cursor()

    # Wilayah, families in RTs.
    wil_rows, rts = _wilayah(gen)
    wil_ids = _reserve_ids(cur, "wilayah", len(wil_rows))
    weights = [0.6 + r.random() * 0.8 for _ in rts]
    pick_rt = Pick(zip(range(len(rts)), weights, strict=True))
    jalan_per_dusun: dict[int, list[str]] = {}
    for idx, tingkat, _, _, _ in wil_rows:
        if tingkat == "dusun":
            jalan_per_dusun[idx] = [j.format(desa=gen.tempat.desa) for j in r.sample(JALAN, 3)]
    parent = {idx: p for idx, _, _, p, _ in wil_rows}
    nama_of = {idx: nama for idx, _, nama, _, _ in wil_rows}

    rumah = gen.rumah
    kel_ids = _reserve_ids(cur, "keluarga", len(rumah))
    pen_ids = _reserve_ids(cur, "penduduk", len(gen.orang))
    it = iter(pen_ids)
    alamat_of: dict[int, str] = {}
    for rm, kid in zip(rumah, kel_ids, strict=True):
        rm.id = kid
        rm.rt = pick_rt(r)
        rt_idx = rts[rm.rt]
        rw_idx = parent[rt_idx]
        dusun_idx = parent[rw_idx]
        alamat_of[kid] = (f"{r.choice(jalan_per_dusun[dusun_idx])}, RT {nama_of[rt_idx]} RW {nama_of[rw_idx]}, "
                          f"{nama_of[dusun_idx]}")
        for o in rm.anggota:
            o.id = next(it)

    # The last twelve months: births (already in the data), deaths, arrivals, departures.
    mutasi: list[tuple] = []
    year_ago = today - timedelta(days=365)

    def log_event(o: Orang, rm: Rumah, kode: int, when: date, data: dict[str, Any], catatan: str | None = None):
        lapor = min(today, when + timedelta(days=r.randint(0, 21)))
        mutasi.append((o.id, kode, when, lapor, rm.no_kk, catatan, json.dumps(data), ACTOR))

    for rm in rumah:
        for o in rm.anggota:
            if rm.datang and o.lahir < rm.datang:
                asal = f"{gen.faker.street_address()}, {TEMPAT_LAHIR_LAIN(r)}"
                o.alamat_sebelumnya = asal
                log_event(o, rm, services.DATANG, rm.datang, {"alamat_sebelumnya": asal}, "pindah datang")
            elif o.lahir > year_ago:
                log_event(o, rm, services.LAHIR, o.lahir, {"tempat": TEMPAT_LAHIR_BAYI(r)}, "kelahiran")

    n_mati = round(gen.target * (0.005 + r.random() * 0.002))
    n_pindah = round(gen.target * (0.005 + r.random() * 0.003))
    settled = [rm for rm in rumah if not rm.datang]
    tua = [(o, rm) for rm in settled for o in rm.anggota
           if o.umur >= 60 and (o.kk_level in (ORANGTUA, MERTUA) or len(rm.anggota) == 1)]
    r.shuffle(tua)
    for o, rm in tua[:n_mati]:
        when = today - timedelta(days=r.randint(1, 364))
        if when <= o.lahir:
            continue
        o.status_dasar = MATI
        log_event(o, rm, services.MATI, when, {"sebab": SEBAB_MATI(r), "tempat": "rumah"}, "meninggal dunia")
        for other in rm.anggota:  # a surviving spouse among the parents is now widowed
            if other is not o and other.kk_level == o.kk_level and other.status_kawin == KAWIN:
                other.status_kawin = CERAI_MATI
    muda = [(o, rm) for rm in settled for o in rm.anggota
            if o.kk_level == ANAK and 18 <= o.umur <= 30 and o.status_kawin == BELUM_KAWIN]
    r.shuffle(muda)
    for o, rm in muda[:n_pindah]:
        tujuan, jenis = TUJUAN_PINDAH(r)
        o.status_dasar = PINDAH
        log_event(o, rm, services.PINDAH_KELUAR, today - timedelta(days=r.randint(1, 364)),
                  {"jenis_pindah": jenis, "tujuan": tujuan}, "pindah bekerja / kuliah")
    whole = max(0, gen.target // 1200)
    candidates = [rm for rm in settled if len(rm.anggota) >= 2
                  and all(o.status_dasar == HIDUP for o in rm.anggota)]
    for rm in r.sample(candidates, min(whole, len(candidates))):
        tujuan, jenis = TUJUAN_PINDAH(r)
        when = today - timedelta(days=r.randint(1, 364))
        for o in rm.anggota:
            if o.lahir < when:
                o.status_dasar = PINDAH
                log_event(o, rm, services.PINDAH_KELUAR, when, {"jenis_pindah": jenis, "tujuan": tujuan},
                          "pindah sekeluarga")
        rm.pergi = when
    for rm in rumah:
        hidup = [o for o in rm.anggota if o.status_dasar == HIDUP]
        if rm.pergi and hidup:  # born after the move was logged: they left too
            for o in hidup:
                o.status_dasar = PINDAH
            hidup = []
        rm.aktif = bool(hidup) and any(o.kk_level == KEPALA for o in hidup)

    # Wilayah heads: a settled, living male head of a family in that unit (a dusun head is perangkat desa).
    by_rt: dict[int, list[Orang]] = {}
    for rm in rumah:
        for o in rm.anggota:
            if o.kk_level == KEPALA and o.status_dasar == HIDUP and o.sex == 1 and 30 <= o.umur <= 65 \
                    and not rm.datang:
                by_rt.setdefault(rts[rm.rt], []).append(o)
    heads: dict[int, Orang] = {}
    chosen: set[int] = set()
    for idx, tingkat, _, _, _ in wil_rows:
        pool: list[Orang] = []
        for rt_idx in rts:
            up = parent[rt_idx]
            if rt_idx == idx or up == idx or parent.get(up) == idx:
                pool.extend(by_rt.get(rt_idx, []))
        pool = [o for o in pool if o.id not in chosen]
        if pool:
            head = r.choice(pool)
            heads[idx] = head
            chosen.add(head.id)
            if tingkat == "dusun":
                head.pekerjaan = PERANGKAT_DESA

    lap("siapkan")
    _copy(cur, "wilayah", ("id", "tingkat", "nama", "induk_id", "urut"),
          ((wil_ids[idx], tingkat, nama, None if p is None else wil_ids[p], urut)
           for idx, tingkat, nama, p, urut in wil_rows))
    _copy(cur, "keluarga", ("id", "no_kk", "alamat", "wilayah_id", "kelas_sosial", "tanggal_daftar", "aktif"),
          ((rm.id, rm.no_kk, alamat_of[rm.id], wil_ids[rts[rm.rt]], KELAS_SOSIAL(r), rm.terbit, rm.aktif)
           for rm in rumah))
    _copy(cur, "riwayat_no_kk", ("keluarga_id", "no_kk", "berlaku_dari", "sebab"),
          ((rm.id, rm.no_kk, rm.terbit, "pindah datang" if rm.datang else "data awal") for rm in rumah))
    lap("copy_keluarga")
    _copy(cur, "penduduk", PENDUDUK_COLUMNS, _penduduk_rows(gen, wil_ids, rts, alamat_of))
    lap("copy_penduduk")
    _copy(cur, "mutasi_penduduk", ("penduduk_id", "kode_peristiwa", "tanggal_peristiwa", "tanggal_lapor", "no_kk",
                                   "catatan", "data", "oleh"), mutasi)
    lap("copy_mutasi")
    kepala = [(rm.id, o.id) for rm in rumah if rm.aktif for o in rm.anggota
              if o.kk_level == KEPALA and o.status_dasar == HIDUP]
    cur.execute("UPDATE keluarga k SET kepala_id = h.pid FROM unnest(%s::bigint[], %s::bigint[]) AS h(kid, pid) "
                "WHERE k.id = h.kid", ([k for k, _ in kepala], [p for _, p in kepala]))
    if heads:
        cur.execute(
            "UPDATE wilayah w SET kepala_penduduk_id = h.pid, kepala_nama = h.nama "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS h(wid, pid, nama) WHERE w.id = h.wid",
            ([wil_ids[i] for i in heads], [o.id for o in heads.values()], [o.nama for o in heads.values()]),
        )
    lap("kepala")
    kode = session.desa.kode
    hashes = services.nik_hmacs(o.nik for o in gen.orang)
    alive = [o.status_dasar == HIDUP for o in gen.orang]
    lap("hmac")
    cur.execute(
        f"INSERT INTO {SHARED_SCHEMA}.nik_index (nik_hmac, desa_kode, hidup) "
        "SELECT h, %s, a FROM unnest(%s::bigint[], %s::boolean[]) AS t(h, a) ORDER BY h "
        "ON CONFLICT (nik_hmac, desa_kode) DO UPDATE SET hidup = EXCLUDED.hidup",
        (kode, hashes, alive),
    )
    lap("nik_index")
    cur.close()
    hidup = [o for o in gen.orang if o.status_dasar == HIDUP]
    return {
        "penduduk": len(gen.orang), "penduduk_hidup": len(hidup),
        "laki_laki": sum(1 for o in hidup if o.sex == 1), "perempuan": sum(1 for o in hidup if o.sex == 2),
        "keluarga": len(rumah), "keluarga_aktif": sum(1 for rm in rumah if rm.aktif),
        "wilayah": len(wil_rows), "mutasi": len(mutasi), "langkah": steps,
    }


#: Which members of a household share a marriage certificate.
PASANGAN = {KEPALA: 1, ISTRI: 1, ANAK: 2, MENANTU: 2, ORANGTUA: 3, MERTUA: 3}

PENDUDUK_COLUMNS = (
    "id", "nik", "nama", "keluarga_id", "kk_level", "sex", "tempat_lahir", "tanggal_lahir", "agama_id",
    "pendidikan_kk_id", "pendidikan_sedang_id", "pekerjaan_id", "status_kawin", "golongan_darah_id",
    "warganegara_id", "nik_ayah", "nama_ayah", "nik_ibu", "nama_ibu", "cacat_id", "status_dasar", "status_penduduk",
    "ktp_el", "status_rekam", "akta_lahir", "akta_perkawinan", "tanggal_perkawinan", "hamil", "suku", "telepon",
    "alamat_sekarang", "alamat_sebelumnya", "wilayah_id",
)


def _penduduk_rows(gen: _Generator, wil_ids: list[int], rts: list[int], alamat_of: dict[int, str]):
    r = gen.rng
    t = gen.tempat
    tempat_lahir = Pick({t.kota: 55, t.desa: 28, "lain": 17})
    for rm in gen.rumah:
        nikah: dict[int, str | None] = {}
        for o in rm.anggota:
            umur = o.umur
            lahir_di = tempat_lahir(r)
            if lahir_di == "lain":
                lahir_di = (TEMPAT_LAHIR_JAWA if rm.suku in ("Jawa", "Sunda", "Bali") and o.lahir.year < 1995
                            else TEMPAT_LAHIR_LAIN)(r)
            dewasa = umur >= 17 or o.status_kawin != BELUM_KAWIN
            if dewasa:
                ktp = 2 if r.random() < (0.93 if umur < 80 else 0.75) else 1
                rekam = STATUS_REKAM_KTP(r) if ktp == 2 else 2
            else:
                ktp = 3 if r.random() < 0.35 else 1
                rekam = 1
            akta_kawin = None
            if o.status_kawin != BELUM_KAWIN and o.tanggal_kawin is not None:
                # A couple shares one marriage certificate number.
                key = PASANGAN.get(o.kk_level, o.kk_level)
                if key not in nikah:
                    nikah[key] = gen.akta_nikah(rm, o.tanggal_kawin)
                akta_kawin = nikah[key]
            hamil = None
            if o.sex == 2 and 15 <= umur < 50:
                hamil = 1 if o.status_kawin == KAWIN and umur < 43 and r.random() < 0.06 else 2
            ayah, ibu = o.ayah, o.ibu
            marga = o.nama.rsplit(" ", 1)[-1] if rm.suku == "Batak" else None
            nama_ayah = ayah.nama if ayah else gen.nama(1, o.lahir.year - 28, rm.suku, marga)
            nama_ibu = ibu.nama if ibu else gen.nama(2, o.lahir.year - 25, rm.suku)
            yield (
                o.id, o.nik, o.nama, rm.id, o.kk_level, o.sex, lahir_di, o.lahir, rm.agama,
                o.pendidikan, o.sedang, o.pekerjaan, o.status_kawin, GOLONGAN_DARAH(r),
                1, ayah.nik if ayah else None, nama_ayah, ibu.nik if ibu else None, nama_ibu, CACAT(r),
                o.status_dasar, 1 if r.random() < 0.98 else 2,
                ktp, rekam, gen.akta_lahir(o), akta_kawin, o.tanggal_kawin if o.status_kawin != BELUM_KAWIN else None,
                hamil, rm.suku, gen.telepon() if 18 <= umur <= 62 and r.random() < 0.45 else None,
                alamat_of[rm.id], o.alamat_sebelumnya, wil_ids[rts[rm.rt]],
            )
