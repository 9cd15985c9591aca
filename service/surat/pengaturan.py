"""Letter settings: a desa's own (number format, verification chain, classification codes, webhook, templates)
and a kabupaten's overrides of the catalogue (approval chain, requestable online). No Flask here.

Desa settings live in the desa's ``pengaturan`` table under the keys :mod:`service.surat.services` reads
(``surat_format_nomor``, ``surat_nomor_per``, ``surat_rantai_verifikasi``, ``surat_skema_klasifikasi``,
``surat_kode_desa``, ``surat_klasifikasi:<jenis>``), the keys the notification job reads (``webhook_url``,
``webhook_secret``) and ``surat_template:<jenis>`` (a letter body replacing the catalogue's).

A desa's template is checked when it is saved, never first at issue time: it is parsed, held to a few static
rules that keep its cost bounded whatever a resident types into the letter, and rendered with
:func:`service.surat.pdf.check_template` against a realistic sample and against a worst case (every field at
its longest) in a child process with CPU, memory and wall-clock limits, so a hostile or careless template
cannot stall the web process while it is being checked.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import Connection, delete, select, text
from sqlalchemy.dialects.postgresql import insert

from service.surat import katalog
from service.surat.services import DEFAULT_FORMAT, InvalidRequest, format_number, village_chain
from tenants.session import DesaSession
from tenants.tables import Pengaturan

# --- keys and rules -------------------------------------------------------------------------------------

K_FORMAT = "surat_format_nomor"
K_PER = "surat_nomor_per"
K_CHAIN = "surat_rantai_verifikasi"
K_SKEMA = "surat_skema_klasifikasi"
K_KODE_DESA = "surat_kode_desa"
K_WEBHOOK_URL = "webhook_url"
K_WEBHOOK_SECRET = "webhook_secret"
KLASIFIKASI_PREFIX = "surat_klasifikasi:"
TEMPLATE_PREFIX = "surat_template:"

#: API field → pengaturan key (klasifikasi is a map spread over one key per letter type).
FIELDS = {
    "format_nomor": K_FORMAT,
    "nomor_per": K_PER,
    "rantai_verifikasi": K_CHAIN,
    "skema_klasifikasi": K_SKEMA,
    "kode_desa": K_KODE_DESA,
    "webhook_url": K_WEBHOOK_URL,
    "webhook_secret": K_WEBHOOK_SECRET,
}
NOMOR_PER = ("klasifikasi", "tahun")
SKEMA = ("78", "83")
VILLAGE_ROLES = ("operator_desa", "sekdes", "kepala_desa")
KODE_DESA_RE = re.compile(r"^[A-Za-z0-9.-]{1,20}$")
KLASIFIKASI_RE = re.compile(r"^\d{1,4}(\.\d{1,4}){0,5}$")
PLACEHOLDER_RE = re.compile(r"\[[^\[\]]*\]")
KNOWN_PLACEHOLDERS = {"[kode_klasifikasi]", "[nomor]", "[kode_desa]", "[bulan_romawi]", "[bulan]", "[tahun]"}
NOMOR_WIDTH_RE = re.compile(r"^\[nomor,(\d+)\]$")
MAX_NOMOR = 100  # permohonan_surat.nomor and kawasan.surat_terbit.nomor are varchar(100)

MAX_TEMPLATE_BYTES = 20 * 1024


def template_key(jenis_kode: str) -> str:
    return f"{TEMPLATE_PREFIX}{jenis_kode}"


def _rows(session: DesaSession) -> dict[str, Any]:
    return dict(session.execute(select(Pengaturan.kunci, Pengaturan.nilai)).all())


def _upsert(session: DesaSession, key: str, value: Any) -> None:
    statement = insert(Pengaturan).values(kunci=key, nilai=value)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[Pengaturan.kunci], set_={"nilai": statement.excluded.nilai, "diubah_pada": text("now()")}
        )
    )


def check_format(fmt: Any) -> str:
    """A number format: known placeholders only, exactly the counter ``[nomor]``/``[nomor,N]`` (N 1–6)."""
    if not isinstance(fmt, str) or not fmt.strip():
        raise InvalidRequest("format_nomor", "format nomor wajib diisi / the number format is required")
    if any(ord(c) < 32 or ord(c) == 127 for c in fmt):
        raise InvalidRequest("format_nomor", "format nomor tidak boleh berisi karakter kontrol / no control characters")
    counters = 0
    for token in PLACEHOLDER_RE.findall(fmt):
        width = NOMOR_WIDTH_RE.match(token.replace(" ", ""))
        if width:
            if not 1 <= int(width.group(1)) <= 6:
                raise InvalidRequest("format_nomor", f"{token}: lebar nomor 1–6 / the number width must be 1 to 6")
            counters += 1
        elif token in KNOWN_PLACEHOLDERS:
            counters += token == "[nomor]"
        else:
            known = ", ".join(sorted(KNOWN_PLACEHOLDERS | {"[nomor,N]"}))
            raise InvalidRequest("format_nomor", f"{token}: bagian tidak dikenal / unknown placeholder; use {known}")
    if "[" in PLACEHOLDER_RE.sub("", fmt) or "]" in PLACEHOLDER_RE.sub("", fmt):
        raise InvalidRequest("format_nomor", "kurung siku tanpa pasangan / unbalanced [ or ]")
    if counters == 0:
        raise InvalidRequest("format_nomor", "format harus memuat [nomor] atau [nomor,N] / must contain [nomor]")
    worst = format_number(
        re.sub(r"\[nomor\s*,\s*(\d+)\]", r"[nomor,\1]", fmt),
        kode_klasifikasi="9999." * 5 + "9999",
        nomor=999999,
        kode_desa="W" * 20,
        when=datetime(2026, 8, 1),  # VIII: the longest month in Roman numerals
    )
    if len(worst) > MAX_NOMOR:
        raise InvalidRequest("format_nomor", f"nomor bisa lebih dari {MAX_NOMOR} karakter / may get too long")
    return re.sub(r"\[nomor\s*,\s*(\d+)\]", r"[nomor,\1]", fmt)


def check_chain(chain: Any) -> list[str]:
    """A non-empty ordered subset of operator_desa → sekdes → kepala_desa ending with the signer."""
    field = "rantai_verifikasi"
    if not isinstance(chain, list) or not chain or not all(isinstance(r, str) for r in chain):
        raise InvalidRequest(field, "daftar peran wajib diisi / a non-empty list of roles is required")
    unknown = [r for r in chain if r not in VILLAGE_ROLES]
    if unknown:
        roles = ", ".join(VILLAGE_ROLES)
        raise InvalidRequest(field, f"{unknown[0]!r}: peran tidak dikenal / unknown role; use {roles}")
    if len(set(chain)) != len(chain) or chain != sorted(chain, key=VILLAGE_ROLES.index):
        raise InvalidRequest(field, "urutan harus operator_desa → sekdes → kepala_desa, tanpa ulangan / wrong order")
    if chain[-1] != "kepala_desa":
        raise InvalidRequest(field, "langkah terakhir selalu kepala_desa (penandatangan) / must end with kepala_desa")
    return chain


def check_klasifikasi(values: Any) -> dict[str, str | None]:
    if not isinstance(values, dict):
        raise InvalidRequest("klasifikasi", "peta jenis → kode klasifikasi / a map of letter type to code")
    for jenis, kode in values.items():
        field = f"klasifikasi.{jenis}"
        if jenis not in katalog.BY_KODE:
            raise InvalidRequest(field, f"jenis surat {jenis!r} tidak dikenal / unknown letter type")
        if kode is not None and (not isinstance(kode, str) or not KLASIFIKASI_RE.match(kode)):
            raise InvalidRequest(field, "kode klasifikasi berupa angka bertitik, mis. 400.12.2.1 / digits and dots")
    return values


def _klasifikasi(rows: dict[str, Any], skema: str, base: katalog.JenisSurat) -> str:
    default = base.kode_83 if skema == "83" else base.kode_78
    return rows.get(f"{KLASIFIKASI_PREFIX}{base.kode}") or default


def _next_number(session: DesaSession, per: str, kode_klasifikasi: str, when: datetime) -> int:
    last = session.scalar(
        text("SELECT terakhir FROM nomor_surat WHERE tahun = :t AND kunci = :k"),
        {"t": when.year, "k": kode_klasifikasi if per == "klasifikasi" else "*"},
    )
    return (last or 0) + 1


def effective_settings(session: DesaSession) -> dict[str, Any]:
    """What letters use now: stored values or the defaults. Never the webhook secret itself."""
    rows = _rows(session)
    skema = str(rows.get(K_SKEMA, "83"))
    fmt = rows.get(K_FORMAT, DEFAULT_FORMAT)
    per = rows.get(K_PER, "klasifikasi")
    kode_desa = rows.get(K_KODE_DESA, session.desa.kode.split(".")[-1])
    klasifikasi = {base.kode: _klasifikasi(rows, skema, base) for base in katalog.KATALOG}
    now = datetime.now(UTC)
    contoh_jenis = katalog.KATALOG[0]
    contoh_kode = klasifikasi[contoh_jenis.kode]
    return {
        "format_nomor": fmt,
        "contoh_nomor": format_number(
            fmt,
            kode_klasifikasi=contoh_kode,
            nomor=_next_number(session, per, contoh_kode, now),
            kode_desa=kode_desa,
            when=now,
        ),
        "contoh_nomor_jenis": contoh_jenis.kode,
        "nomor_per": per,
        "rantai_verifikasi": village_chain(session),
        "skema_klasifikasi": skema,
        "kode_desa": kode_desa,
        "klasifikasi": klasifikasi,
        "klasifikasi_khusus": {
            k.removeprefix(KLASIFIKASI_PREFIX): v for k, v in sorted(rows.items()) if k.startswith(KLASIFIKASI_PREFIX)
        },
        "webhook_url": rows.get(K_WEBHOOK_URL),
        "webhook_secret_diatur": bool(rows.get(K_WEBHOOK_SECRET)),
        "template_khusus": sorted(k.removeprefix(TEMPLATE_PREFIX) for k in rows if k.startswith(TEMPLATE_PREFIX)),
    }


def save_settings(session: DesaSession, changes: dict[str, Any]) -> dict[str, Any]:
    """Validate and write the given fields (``None`` resets one to its default) in the caller's transaction.

    Field values are already shaped by the API schema; the rules that need the stored settings are here.
    Raises :class:`InvalidRequest` naming the field before anything is written. Returns the audit detail
    (no secret, and no webhook URL either: such URLs often carry a token).
    """
    rows = _rows(session)
    writes: dict[str, Any] = {}
    for field, key in FIELDS.items():
        if field in changes:
            writes[key] = changes[field]
    if "format_nomor" in changes and changes["format_nomor"] is not None:
        writes[K_FORMAT] = check_format(changes["format_nomor"])
    if "rantai_verifikasi" in changes and changes["rantai_verifikasi"] is not None:
        writes[K_CHAIN] = check_chain(changes["rantai_verifikasi"])
    if "klasifikasi" in changes:
        if changes["klasifikasi"] is None:  # every code back to the scheme's default
            writes.update(dict.fromkeys((k for k in rows if k.startswith(KLASIFIKASI_PREFIX)), None))
        else:
            for jenis, kode in check_klasifikasi(changes["klasifikasi"]).items():
                writes[f"{KLASIFIKASI_PREFIX}{jenis}"] = kode

    after = {**rows, **writes}
    fmt = after.get(K_FORMAT) or DEFAULT_FORMAT
    per = after.get(K_PER) or "klasifikasi"
    numbering_changed = K_FORMAT in writes or K_PER in writes
    if numbering_changed and per == "klasifikasi" and "[kode_klasifikasi]" not in fmt:
        # Each classification has its own counter, so without the code two letters would share a number.
        field = "format_nomor" if K_FORMAT in writes else "nomor_per"
        raise InvalidRequest(
            field,
            "dengan nomor_per 'klasifikasi' format harus memuat [kode_klasifikasi] (atau pakai nomor_per 'tahun') / "
            "per-classification counters need [kode_klasifikasi] in the format, or one yearly counter",
        )
    if numbering_changed and "[tahun]" not in fmt:
        field = "format_nomor" if K_FORMAT in writes else "nomor_per"
        raise InvalidRequest(field, "format harus memuat [tahun]: nomor mulai dari 1 tiap tahun / must contain [tahun]")
    webhook_changed = K_WEBHOOK_URL in writes or K_WEBHOOK_SECRET in writes
    if webhook_changed and after.get(K_WEBHOOK_URL) and not after.get(K_WEBHOOK_SECRET):
        raise InvalidRequest(
            "webhook_secret", "webhook_url perlu webhook_secret untuk tanda tangan HMAC / a signing secret is required"
        )

    for key, value in writes.items():
        if value is None:
            session.execute(delete(Pengaturan).where(Pengaturan.kunci == key))
        else:
            _upsert(session, key, value)
    detail: dict[str, Any] = {"diubah": sorted(changes)}
    for field in ("format_nomor", "nomor_per", "rantai_verifikasi", "skema_klasifikasi", "kode_desa", "klasifikasi"):
        if field in changes:
            detail[field] = changes[field]
    for field in ("webhook_url", "webhook_secret"):
        if field in changes:
            detail[field] = "dihapus" if changes[field] is None else "diatur"
    return detail


# --- letter templates -----------------------------------------------------------------------------------


def stored_template(session: DesaSession, jenis_kode: str) -> str | None:
    return session.scalar(select(Pengaturan.nilai).where(Pengaturan.kunci == template_key(jenis_kode)))


def save_template(session: DesaSession, jenis_kode: str, source: str | None) -> None:
    """Store (or, with ``None``, remove) a desa's body for a letter type. Check it first with
    :func:`check_letter_template`; this only writes, in the caller's transaction."""
    if source is None:
        session.execute(delete(Pengaturan).where(Pengaturan.kunci == template_key(jenis_kode)))
        return
    _upsert(session, template_key(jenis_kode), source)


