"""`python -m bench [--quick] [--only CASE] [--pg-url URL]`: run the benchmark cases, print the table and
write bench-results.json. Each case compares against a baseline measured in the same run on the same
machine, because shared machines are noisy: absolute times vary, ratios hold."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

from bench import analysis, ingest, queue, report, run_memory
from bench.results import CaseResult, print_table, write_json

CASES = {
    "analysis": analysis.run,
    "ingest": ingest.run,
    "queue": queue.run,
    "memory": run_memory.run,
    "report": report.run,
}
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1/test"


async def _pg_reachable(url: str) -> bool:
    from storage.engine import create_engine
    from storage.migrate import schema_state

    engine = create_engine(url)
    try:
        await schema_state(engine)
        return True
    except Exception:
        return False
    finally:
        await engine.dispose()


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (under two minutes)")
    parser.add_argument("--only", choices=sorted(CASES), action="append", help="run only this case (repeatable)")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("LISTENER_BENCH_DATABASE_URL", DEFAULT_PG),
        help="PostgreSQL database the benchmarks may empty and fill (LISTENER_BENCH_DATABASE_URL)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench-results.json"))
    args = parser.parse_args(argv)
    pg_url = args.pg_url if await _pg_reachable(args.pg_url) else None
    if pg_url is None:
        print(f"PostgreSQL not reachable at {args.pg_url}: PostgreSQL cases are not run", file=sys.stderr)
    results: list[CaseResult] = []
    with tempfile.TemporaryDirectory(prefix="listener-bench-") as tmp:
        for name in args.only or sorted(CASES):
            results.extend(await CASES[name](args.quick, Path(tmp), pg_url))
    print_table(results)
    write_json(results, args.out, args.quick)
    print(f"\nwrote {args.out}")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
