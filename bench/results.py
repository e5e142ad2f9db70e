"""A benchmark case's result, the table printed for people and the JSON written for tools."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class CaseResult:
    name: str
    unit: str
    value: float
    baseline: float
    baseline_name: str
    ratio_target: float | None = None  # value / baseline must reach this (higher is better)
    absolute_target: float | None = None  # value must reach this
    max_target: float | None = None  # value must stay at or below this (memory, latency)
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("inf")

    @property
    def passed(self) -> bool:
        ok = True
        if self.ratio_target is not None:
            ok = ok and self.ratio >= self.ratio_target
        if self.absolute_target is not None:
            ok = ok and self.value >= self.absolute_target
        if self.max_target is not None:
            ok = ok and self.value <= self.max_target
        return ok

    def target_text(self) -> str:
        parts = []
        if self.ratio_target is not None:
            parts.append(f"ratio ≥ {self.ratio_target:g}")
        if self.absolute_target is not None:
            parts.append(f"≥ {self.absolute_target:,.0f} {self.unit}")
        if self.max_target is not None:
            parts.append(f"≤ {self.max_target:,.0f} {self.unit}")
        return ", ".join(parts) or "—"


def print_table(results: list[CaseResult]) -> None:
    header = f"{'case':<34} {'value':>14} {'baseline':>14} {'ratio':>7}  {'target':<30} result"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<34} {r.value:>10,.0f} {r.unit[:3]:<3} {r.baseline:>10,.0f} {r.unit[:3]:<3} "
            f"{r.ratio:>7.2f}  {r.target_text():<30} {'PASS' if r.passed else 'FAIL'}"
        )
        if r.note:
            print(f"    {r.note}")


def write_json(results: list[CaseResult], path: Path, quick: bool) -> None:
    payload = {
        "generated_at": datetime.now(UTC).isoformat(),
        "quick": quick,
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": _cpus()},
        "cases": [{**asdict(r), "ratio": r.ratio, "passed": r.passed} for r in results],
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _cpus() -> int:
    import os

    return os.cpu_count() or 0