def template_audit(source: str) -> dict[str, Any]:
    return {"ukuran": len(source.encode("utf-8")), "sha256": hashlib.sha256(source.encode("utf-8")).hexdigest()}


def template_for(session: DesaSession, jenis: katalog.JenisSurat) -> str:
    """The body a letter of this type is rendered with in this desa: its own template or the catalogue's."""
    return stored_template(session, jenis.kode) or jenis.template


def _sample_isian(isian: katalog.Isian) -> str:
    if isian.tipe == "date":
        return date.today().isoformat()
    if isian.tipe == "number":
        return "2500000"
    if isian.tipe == "textarea":
        return f"Contoh {isian.nama.lower()}, ditulis oleh pemohon"
    return f"Contoh {isian.nama.lower()}"


def _worst_isian(isian: katalog.Isian) -> str:
    if isian.tipe == "date":
        return date.today().isoformat()
    if isian.tipe == "number":
        return "9" * 15
    return "W" * 2000  # services.ajukan keeps at most 2000 characters


def sample_context(session: DesaSession, jenis: katalog.JenisSurat) -> dict[str, Any]:
    """A context shaped exactly like :func:`service.surat.pdf.letter_context`, with a made-up resident."""
    from service.penduduk.referensi import label
    from service.surat.pdf import desa_context, tanggal

    rows = _rows(session)
    sebutan_kepala = rows.get("sebutan_kepala_desa", "Kepala Desa")
    return {
        "desa": desa_context(session, rows),
        "penduduk": {
            "nama": "Budi Santoso",
            "nik": session.desa.kode.replace(".", "")[:6] + "0101900001",
            "tempat_lahir": "Muara Bungo",
            "tanggal_lahir": tanggal(date(1990, 1, 1)),
            "jenis_kelamin": label("sex", 1) or "",
            "agama": label("agama_id", 1) or "",
            "pekerjaan": label("pekerjaan_id", 9) or "",
            "alamat": f"RT 001 RW 002, {rows.get('sebutan_dusun', 'Dusun')} Contoh",
            "status_kawin": label("status_kawin", 2) or "",
        },
        "isian": {i.kode: _sample_isian(i) for i in jenis.isian},
        "penandatangan": {"jabatan": f"{sebutan_kepala} {session.desa.nama}"},
    }


