"""Auth benchmark: access token verification, per-request auth overhead, password/PIN hashing.

Run from the project root::

    .venv/bin/python bench/auth.py [--database-url URL] [--redis-url URL] [-n N]

It creates its own fresh database on the server (the embedded pgserver under ``.kawasan-bench/`` when
neither ``--database-url`` nor ``DATABASE_URL`` is given), migrates it, provisions Kecamatan Bathin III
Ulu (15.08.14) and drops it, with its desa roles (named ``<database>:<schema>``), at the end. Redis is
``--redis-url``/``REDIS_URL``, else the embedded Redis under ``.kawasan-bench/``. Figures are printed
one per line, with units.

Measurements:

1. ``TokenService.decode`` (signature, algorithm and claims: the signature verification) and
   ``TokenService.verify`` (decode + the Redis revocation check + building the Principal), per call.
2. Whole auth overhead of an authorized request through the Flask test client of ``create_app``:
   ``GET /api/v1/auth/me`` (Bearer) vs ``GET /healthz`` (public), and the desa-scoped
   ``GET /api/v1/desa/15.08.14.2001/akun-warga/terkunci`` (operator_desa Bearer) vs the public
   ``GET /api/v1/desa/15.08.14.2001`` (which opens the desa session too); interleaved, after warm-up.
   Also ``authorize_request`` alone, inside a request context, with and without a Bearer token.
3. ``hash_secret`` / ``verify_secret`` (argon2id), deliberately slow.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, make_url, text

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # ``tests.fixtures`` when run as ``python bench/auth.py``

from common import BENCH_DATA_DIR, note, open_redis, open_server, out, verdict  # noqa: E402

KECAMATAN = "15.08.14"  # Bathin III Ulu
DESA = "15.08.14.2001"
DEFAULT_N = 5000
REQUEST_WARMUP = 200
TOKEN_WARMUP = 200
HASH_RUNS = 20
HASH_WARMUP = 2

TARGET_VERIFY_MS = 0.2
TARGET_AUTH_OVERHEAD_MS = 1.0
TARGET_HASH_MS = 50.0  # "about": reported as a ratio, not pass/fail


# --------------------------------------------------------------------------- output


def ms(seconds: float, digits: int = 3) -> str:
    return f"{seconds * 1000:.{digits}f} ms"


def summary(values: list[float], digits: int = 3) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"median {ms(statistics.median(ordered), digits)}; mean {ms(statistics.mean(ordered), digits)}; "
        f"p95 {ms(p95, digits)}"
    )


# --------------------------------------------------------------------------- server and database


# --------------------------------------------------------------------------- machine


def machine_lines(engine: Engine, redis_client) -> list[str]:
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with engine.connect() as conn:
        version = conn.scalar(text("SHOW server_version"))
    try:
        redis_version = redis_client.info("server").get("redis_version", "unknown")
    except Exception as exc:  # noqa: BLE001 - informational only
        redis_version = f"unknown ({type(exc).__name__})"
    from importlib.metadata import version as dist_version

    return [
        f"nproc: {nproc}",
        f"cpu model: {cpu_model}",
        f"memory: {mem_kib / 1024 / 1024:.1f} GiB" if mem_kib else "memory: unknown",
        f"python: {platform.python_version()}",
        f"postgresql server version: {version}",
        f"redis server version: {redis_version}",
        "libraries: " + ", ".join(
            f"{d} {dist_version(d)}" for d in ("joserfc", "cryptography", "flask", "argon2-cffi", "redis")
        ),
    ]


# --------------------------------------------------------------------------- helpers


def staff_token(tokens, *grants: tuple[str, str | None]) -> str:
    """A valid access token for a staff principal (as ``tests.fixtures.token_for`` makes one)."""
    from service.auth.principal import Kind, Principal
    from service.auth.roles import make_grant

    principal = Principal(kind=Kind.STAFF, subject=f"staff:{uuid.uuid4().int % 10**9}", name="Bench",
                          grants=tuple(make_grant(r, s) for r, s in grants))
    return tokens.issue(principal)[0]


def interleaved(variants: list[tuple[str, Callable[[], None]]], n: int, warmup: int) -> dict[str, list[float]]:
    """Run every variant ``warmup + n`` times, rotating the order each round; seconds per call."""
    times: dict[str, list[float]] = {name: [] for name, _ in variants}
    clock = time.perf_counter_ns
    for i in range(warmup + n):
        for j in range(len(variants)):
            name, fn = variants[(i + j) % len(variants)]
            started = clock()
            fn()
            elapsed = clock() - started
            if i >= warmup:
                times[name].append(elapsed / 1e9)
    return times


# --------------------------------------------------------------------------- 1. tokens


def bench_tokens(tokens, n: int) -> None:
    out(f"== 1. access token verification (RS256, N={n}) ==")
    token = staff_token(tokens, ("operator_desa", DESA))
    out(f"token size: {len(token)} bytes")
    claims = tokens.decode(token)
    assert claims["rol"] == [f"operator_desa@{DESA}"], claims
    assert tokens.verify(token).grants, "verify returned no grants"

    def decode() -> None:
        tokens.decode(token)

    def verify() -> None:
        tokens.verify(token)

    # The Redis round trip alone, to attribute the difference between verify and decode.
    redis_client = tokens.redis
    key = f"kawasan:revoked:{claims['jti']}"

    def redis_exists() -> None:
        redis_client.exists(key)

    times = interleaved(
        [("decode", decode), ("verify", verify), ("redis EXISTS", redis_exists)], n, TOKEN_WARMUP
    )
    med_decode = statistics.median(times["decode"])
    med_verify = statistics.median(times["verify"])
    out(f"TokenService.decode (signature + claims): {summary(times['decode'])} per call")
    out(f"TokenService.verify (decode + Redis revocation check + Principal): {summary(times['verify'])} per call")
    out(f"  of which Redis EXISTS alone: {summary(times['redis EXISTS'])} per call")
    out(
        f"signature verification = decode, median {ms(med_decode)} "
        f"(target <= {TARGET_VERIFY_MS} ms: {verdict(med_decode * 1000, TARGET_VERIFY_MS)})"
    )
    out(
        f"full verify incl. revocation check, median {ms(med_verify)} "
        f"(same target, for information: {verdict(med_verify * 1000, TARGET_VERIFY_MS)})"
    )
    out()


# --------------------------------------------------------------------------- 2. requests


def bench_requests(app, n: int) -> None:
    tokens = app.extensions["kawasan_auth"].tokens
    client = app.test_client()
    me_token = staff_token(tokens, ("operator_desa", DESA))
    operator_token = staff_token(tokens, ("operator_desa", DESA))
    me_headers = {"Authorization": f"Bearer {me_token}"}
    operator_headers = {"Authorization": f"Bearer {operator_token}"}
    me_url = "/api/v1/auth/me"
    health_url = "/healthz"
    locked_url = f"/api/v1/desa/{DESA}/akun-warga/terkunci"
    profile_url = f"/api/v1/desa/{DESA}"

    def check(url: str, headers: dict | None = None) -> None:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:300])

    # Every variant once, with its status checked, before timing.
    check(me_url, me_headers)
    check(health_url)
    check(locked_url, operator_headers)
    check(profile_url)
    assert client.get(me_url).status_code == 401
    assert client.get(locked_url, headers=me_headers).status_code == 200
    assert client.get(locked_url).status_code == 401

    def get(url: str, headers: dict | None = None) -> Callable[[], None]:
        def call() -> None:
            response = client.get(url, headers=headers)
            if response.status_code != 200:
                raise AssertionError((url, response.status_code))
            response.close()

        return call

    variants = [
        ("GET /api/v1/auth/me (Bearer)", get(me_url, me_headers)),
        ("GET /healthz (public)", get(health_url)),
        (f"GET /api/v1/desa/{DESA}/akun-warga/terkunci (operator_desa Bearer)", get(locked_url, operator_headers)),
        (f"GET /api/v1/desa/{DESA} (public, opens the desa session)", get(profile_url)),
    ]
    out(
        f"== 2. auth overhead per request (Flask test client of create_app, N={n} each, "
        f"{REQUEST_WARMUP} warm-up, interleaved) =="
    )
    note(f"timing {len(variants)} request variants x {REQUEST_WARMUP + n}")
    started = time.perf_counter()
    times = interleaved(variants, n, REQUEST_WARMUP)
    note(f"requests timed in {time.perf_counter() - started:.1f} s")
    medians = {}
    for name, _ in variants:
        medians[name] = statistics.median(times[name])
        out(f"{name}: {summary(times[name])} per request")

    pairs = [(variants[0][0], variants[1][0], "auth/me - healthz"),
             (variants[2][0], variants[3][0], "terkunci - desa profile")]
    for protected, public, label in pairs:
        diff = medians[protected] - medians[public]
        mean_diff = statistics.mean(times[protected]) - statistics.mean(times[public])
        out(
            f"auth overhead per request ({label}): median {ms(diff)}; mean {ms(mean_diff)} "
            f"(target <= {TARGET_AUTH_OVERHEAD_MS:.0f} ms: {verdict(diff * 1000, TARGET_AUTH_OVERHEAD_MS)})"
        )
    out(
        "  note: the desa pair also differs in view work (terkunci: 1 desa query; profile: 1 shared + "
        "2 desa queries), so its difference is not auth alone"
    )

    # The before_request stage alone (URL preprocessors + authorize_request, which for a desa route also
    # opens the desa session), no view and no response: same URL pair, so only the auth work differs
    # for /me vs /healthz; for the desa pair both enter the desa, the protected one also verifies.
    def hook(url: str, headers: dict | None) -> Callable[[], None]:
        def call() -> None:
            with app.test_request_context(url, headers=headers):
                assert app.preprocess_request() is None

        return call

    hook_variants = [
        ("/api/v1/auth/me with Bearer", hook(me_url, me_headers)),
        ("/healthz without token", hook(health_url, None)),
        ("desa terkunci with operator_desa Bearer", hook(locked_url, operator_headers)),
        ("desa profile without token", hook(profile_url, None)),
    ]
    hook_n = min(n, 2000)
    hook_times = interleaved(hook_variants, hook_n, REQUEST_WARMUP)
    out(f"before_request stage alone (test_request_context + preprocess_request + teardown, N={hook_n} each):")
    for name, _ in hook_variants:
        out(f"  {name}: {summary(hook_times[name])} per call")
    for a, b, label in ((0, 1, "auth/me - healthz"), (2, 3, "desa terkunci - desa profile")):
        diff = statistics.median(hook_times[hook_variants[a][0]]) - statistics.median(
            hook_times[hook_variants[b][0]]
        )
        out(
            f"auth overhead in the before_request stage ({label}, medians): {ms(diff)} "
            f"(target <= {TARGET_AUTH_OVERHEAD_MS:.0f} ms: {verdict(diff * 1000, TARGET_AUTH_OVERHEAD_MS)})"
        )
    out()


# --------------------------------------------------------------------------- 3. hashing


def bench_hashing(runs: int) -> None:
    from service.auth.secrets import _hasher, hash_secret, verify_secret

    out(f"== 3. password/PIN hashing (argon2id, {runs} runs each after {HASH_WARMUP} warm-up) ==")
    out(
        f"parameters: time_cost={_hasher.time_cost}, memory_cost={_hasher.memory_cost} KiB, "
        f"parallelism={_hasher.parallelism}"
    )
    secret = "rahasia-123"
    stored = hash_secret(secret)
    assert verify_secret(stored, secret) and not verify_secret(stored, "salah")
    hash_times, verify_times, wrong_times = [], [], []
    usage_before = None
    for i in range(HASH_WARMUP + runs):
        if i == HASH_WARMUP:
            usage_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        hash_secret(secret)
        h = time.perf_counter() - started
        started = time.perf_counter()
        ok = verify_secret(stored, secret)
        v = time.perf_counter() - started
        started = time.perf_counter()
        bad = verify_secret(stored, "salah")
        w = time.perf_counter() - started
        assert ok and not bad
        if i >= HASH_WARMUP:
            hash_times.append(h)
            verify_times.append(v)
            wrong_times.append(w)
    usage_after = resource.getrusage(resource.RUSAGE_SELF)
    calls = 3 * runs
    med_hash, med_verify = statistics.median(hash_times), statistics.median(verify_times)
    out(f"hash_secret: {summary(hash_times, 1)}; min {ms(min(hash_times), 1)}; max {ms(max(hash_times), 1)}")
    out(f"verify_secret (right secret): {summary(verify_times, 1)}")
    out(f"verify_secret (wrong secret): {summary(wrong_times, 1)}")
    out(
        f"per argon2 call (process rusage over the {calls} timed calls): "
        f"user CPU {(usage_after.ru_utime - usage_before.ru_utime) / calls * 1000:.1f} ms, "
        f"system CPU {(usage_after.ru_stime - usage_before.ru_stime) / calls * 1000:.1f} ms, "
        f"minor page faults {(usage_after.ru_minflt - usage_before.ru_minflt) / calls:.0f}"
    )
    out(
        f"hashing vs target about {TARGET_HASH_MS:.0f} ms (deliberately slow): hash median {ms(med_hash, 1)} "
        f"= {med_hash * 1000 / TARGET_HASH_MS:.2f} x; verify median {ms(med_verify, 1)} "
        f"= {med_verify * 1000 / TARGET_HASH_MS:.2f} x"
    )
    out()


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or None,
        help="libpq URL of a server to benchmark on (default: DATABASE_URL, else embedded)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL") or None,
        help="Redis URL (default: REDIS_URL, else the embedded Redis under .kawasan-bench/)",
    )
    parser.add_argument("-n", type=int, default=DEFAULT_N, help=f"iterations per variant (default: {DEFAULT_N})")
    args = parser.parse_args(argv)

    bench_started = time.perf_counter()
    server = open_server(args.database_url)
    redis_url, redis_embedded = open_redis(args.redis_url)
    runtime = None
    try:
        from service.app import create_app
        from service.config import Settings
        from service.db import make_engine
        from tests.fixtures import prepare

        url = server.create_database()
        settings = Settings(database_url=url, redis_url=redis_url, data_dir=BENCH_DATA_DIR.resolve())
        engine = make_engine(url, pool_size=2)
        try:
            started = time.perf_counter()
            prepare(engine, settings, [KECAMATAN])
            note(
                f"database {make_url(url).database} migrated and {KECAMATAN} provisioned "
                f"in {time.perf_counter() - started:.2f} s"
            )
            with engine.connect() as conn:
                desa_count = conn.scalar(text("SELECT count(*) FROM kawasan.tenant"))
        finally:
            engine.dispose()

        app = create_app(settings)
        app.testing = True
        runtime = app.extensions["kawasan"]

        out("== machine ==")
        for line in machine_lines(runtime.engine, runtime.redis):
            out(line)
        out(f"postgresql: {'embedded pgserver under ' + str(BENCH_DATA_DIR) if server.embedded else 'external server'}")
        out(f"redis: {'embedded redis under ' + str(BENCH_DATA_DIR) if redis_embedded else 'external server'}")
        out(f"N: {args.n}")
        out(f"provisioned: kecamatan {KECAMATAN}, {desa_count} desa")
        out()

        tokens = app.extensions["kawasan_auth"].tokens
        tokens.keyring.ensure_loaded()  # the first load creates the signing key: outside every measurement

        bench_tokens(tokens, args.n)
        bench_requests(app, args.n)
        bench_hashing(HASH_RUNS)
    finally:
        if runtime is not None and "engine" in runtime.__dict__:
            runtime.engine.dispose()
        server.drop_all()
    out(f"total benchmark time: {time.perf_counter() - bench_started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
