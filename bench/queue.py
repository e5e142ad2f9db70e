"""Queue API benchmark: p95 latency of `GET /api/stories` (the curators' queue page) with 1,000,000 stored
posts and 32 concurrent clients on loopback, on SQLite; the baseline is the p95 of `GET /api/me` (a signed-in
request that reads only the session: the floor of any API call) under the same load in the same run.

The corpus comes from `bench.load` (posts, analyses, mentions, stories in every state); the app is the real
`listener serve` process, so the clients (this process) and the server do not share one interpreter. The
requests mix what curators do: the default page (candidates by score) of each campaign, filtered pages
(language, platform, sentiment, a score floor, a date range, a merchant), other sorts, later pages.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from statistics import quantiles
from typing import Any

import aiohttp

from bench.generate import GeneratorConfig
from bench.load import load_corpus
from bench.results import CaseResult
from service.prefork import default_processes
from service.settings import default_campaigns
from storage.engine import create_engine, make_sessionmaker
from storage.passwords import hash_password
from storage.repositories._sql import utcnow
from storage.repositories.users import Role, add_user

CLIENTS = 32
EMAIL = "bench-curator@example.test"
PASSWORD = "bench-password-0123"  # noqa: S105 - a throw-away account in a throw-away database


def queue_queries(rng: random.Random, merchants: int, now_iso: tuple[str, str]) -> Iterator[str]:
    """An endless, seeded mix of the queue pages curators open."""
    since, until = now_iso
    shapes = [
        "campaign=lovelocal",
        "campaign=soutenons",
        "campaign=lovelocal&language=fr",
        "campaign=lovelocal&language=ar&sort=newest",
        "campaign=lovelocal&platform=x&min_score=0.6",
        "campaign=soutenons&sentiment=positive&sort=newest",
        "campaign=lovelocal&state=shortlisted&state=rights_requested",
        f"campaign=lovelocal&from={since}&to={until}",
        "campaign=lovelocal&offset=100",
        "campaign=soutenons&sort=oldest",
        "state=candidate",
    ]
    while True:
        query = rng.choice(shapes)
        if rng.random() < 0.15:
            query += f"&merchant={rng.randint(1, merchants)}"
        yield query


async def _sign_in(session: aiohttp.ClientSession, base: str) -> str:
    async with session.post(f"{base}/api/session", json={"email": EMAIL, "password": PASSWORD}) as response:
        response.raise_for_status()
        body = await response.json()
    return str(body["csrf_token"])


async def _hammer(base: str, paths: list[str], clients: int) -> tuple[list[float], int]:
    """`clients` concurrent signed-in clients share `paths`; returns the latencies (ms) and the errors.

    Every client signs in before any of them starts: a sign-in hashes a password (Argon2id, tens of ms of CPU
    by design), and 32 of them running beside the first measured pages would time the sign-ins, not the
    queue (a curator signs in once for a 12-hour session)."""
    latencies: list[float] = []
    errors = 0
    todo = iter(paths)
    signed_in = asyncio.Barrier(clients)

    async def client() -> None:
        nonlocal errors
        # unsafe=True: aiohttp's cookie jar otherwise ignores cookies set by an IP address (127.0.0.1).
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            await _sign_in(session, base)
            await signed_in.wait()
            for path in todo:
                started = time.perf_counter()
                async with session.get(base + path) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, errors


def _p95(values: list[float]) -> float:
    return quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


@contextmanager
def _serve(url: str, data_dir: Path, processes: int = 1) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTENER_")}
    env.update(LISTENER_DATABASE_URL=url, LISTENER_DATA_DIR=str(data_dir), LISTENER_LOG_LEVEL="WARNING")
    env["LISTENER_WEB_LOGIN_ATTEMPTS"] = "1000"  # 32 clients sign in at once from one address
    listener = Path(sys.executable).with_name("listener")
    proc = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        [str(listener), "serve", "--port", "0", "--processes", str(processes)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        cwd=data_dir,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        for line in proc.stderr:
            if " listening on " in line:
                yield line.split(" listening on ", 1)[1].split()[0].rstrip("/")
                break
            if time.monotonic() > deadline:
                break
        else:
            raise RuntimeError(f"listener serve exited with {proc.wait()} before listening")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _prepare(url: str, posts: int) -> int:
    """Load the corpus and a curator; returns the number of merchants."""
    # Every analysed post gets a story row, as the stories job leaves them (most of them rejected).
    config = GeneratorConfig(posts=posts, now=utcnow(), all_scored=True)
    loaded = await load_corpus(url, config, default_campaigns())
    engine = create_engine(url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            await add_user(session, EMAIL, Role.CURATOR, hash_password(PASSWORD))
    finally:
        await engine.dispose()
    print(f"queue bench: loaded {posts:,} posts in {loaded.seconds:.0f} s", file=sys.stderr)
    return config.merchant_count


async def run(quick: bool, tmp: Path, pg_url: str | None) -> list[CaseResult]:
    posts = 50_000 if quick else 1_000_000
    requests = 640 if quick else 3_200
    url = f"sqlite+aiosqlite:///{tmp / 'queue.db'}"
    merchants = await _prepare(url, posts)
    now = utcnow()
    window = ((now - timedelta(days=10)).date().isoformat(), (now - timedelta(days=3)).date().isoformat())
    queries = queue_queries(random.Random(7), merchants, window)  # noqa: S311 - a reproducible mix, not a secret
    paths = [f"/api/stories?{next(queries)}" for _ in range(requests)]
    # The clients run in this process, which may hold the other cases' leftovers (the nlp models of the
    # analysis case: millions of objects): out of the collector's sight, so that its full collections do not
    # pause the clients mid-request and get timed as the server's latency.
    gc.collect()
    gc.freeze()
    try:
        return await _measure(url, tmp, posts, requests, paths)
    finally:
        gc.unfreeze()


async def _measure(url: str, tmp: Path, posts: int, requests: int, paths: list[str]) -> list[CaseResult]:
    results = []
    # One web process (the default), then one per core (`listener serve --processes 0`, how a busy
    # deployment serves): the target applies to the second, the first shows what the extra processes add.
    for processes in (1, default_processes()):
        with _serve(url, tmp, processes) as base:
            # Warm-up, a fifth of the mix: every pooled connection of every process prepares each shape's
            # statement once and reads its index pages; the figure is the service in its steady state.
            await _hammer(base, paths[: max(CLIENTS, len(paths) // 5)], CLIENTS)
            floor, floor_errors = await _hammer(base, ["/api/me"] * requests, CLIENTS)
            latencies, errors = await _hammer(base, paths, CLIENTS)
        note = (
            f"{posts:,} posts, {CLIENTS} clients, {requests:,} requests, {processes} web process(es); "
            f"p50 {quantiles(latencies, n=2)[0]:.0f} ms"
        )
        if errors or floor_errors:
            note += f"; {errors + floor_errors} non-200 answers"
        result: dict[str, Any] = {
            "name": f"queue API p95, sqlite, {processes} web process{'es' if processes > 1 else ''}",
            "unit": "ms",
            "value": _p95(latencies),
            "baseline": _p95(floor),
            "baseline_name": "GET /api/me p95 (session read only), same clients",
            "max_target": 100.0 if processes > 1 or default_processes() == 1 else None,
            "note": note,
        }
        if errors:  # a fast error page is no success
            result["max_target"] = 0.0
        results.append(CaseResult(**result))
        if default_processes() == 1:
            break
    return results