def worst_context(sample: dict[str, Any], jenis: katalog.JenisSurat) -> dict[str, Any]:
    """The sample with every field at its longest (what a resident or the register could put there)."""
    return {
        "desa": {k: "W" * 200 for k in sample["desa"]},
        "penduduk": {k: "W" * 500 for k in sample["penduduk"]},
        "isian": {i.kode: _worst_isian(i) for i in jenis.isian},
        "penandatangan": {k: "W" * 300 for k in sample["penandatangan"]},
    }


#: Filters and functions whose size or count arguments must be written in the template, not come from data.
_SIZED = {"center", "indent", "wordwrap", "slice", "batch", "format"}
_PRINTF_BOMB = re.compile(r"%[-#0 +]*(\*|\d{4,})|%[-#0 +]*\d*\.(\*|\d{4,})")
#: What a letter body may not contain: anything that makes WeasyPrint load a resource (network or disk) or that
#: lets data reach HTML markup. Data may appear in text only, where autoescaping makes it inert.
_HTML_RULES = (
    (re.compile(r"<[^>]*(\{\{|\{%|\{#)"), "kode template di dalam tag HTML / no template code inside an HTML tag"),
    (re.compile(r"<[^>]*\\"), "garis miring terbalik di dalam tag HTML / no backslash inside an HTML tag"),
    (
        re.compile(
            r"<\s*/?\s*(link|style|object|embed|iframe|frame|frameset|script|base|meta|svg|math|form|input|"
            r"button|video|audio|source|track|picture|template|portal)\b",
            re.IGNORECASE,
        ),
        "elemen HTML tidak diizinkan / HTML element not allowed",
    ),
    (
        re.compile(r"\b(src|srcset|href|xlink:href|poster|background|data|action|formaction)\s*=|url\s*\(|"
                   r"@import|image-set\s*\(", re.IGNORECASE),
        "sumber luar tidak diizinkan / no external resources",
    ),
)


