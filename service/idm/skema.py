"""Village index schemes (skema): which dimensions a year's scores have, how the index and the status follow.

A scheme is code, not data: rows in ``kawasan.indeks_desa`` name their ``skema`` and keep their dimension
scores in a JSON object, so adding the 2024 Indeks Desa (six dimensions, other thresholds) is a new entry
here, never a migration of old rows. The index and status are computed once, when a row is written, and
stored: a later scheme never reinterprets an old year.

* ``IDM-2016`` (Permendes PDTT 2/2016, research/domain.md §2.1): IKS, IKE and IKL in 0..1;
  IDM = (IKS + IKE + IKL) / 3, rounded half-up to four decimals (Kemendes publishes the IDM and the
  thresholds with four decimals, and its target "skor minimal" for Maju is 0.7073), then the status by the
  four-decimal, inclusive-upper thresholds:
  Sangat Tertinggal ≤ 0.4907 < Tertinggal ≤ 0.5989 < Berkembang ≤ 0.7072 < Maju ≤ 0.8155 < Mandiri.
* ``ID-2024`` (Permendes PDTT 9/2024, §2.2): six dimensions are known, but neither the formula nor the
  status thresholds were found (the sources conflict), so the scheme is declared and refuses scores until
  they are (``tersedia=False``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

EMPAT_DESIMAL = Decimal("0.0001")

SANGAT_TERTINGGAL = "sangat_tertinggal"
TERTINGGAL = "tertinggal"
BERKEMBANG = "berkembang"
MAJU = "maju"
MANDIRI = "mandiri"
#: Lowest to highest; the order of every distribution the API returns.
STATUS = (SANGAT_TERTINGGAL, TERTINGGAL, BERKEMBANG, MAJU, MANDIRI)
LABEL = {SANGAT_TERTINGGAL: "Sangat Tertinggal", TERTINGGAL: "Tertinggal", BERKEMBANG: "Berkembang",
         MAJU: "Maju", MANDIRI: "Mandiri"}
#: The aliases some Kemendes documents use (research/domain.md §2.1).
ALIAS = {SANGAT_TERTINGGAL: "Pratama", TERTINGGAL: "Pra-Madya", BERKEMBANG: "Madya", MAJU: "Pra-Sembada",
         MANDIRI: "Sembada"}


class SkemaTidakDikenal(ValueError):
    pass


class SkemaBelumTersedia(ValueError):
    pass


@dataclass(frozen=True)
class Skema:
    kode: str
    nama: str
    dasar_hukum: str
    #: Dimension key → its name; the keys are the JSON keys of ``indeks_desa.skor`` and the API fields.
    dimensi: Mapping[str, str]
    #: Upper bound (inclusive) of each status but the last, lowest first; ``None`` while unknown.
    ambang: tuple[tuple[str, Decimal], ...] | None
    teratas: str | None
    hitung: Callable[[Mapping[str, Decimal]], Decimal] | None
    catatan: str = ""

    @property
    def tersedia(self) -> bool:
        return self.hitung is not None and self.ambang is not None

    def nilai(self, skor: Mapping[str, Decimal]) -> Decimal:
        if not self.tersedia:
            raise SkemaBelumTersedia(f"skema {self.kode} belum dapat dihitung / not computable yet: {self.catatan}")
        return self.hitung(skor)

    def status(self, nilai: Decimal) -> str:
        if not self.tersedia:
            raise SkemaBelumTersedia(f"skema {self.kode} belum dapat dihitung / not computable yet: {self.catatan}")
        for status, batas_atas in self.ambang:
            if nilai <= batas_atas:
                return status
        return self.teratas

    def describe(self) -> dict:
        return {
            "kode": self.kode, "nama": self.nama, "dasar_hukum": self.dasar_hukum, "tersedia": self.tersedia,
            "dimensi": dict(self.dimensi),
            "ambang": [{"status": s, "label": LABEL[s], "nilai_maks": str(v)} for s, v in self.ambang or ()]
            + ([{"status": self.teratas, "label": LABEL[self.teratas], "nilai_maks": None}] if self.teratas else []),
            "catatan": self.catatan,
        }


def _idm_2016(skor: Mapping[str, Decimal]) -> Decimal:
    total = skor["iks"] + skor["ike"] + skor["ikl"]
    return (total / 3).quantize(EMPAT_DESIMAL, rounding=ROUND_HALF_UP)


IDM_2016 = Skema(
    kode="IDM-2016",
    nama="Indeks Desa Membangun",
    dasar_hukum="Permendes PDTT No. 2 Tahun 2016",
    dimensi={"iks": "Indeks Ketahanan Sosial", "ike": "Indeks Ketahanan Ekonomi",
             "ikl": "Indeks Ketahanan Ekologi/Lingkungan"},
    ambang=((SANGAT_TERTINGGAL, Decimal("0.4907")), (TERTINGGAL, Decimal("0.5989")),
            (BERKEMBANG, Decimal("0.7072")), (MAJU, Decimal("0.8155"))),
    teratas=MANDIRI,
    hitung=_idm_2016,
    catatan="IDM = (IKS + IKE + IKL) / 3, dibulatkan ke 4 desimal / rounded half-up to 4 decimals",
)

ID_2024 = Skema(
    kode="ID-2024",
    nama="Indeks Desa",
    dasar_hukum="Permendes PDTT No. 9 Tahun 2024",
    dimensi={"dld": "Layanan Dasar", "ds": "Sosial", "de": "Ekonomi", "dl": "Lingkungan", "da": "Aksesibilitas",
             "dtkpd": "Tata Kelola Pemerintahan Desa"},
    ambang=None,
    teratas=None,
    hitung=None,
    catatan="rumus dan ambang status belum ditetapkan di sini (sumber bertentangan, research/domain.md §2.2) / "
            "formula and status thresholds not established yet",
)

SKEMA: dict[str, Skema] = {s.kode: s for s in (IDM_2016, ID_2024)}
BAKU = IDM_2016.kode


def skema(kode: str | None) -> Skema:
    """The scheme named ``kode`` (default IDM-2016); :class:`SkemaTidakDikenal` otherwise."""
    kode = (kode or BAKU).strip().upper()
    try:
        return SKEMA[kode]
    except KeyError:
        raise SkemaTidakDikenal(f"skema {kode!r} tidak dikenal / unknown scheme; one of: {', '.join(SKEMA)}") from None


def status_idm(nilai: Decimal | str | float) -> str:
    """The IDM-2016 status of an IDM value (four decimals, inclusive upper bounds)."""
    return IDM_2016.status(Decimal(str(nilai)))
