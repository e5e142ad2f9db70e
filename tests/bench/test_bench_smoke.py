"""The benchmarks must not rot: the quick run of each case executes end to end and writes its results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from service.prefork import default_processes

ROOT = Path(__file__).resolve().parents[2]


def quick_run(case: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`python -m bench --quick --only CASE`: the process and the results it wrote."""
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", case, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # Exit 1 only means a target was missed on this (possibly busy) machine; anything else is a crash.
    assert done.returncode in (0, 1), done.stderr
    return done, json.loads(out.read_text(encoding="utf-8"))


def test_quick_ingest_benchmark_runs_and_writes_results(tmp_path: Path) -> None:
    done, results = quick_run("ingest", tmp_path)
    names = [case["name"] for case in results["cases"]]
    assert any(name.startswith("parse+ingest X v2, sqlite") for name in names)
    for case in results["cases"]:
        assert case["value"] > 0
        assert case["baseline"] > 0
        assert case["ratio"] == case["value"] / case["baseline"]
    assert "parse+ingest X v2, sqlite" in done.stdout


def test_quick_queue_benchmark_serves_real_queue_pages(tmp_path: Path) -> None:
    _, results = quick_run("queue", tmp_path)
    cases = results["cases"]
    # One web process, then one per core (`listener serve --processes 0`) when there are several.
    assert cases[0]["name"] == "queue API p95, sqlite, 1 web process"
    assert len(cases) == (1 if default_processes() == 1 else 2)
    if len(cases) == 2:
        assert cases[1]["name"] == f"queue API p95, sqlite, {default_processes()} web processes"
    for case in cases:
        assert case["value"] > 0
        assert case["baseline"] > 0
        # Every request was answered with a queue page: an error page is fast, and would hide a broken API.
        assert "non-200" not in case["note"], case["note"]


def test_quick_memory_benchmark_runs_listener_run_through_a_backlog(tmp_path: Path) -> None:
    _, results = quick_run("memory", tmp_path)
    [case] = results["cases"]
    assert case["name"] == "peak RSS, listener run, backlog"
    # The real service loaded the models and analysed the backlog: more than a bare interpreter, less than GBs.
    assert case["baseline"] > 50
    assert case["baseline"] < case["value"] < 4096
    assert case["note"].startswith("1,000 posts waiting; cleared in")