def _html_rules(html: str, *, source: bool) -> None:
    for pattern, message in _HTML_RULES if source else _HTML_RULES[1:]:
        found = pattern.search(html)
        if found:
            where = f"baris {html.count(chr(10), 0, found.start()) + 1}: " if source else "hasil / output: "
            raise InvalidRequest("template", f"{where}{found.group(0).strip()[:40]!r}: {message}")


def _static_rules(tree: nodes.Template, context: dict[str, Any]) -> None:
    """Rules that bound a template's cost whatever a resident types (the render check only sees samples)."""

    def fail(node: nodes.Node, message: str):
        raise InvalidRequest("template", f"baris {node.lineno}: {message}")

    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for node in tree.find_all(nodes.Pow):
        fail(node, "operator ** tidak diizinkan / the ** operator is not allowed")
    for node in tree.find_all(nodes.Mul):
        small = [
            side
            for side in (node.left, node.right)
            if isinstance(side, nodes.Const) and isinstance(side.value, int | float) and abs(side.value) <= 1000
        ]
        if not small:
            fail(node, "perkalian hanya dengan angka tetap ≤ 1000 / multiply only by a literal number up to 1000")
    for node in tree.find_all(nodes.Mod):
        if not isinstance(node.left, nodes.Const):
            fail(node, "format % hanya dengan teks tetap di kiri / '%' needs a literal on the left")
        if isinstance(node.left.value, str) and _PRINTF_BOMB.search(node.left.value):
            fail(node, "lebar format terlalu besar / format width too large")
    for node in tree.find_all(nodes.For):
        if any(any(True for _ in inner.find_all(nodes.For)) for inner in node.find_all(nodes.For)):
            fail(node, "perulangan bersarang paling dalam 2 tingkat / loops nest at most two deep")
    for node in tree.find_all(nodes.Call):
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            fail(node, "argumen *args/**kwargs tidak diizinkan / no *args or **kwargs")
        values = [*node.args, *(kw.value for kw in node.kwargs)]
        if not all(isinstance(v, nodes.Const) for v in values):
            fail(node, "argumen pemanggilan harus nilai tetap / call arguments must be literals")
        if any(isinstance(v.value, int | float) and abs(v.value) > 1000 for v in values):
            fail(node, "argumen angka paling besar 1000 / numeric arguments up to 1000")
        if (
            isinstance(node.node, nodes.Getattr)
            and node.node.attr in ("format", "format_map")
            and (not isinstance(node.node.node, nodes.Const) or _PRINTF_BOMB.search(str(node.node.node.value)))
        ):
            fail(node, "format hanya pada teks tetap / format only a literal string")
    for node in tree.find_all(nodes.Filter):
        if node.name not in _SIZED:
            continue
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            fail(node, "argumen *args/**kwargs tidak diizinkan / no *args or **kwargs")
        values = [*node.args, *(kw.value for kw in node.kwargs)]
        if node.name == "format":
            if node.node is not None and (
                not isinstance(node.node, nodes.Const) or _PRINTF_BOMB.search(str(node.node.value))
            ):
                fail(node, "filter format hanya pada teks tetap / format only a literal string")
        elif not all(isinstance(v, nodes.Const) for v in values):
            fail(node, f"argumen filter {node.name} harus nilai tetap / {node.name} arguments must be literals")
        elif any(isinstance(v.value, int | float) and abs(v.value) > 1000 for v in values):
            fail(node, f"argumen filter {node.name} paling besar 1000 / {node.name} arguments up to 1000")
    # Unknown fields are caught even in branches the sample does not take.
    for node in tree.find_all(nodes.Getattr):
        if (
            isinstance(node.node, nodes.Name)
            and node.node.name in context
            and node.node.name not in assigned
            and node.attr not in context[node.node.name]
        ):
            known = ", ".join(context[node.node.name]) or "-"
            fail(node, f"{node.node.name}.{node.attr} tidak dikenal / unknown field; ada / known: {known}")
    for node in tree.find_all(nodes.Getitem):
        if (
            isinstance(node.node, nodes.Name)
            and node.node.name in context
            and node.node.name not in assigned
            and isinstance(node.arg, nodes.Const)
            and node.arg.value not in context[node.node.name]
        ):
            fail(node, f"{node.node.name}[{node.arg.value!r}] tidak dikenal / unknown field")


