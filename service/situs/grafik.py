"""Population charts as server-rendered SVG: no chart library to download, readable without JavaScript,
and each chart is a few kilobytes of markup that scales to the phone's width (``viewBox``).

Every chart has a ``<title>``/``<desc>`` for screen readers; the page also shows the same figures as a table.
"""

from __future__ import annotations

from markupsafe import Markup, escape

WARNA_L, WARNA_P, WARNA = "#1d4ed8", "#be185d", "#047857"
_LEBAR, _BARIS, _LABEL = 360, 22, 150


def _angka(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def batang(judul: str, rows: list[tuple[str, int]], *, warna: str = WARNA) -> Markup:
    """Horizontal bars (labels left, values right): long Indonesian labels fit on a narrow screen."""
    rows = [(label, value) for label, value in rows]
    if not any(value for _, value in rows):
        return Markup('<p class="meta">Belum ada data.</p>')
    maks = max((v for _, v in rows), default=0) or 1
    area = _LEBAR - _LABEL - 50
    tinggi = _BARIS * len(rows) + 8
    parts = [
        f'<svg class="grafik" viewBox="0 0 {_LEBAR} {tinggi}" role="img" aria-label="{escape(judul)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="sans-serif">',
        f"<title>{escape(judul)}</title>",
        f"<desc>{escape('; '.join(f'{label}: {_angka(v)}' for label, v in rows))}</desc>",
    ]
    for i, (label, value) in enumerate(rows):
        y = 4 + i * _BARIS
        w = round(area * value / maks, 1)
        short = label if len(label) <= 24 else label[:23] + "…"
        parts.append(
            f'<text x="{_LABEL - 6}" y="{y + 14}" text-anchor="end" fill="#222">{escape(short)}</text>'
            f'<rect x="{_LABEL}" y="{y + 3}" width="{w}" height="{_BARIS - 8}" fill="{warna}" rx="2"/>'
            f'<text x="{_LABEL + w + 4}" y="{y + 14}" fill="#222">{_angka(value)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def piramida(judul: str, rows: list[tuple[str, int, int]]) -> Markup:
    """Age pyramid: men to the left, women to the right, youngest band at the bottom."""
    if not any(lk or pr for _, lk, pr in rows):
        return Markup('<p class="meta">Belum ada data.</p>')
    maks = max((max(lk, pr) for _, lk, pr in rows), default=0) or 1
    tengah, label_w = _LEBAR / 2, 44
    half = tengah - label_w / 2 - 34
    baris = 16
    tinggi = baris * len(rows) + 24
    parts = [
        f'<svg class="grafik" viewBox="0 0 {_LEBAR} {tinggi}" role="img" aria-label="{escape(judul)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="10" font-family="sans-serif">',
        f"<title>{escape(judul)}</title>",
        f"<desc>{escape('; '.join(f'{k}: laki-laki {_angka(lk)}, perempuan {_angka(pr)}' for k, lk, pr in rows))}"
        "</desc>",
        f'<text x="4" y="12" fill="{WARNA_L}">Laki-laki</text>'
        f'<text x="{_LEBAR - 4}" y="12" text-anchor="end" fill="{WARNA_P}">Perempuan</text>',
    ]
    for i, (kelompok, lk, pr) in enumerate(reversed(rows)):
        y = 20 + i * baris
        wl, wp = round(half * lk / maks, 1), round(half * pr / maks, 1)
        left_edge, right_edge = tengah - label_w / 2, tengah + label_w / 2
        parts.append(
            f'<rect x="{left_edge - wl}" y="{y}" width="{wl}" height="{baris - 3}" fill="{WARNA_L}"/>'
            f'<text x="{left_edge - wl - 3}" y="{y + 10}" text-anchor="end" fill="#222">{_angka(lk)}</text>'
            f'<text x="{tengah}" y="{y + 10}" text-anchor="middle" fill="#222">{escape(kelompok)}</text>'
            f'<rect x="{right_edge}" y="{y}" width="{wp}" height="{baris - 3}" fill="{WARNA_P}"/>'
            f'<text x="{right_edge + wp + 3}" y="{y + 10}" fill="#222">{_angka(pr)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
