"""Peak memory of `listener run` working through a backlog: the number a small server is sized by.

A SQLite database receives a generated corpus (100,000 posts; 1,000 with --quick) with every analysis
removed, so the whole corpus waits for analysis; then the real `listener run` starts on it (web app,
scheduler, analysis), works until the backlog is empty, and its peak resident set (VmHWM) is read from /proc
before it is stopped. Baseline: the peak of a bare Python process that only loads the French spaCy model as
the pipeline does (NER only), measured in the same run: the unavoidable part.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench.results import CaseResult

TARGET_MB = 800.0  # a 1 GB virtual server runs the whole service
BACKLOG_TIMEOUT = 1800.0

_BARE_MODEL = """
import spacy
nlp = spacy.load(
    "fr_core_news_sm", exclude=["tagger", "morphologizer", "parser", "attribute_ruler", "lemmatizer", "senter"]
)
nlp("Merci à la boulangerie du quartier pour son accueil.")
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print(int(line.split()[1]) // 1024)
"""


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def _listener() -> str:
    return str(Path(sys.executable).with_name("listener"))


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTENER_")}
    env.update(
        LISTENER_DATA_DIR=str(data),
        LISTENER_DATABASE_URL=f"sqlite+aiosqlite:///{data / 'listener.db'}",
        # Nothing may reach a platform: every collector off, only the backlog is worked.
        LISTENER_SCHEDULER_COLLECT="false",
        LISTENER_MASTODON_ENABLED="false",
        LISTENER_SCHEDULER_ANALYSE_POLL_SECONDS="0.5",
    )
    return env


def _backlog(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return int(conn.execute("SELECT count(*) FROM posts WHERE analysed_at IS NULL").fetchone()[0])


async def run(quick: bool, tmp: Path, pg_url: str | None) -> list[CaseResult]:
    return [await asyncio.to_thread(_measure, quick, tmp)]


def _measure(quick: bool, tmp: Path) -> CaseResult:
    posts = 1_000 if quick else 100_000
    data = tmp / "run-memory"
    data.mkdir(parents=True, exist_ok=True)
    env = _env(data)
    db = data / "listener.db"
    made = subprocess.run(  # noqa: S603 (our own console script)
        [_listener(), "bench", "generate", "--posts", str(posts)], env=env, capture_output=True, text=True, check=False
    )
    if made.returncode != 0:
        raise RuntimeError(f"listener bench generate failed: {made.stderr}")
    with sqlite3.connect(db) as conn:  # the whole corpus now waits for analysis
        conn.execute("DELETE FROM mentions")
        conn.execute("DELETE FROM analyses")
        conn.execute("UPDATE posts SET analysed_at = NULL, lease_until = NULL, lease_owner = NULL")
    backlog = _backlog(db)

    bare = subprocess.run([sys.executable, "-c", _BARE_MODEL], capture_output=True, text=True, check=True)  # noqa: S603
    baseline = float(bare.stdout.strip().splitlines()[-1])

    started = time.perf_counter()
    service = subprocess.Popen(  # noqa: S603 (our own console script)
        [_listener(), "run", "--port", "0"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + BACKLOG_TIMEOUT
        peak = 0.0
        while _backlog(db) > 0:
            if service.poll() is not None:
                raise RuntimeError(f"listener run exited early: {service.stderr.read() if service.stderr else ''}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the backlog was not cleared within {BACKLOG_TIMEOUT:.0f}s")
            peak = max(peak, _peak_mb(service.pid))
            time.sleep(0.5)
        peak = max(peak, _peak_mb(service.pid))
        seconds = time.perf_counter() - started
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(timeout=60)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
    return CaseResult(
        name="peak RSS, listener run, backlog",
        unit="MB",
        value=peak,
        baseline=baseline,
        baseline_name="bare Python + fr_core_news_sm (NER only)",
        max_target=TARGET_MB,
        note=f"{backlog:,} posts waiting; cleared in {seconds:,.0f}s ({backlog / seconds:,.0f} posts/s) "
        "by the real process (web app, scheduler, analysis) on SQLite",
    )