_CHECKER = r"""
import json, resource, sys, traceback
resource.setrlimit(resource.RLIMIT_CPU, (4, 5))
resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
job = json.load(sys.stdin)
from jinja2 import TemplateSyntaxError, meta
from service.surat.pdf import _body_env, check_template

def line(exc):
    if isinstance(exc, TemplateSyntaxError) and exc.lineno:
        return exc.lineno
    frames = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<template>"]
    return frames[-1] if frames else None

out = {"ok": True, "html": None}
try:
    names = meta.find_undeclared_variables(_body_env().parse(job["template"]))
    unknown = sorted(names - set(job["contoh"]) - set(_body_env().globals))
    if unknown:
        from jinja2 import nodes
        where = [n.lineno for n in _body_env().parse(job["template"]).find_all(nodes.Name) if n.name == unknown[0]]
        out = {"ok": False, "tahap": "contoh", "pesan": f"{unknown[0]!r} tidak dikenal / is undefined",
               "baris": min(where, default=None)}
    else:
        for tahap, cap in (("contoh", 200_000), ("terpanjang", 2_000_000)):
            html = check_template(job["template"], job[tahap])
            if len(html) > cap:
                out = {"ok": False, "tahap": tahap, "pesan": f"hasil lebih dari {cap} karakter / output too large",
                       "baris": None}
                break
            if tahap == "contoh":
                out["html"] = html
except MemoryError:
    out = {"ok": False, "tahap": "", "pesan": "template memakai terlalu banyak memori / uses too much memory",
           "baris": None}
except RecursionError:
    out = {"ok": False, "tahap": "", "pesan": "rekursi terlalu dalam / recursion too deep", "baris": None}
except Exception as exc:
    out = {"ok": False, "tahap": locals().get("tahap", "contoh"), "pesan": f"{type(exc).__name__}: {exc}"[:500],
           "baris": line(exc)}
sys.stdout.write(json.dumps(out))
"""

