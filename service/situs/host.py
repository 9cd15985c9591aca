"""Serving a village's public site under its own host name (``kawasan.tenant.nama_host``).

:class:`HostSitus` is WSGI middleware in front of the Flask app. When the request's ``Host`` is a village's
host name and the path is one of the public site's (see :data:`JALUR_SITUS`), it rewrites the path to the
same page under ``/desa/<slug>`` before Flask routes it; so the host name adds no second set of routes and
every policy, cache and test of the path form applies unchanged. Other paths on that host (``/api``,
``/verifikasi``, the admin screens, sign-in) pass through untouched. Links on such a page drop the
``/desa/<slug>`` prefix (see :func:`tautan`) because the environ remembers it as ``kawasan.situs_prefix``.

The host → slug map is read from ``kawasan.tenant`` at most every :data:`SEGAR` seconds per process (one
small query for the whole kabupaten); a host name set by an operator is served within that time.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, text

SEGAR = 30.0
#: First path segments of the public site (everything in ``resources.py`` reachable without signing in).
JALUR_SITUS = frozenset({"", "artikel", "kategori", "pemerintah", "statistik", "gambar", "captcha", "cek-surat"})
ENVIRON_PREFIX = "kawasan.situs_prefix"
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def periksa_nama_host(raw: str) -> str:
    """A host name as stored in ``kawasan.tenant.nama_host``: lower case, without the trailing dot; ValueError
    (Indonesian / English) unless it is a DNS name of two labels or more (letters, digits, inner ``-``, 63
    characters a label, 253 in all; IDNs in their ``xn--`` form). No scheme, port, path or IP address: the
    middleware compares it with the request's ``Host`` without its port."""
    host = raw.strip().lower().removesuffix(".")
    if not host:
        raise ValueError("nama host kosong / empty host name")
    if len(host) > 253:
        raise ValueError("nama host lebih dari 253 karakter / longer than 253 characters")
    labels = host.split(".")
    if len(labels) < 2:
        raise ValueError("nama host harus berdomain, mis. muarabuat.desa.id / needs a domain, e.g. "
                         "muarabuat.desa.id")
    for label in labels:
        if not _LABEL.match(label):
            raise ValueError(f"bagian {label[:70]!r} tidak sah: huruf, angka dan '-' di tengah, 1–63 karakter / "
                             "not a valid DNS label (letters, digits, inner '-', 1-63 characters)")
    if labels[-1].isdigit():
        raise ValueError("alamat IP bukan nama host / an IP address is not a host name")
    return host


class HostSitus:
    def __init__(self, wsgi_app: Callable, engine_of: Callable[[], Engine]):
        self.wsgi_app = wsgi_app
        self._engine_of = engine_of
        self._hosts: dict[str, str] = {}
        self._dibaca = 0.0
        self._lock = threading.Lock()

    def hosts(self) -> dict[str, str]:
        now = time.monotonic()
        if now - self._dibaca > SEGAR:
            with self._lock:
                if now - self._dibaca > SEGAR:
                    try:
                        with self._engine_of().connect() as conn:
                            rows = conn.execute(text(
                                "SELECT lower(nama_host), slug FROM kawasan.tenant "
                                "WHERE nama_host IS NOT NULL AND slug IS NOT NULL AND status = 'ready'")).all()
                        self._hosts = {host: slug for host, slug in rows}
                    except Exception:  # noqa: BLE001 - a database hiccup must not take the main site down
                        pass
                    self._dibaca = now
        return self._hosts

    def lupakan(self) -> None:
        """Re-read the map on the next request (after an operator changes a host name)."""
        self._dibaca = 0.0

    def __call__(self, environ: dict, start_response: Callable):
        host = (environ.get("HTTP_HOST") or "").split(":", 1)[0].lower().rstrip(".")
        if host:
            slug = self.hosts().get(host)
            path = environ.get("PATH_INFO") or "/"
            if slug and path.lstrip("/").split("/", 1)[0] in JALUR_SITUS:
                prefix = f"/desa/{slug}"
                environ["PATH_INFO"] = prefix + path
                environ[ENVIRON_PREFIX] = prefix
        return self.wsgi_app(environ, start_response)


def tautan(url: str, environ: dict) -> str:
    """A URL built by ``url_for`` as it should appear on the page: without ``/desa/<slug>`` on the
    village's own host name, unchanged elsewhere."""
    prefix = environ.get(ENVIRON_PREFIX)
    if prefix and (url == prefix or url.startswith(prefix + "/") or url.startswith(prefix + "?")):
        rest = url[len(prefix):]
        return rest if rest.startswith("/") else "/" + rest
    return url
