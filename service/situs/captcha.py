"""An offline CAPTCHA for public comment forms: a small sum drawn as a noisy PNG.

A challenge is a random id whose answer lives in Redis for :data:`MASA_BERLAKU` seconds. The form carries
``<id>.<HMAC(secret, desa | id)>``: a forged or another village's token is refused without touching Redis,
and checking deletes the answer (``GETDEL``), so each token is good for exactly one attempt, right or
wrong. Nothing is fetched from a third party; the image is drawn with Pillow's bundled font.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import random
import secrets

import redis
from PIL import Image, ImageDraw, ImageFilter, ImageFont

MASA_BERLAKU = 600
_PREFIX = "kawasan:captcha:"
_rng = random.SystemRandom()


def _sign(secret: str, desa_kode: str, ident: str) -> str:
    mac = hmac.new(secret.encode(), f"captcha|{desa_kode}|{ident}".encode(), hashlib.sha256).hexdigest()
    return mac[:32]


def _ident(secret: str, desa_kode: str, token: str) -> str | None:
    ident, _, mac = (token or "").partition(".")
    if not ident or len(ident) > 40 or not hmac.compare_digest(mac, _sign(secret, desa_kode, ident)):
        return None
    return ident


def buat(client: redis.Redis, secret: str, desa_kode: str) -> str:
    """A new challenge for this desa; returns the token for the form (and the image URL)."""
    a, b = _rng.randint(2, 19), _rng.randint(1, 9)
    if _rng.random() < 0.5 or a <= b:
        soal, jawaban = f"{a} + {b}", a + b
    else:
        soal, jawaban = f"{a} - {b}", a - b
    ident = secrets.token_urlsafe(16)
    client.set(_PREFIX + ident, json.dumps({"soal": soal, "jawaban": str(jawaban)}), ex=MASA_BERLAKU)
    return f"{ident}.{_sign(secret, desa_kode, ident)}"


def gambar(client: redis.Redis, secret: str, desa_kode: str, token: str) -> bytes | None:
    """The challenge as PNG, or None for an unknown, expired, used or forged token."""
    ident = _ident(secret, desa_kode, token)
    raw = client.get(_PREFIX + ident) if ident else None
    if raw is None:
        return None
    return _draw(json.loads(raw)["soal"] + " = ?")


def periksa(client: redis.Redis, secret: str, desa_kode: str, token: str, jawaban: str) -> bool:
    """True when ``jawaban`` answers the token's challenge. The token is spent either way."""
    ident = _ident(secret, desa_kode, token)
    if ident is None:
        return False
    raw = client.getdel(_PREFIX + ident)
    if raw is None:
        return False
    expected = json.loads(raw)["jawaban"]
    return hmac.compare_digest(expected, str(jawaban or "").strip())


def _draw(text: str) -> bytes:
    width, height = 180, 56
    img = Image.new("RGB", (width, height), (250, 250, 245))
    draw = ImageDraw.Draw(img)
    for _ in range(6):  # background strokes
        draw.line([(_rng.randint(0, width), _rng.randint(0, height)) for _ in range(2)],
                  fill=tuple(_rng.randint(150, 210) for _ in range(3)), width=1)
    font = ImageFont.load_default(size=30)
    x = 10
    for char in text:
        if char == " ":
            x += 8
            continue
        glyph = Image.new("RGBA", (36, 44), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((6, 2), char, font=font, fill=tuple(_rng.randint(10, 90) for _ in range(3)))
        glyph = glyph.rotate(_rng.uniform(-22, 22), resample=Image.BICUBIC, expand=False)
        img.paste(glyph, (x, _rng.randint(2, 12)), glyph)
        x += _rng.randint(17, 21)
    for _ in range(2):  # strokes across the text
        draw.line([(0, _rng.randint(12, height - 12)), (width, _rng.randint(12, height - 12))],
                  fill=(90, 90, 90), width=1)
    for _ in range(120):
        draw.point((_rng.randint(0, width - 1), _rng.randint(0, height - 1)), fill=(120, 120, 120))
    img = img.filter(ImageFilter.SMOOTH)
    out = io.BytesIO()
    img.convert("P", palette=Image.ADAPTIVE, colors=32).save(out, "PNG", optimize=True)
    return out.getvalue()