_ROOT = Path(__file__).resolve().parents[2]


def _render_isolated(source: str, sample: dict[str, Any], worst: dict[str, Any]) -> str:
    # The child gets no configuration (no database URL, no secrets): it only renders.
    env = {"PYTHONPATH": str(_ROOT), "PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8",
           "PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run(
            [sys.executable, "-s", "-c", _CHECKER],
            input=json.dumps({"template": source, "contoh": sample, "terpanjang": worst}),
            capture_output=True,
            text=True,
            timeout=10,
            cwd=_ROOT,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise InvalidRequest("template", "template terlalu lama dirender / takes too long to render") from None
    if done.returncode < 0:  # killed at its CPU limit (SIGXCPU) or by the kernel
        raise InvalidRequest("template", "template terlalu berat dirender / too expensive to render")
    if done.returncode != 0 or not done.stdout:
        raise RuntimeError(f"template checker failed ({done.returncode}): {done.stderr[-800:]}")
    result = json.loads(done.stdout)
    if not result["ok"]:
        where = f"baris {result['baris']}: " if result.get("baris") else ""
        worst_case = " (dengan isian terpanjang / with the longest input)" if result["tahap"] == "terpanjang" else ""
        raise InvalidRequest("template", f"{where}{result['pesan']}{worst_case}")
    return result["html"]


def check_letter_template(session: DesaSession, jenis: katalog.JenisSurat, source: Any) -> str:
    """Check a desa's letter body before it is stored or previewed; returns the sample rendering (HTML).

    Raises :class:`InvalidRequest` (field ``template``) with the line and the message for a syntax error, an
    unknown variable, a sandbox violation, a construct whose cost could grow with the data, a reference to an
    external resource, or a template over 20 kB.
    """
    if not isinstance(source, str) or not source.strip():
        raise InvalidRequest("template", "template wajib diisi / the template is required")
    size = len(source.encode("utf-8"))
    if size > MAX_TEMPLATE_BYTES:
        raise InvalidRequest("template", f"template {size} byte, paling besar {MAX_TEMPLATE_BYTES} / too large")
    _html_rules(source, source=True)
    sample = sample_context(session, jenis)
    try:
        tree = SandboxedEnvironment().parse(source)  # parsing evaluates nothing
    except TemplateSyntaxError as exc:
        raise InvalidRequest("template", f"baris {exc.lineno}: {exc.message}") from None
    except RecursionError:
        raise InvalidRequest("template", "template bersarang terlalu dalam / nested too deeply") from None
    _static_rules(tree, sample)
    html = _render_isolated(source, sample, worst_context(sample, jenis))
    _html_rules(html, source=False)
    return html


def data_only_url_fetcher():
    """A WeasyPrint URL fetcher that loads ``data:`` URIs only: a letter never reaches the network or disk."""
    try:
        from weasyprint import URLFetcher
    except ImportError:  # WeasyPrint before 68
        from weasyprint import default_url_fetcher

        def fetch(url: str, *args, **kwargs):
            if not url.lower().startswith("data:"):
                raise ValueError(f"sumber luar tidak diizinkan / external resource refused: {url[:80]}")
            return default_url_fetcher(url, *args, **kwargs)

        return fetch
    return URLFetcher(allowed_protocols=("data",), allow_redirects=False)


def preview_pdf(session: DesaSession, jenis_kode: str, body_html: str, *, base_url: str) -> bytes:
    """A sample letter: the real page template, a sample number, the desa's signer (and the levels above, if
    the type goes up), a QR code to an example URL, and a visible PREVIEW mark."""
    from weasyprint import HTML

    from service.surat.pdf import _page_env, qr_data_uri, tanggal
    from service.surat.services import resolve_jenis

    jenis = resolve_jenis(session, jenis_kode)
    settings = effective_settings(session)
    now = datetime.now(UTC)
    nomor = format_number(
        settings["format_nomor"],
        kode_klasifikasi=jenis.kode_klasifikasi,
        nomor=_next_number(session, settings["nomor_per"], jenis.kode_klasifikasi, now),
        kode_desa=settings["kode_desa"],
        when=now,
    )
    context = sample_context(session, jenis.base)
    kecamatan, kabupaten = context["desa"]["kecamatan"], context["desa"]["kabupaten"]
    signers = [{"tingkat": "desa", "nama": "(Nama Penandatangan)", "jabatan": context["penandatangan"]["jabatan"]}]
    if jenis.rantai in (katalog.KECAMATAN, katalog.KABUPATEN):
        signers.append({"tingkat": "kecamatan", "nama": "(Nama Camat)", "jabatan": f"Camat {kecamatan}"})
    if jenis.rantai == katalog.KABUPATEN:
        name = kabupaten.removeprefix("Kabupaten ").removeprefix("KABUPATEN ")
        signers.append({"tingkat": "kabupaten", "nama": "(Nama Pejabat)", "jabatan": f"a.n. Bupati {name}"})
    verify_url = f"{base_url.rstrip('/')}/verifikasi/CONTOH-PRATINJAU"
    mark = (
        '<p style="border:1px dashed #b00;color:#b00;text-align:center;padding:2px;font-size:9pt">'
        "PRATINJAU — CONTOH, BUKAN SURAT RESMI / PREVIEW, NOT AN OFFICIAL LETTER</p>\n"
    )
    html = (
        _page_env()
        .get_template("surat.html")
        .render(
            context=context,
            body=mark + body_html,
            judul=jenis.nama,
            nomor=nomor,
            tanggal_surat=tanggal(now),
            penandatangan=signers,
            qr=qr_data_uri(verify_url),
            verify_url=verify_url,
        )
    )
    return HTML(string=html, url_fetcher=data_only_url_fetcher()).write_pdf()


# --- kabupaten overrides of the catalogue ---------------------------------------------------------------


def kabupaten_of(region: str) -> str:
    return ".".join(region.split(".")[:2])


def kabupaten_catalogue(conn: Connection, kabupaten: str) -> list[dict[str, Any]]:
    overrides = {
        row.jenis_kode: row
        for row in conn.execute(
            text(
                "SELECT jenis_kode, rantai, mandiri, diubah_oleh, diubah_pada FROM kawasan.jenis_surat_kabupaten "
                "WHERE kabupaten_kode = :k"
            ),
            {"k": kabupaten},
        )
    }
    out = []
    for base in katalog.KATALOG:
        row = overrides.get(base.kode)
        out.append(
            {
                "kode": base.kode,
                "nama": base.nama,
                "rantai": row.rantai if row is not None and row.rantai else base.rantai,
                "mandiri": base.mandiri if row is None or row.mandiri is None else row.mandiri,
                "bawaan": {"rantai": base.rantai, "mandiri": base.mandiri},
                "khusus": {
                    "rantai": row.rantai if row is not None else None,
                    "mandiri": row.mandiri if row is not None else None,
                    "diubah_oleh": row.diubah_oleh if row is not None else None,
                    "diubah_pada": row.diubah_pada if row is not None else None,
                },
            }
        )
    return out


def set_kabupaten_override(
    conn: Connection, kabupaten: str, jenis_kode: str, changes: dict[str, Any], *, oleh: str
) -> dict[str, Any]:
    """Upsert the kabupaten's override (``None`` resets a field to the catalogue's); returns the audit detail.

    Requests already made keep their chain: :class:`PermohonanSurat` stores ``rantai`` when it is created.
    """
    current = conn.execute(
        text(
            "SELECT rantai, mandiri FROM kawasan.jenis_surat_kabupaten "
            "WHERE kabupaten_kode = :k AND jenis_kode = :j FOR UPDATE"
        ),
        {"k": kabupaten, "j": jenis_kode},
    ).first()
    before = {"rantai": current.rantai if current else None, "mandiri": current.mandiri if current else None}
    after = {**before, **{k: v for k, v in changes.items() if k in ("rantai", "mandiri")}}
    if after["rantai"] is None and after["mandiri"] is None:
        conn.execute(
            text("DELETE FROM kawasan.jenis_surat_kabupaten WHERE kabupaten_kode = :k AND jenis_kode = :j"),
            {"k": kabupaten, "j": jenis_kode},
        )
    else:
        conn.execute(
            text(
                "INSERT INTO kawasan.jenis_surat_kabupaten (kabupaten_kode, jenis_kode, rantai, mandiri, diubah_oleh, "
                "diubah_pada) VALUES (:k, :j, :r, :m, :o, now()) ON CONFLICT (kabupaten_kode, jenis_kode) DO UPDATE "
                "SET rantai = EXCLUDED.rantai, mandiri = EXCLUDED.mandiri, diubah_oleh = EXCLUDED.diubah_oleh, "
                "diubah_pada = now()"
            ),
            {"k": kabupaten, "j": jenis_kode, "r": after["rantai"], "m": after["mandiri"], "o": oleh[:100]},
        )
    return {"sebelumnya": before, "sesudah": after}

