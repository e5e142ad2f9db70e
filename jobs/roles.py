"""Which worker role runs which scheduled job, when the service is split into processes (`listener worker`).

Jobs are named by the scheduler (`collect:x`, `refresh`, `stories`, the weekly `report:<campaign>`, the
merchants' `digests` and `alerts`).
A job whose name matches a role here is queued by the scheduler as a work item and run by a worker of that role;
any other job (housekeeping, retention) is light or batched and runs inside the scheduler process itself. Analysis is
not scheduled at all in that mode: analyse workers poll for un-analysed posts continuously.
"""

from __future__ import annotations

ROLES = ("collect", "analyse", "stories", "report", "web", "scheduler")

# Role -> job names it serves: an exact name, or a prefix ending in ':'.
QUEUED_KINDS: dict[str, tuple[str, ...]] = {
    "collect": ("collect:", "refresh"),
    "stories": ("stories",),
    "report": ("report:", "digests", "alerts"),
}


def matches(kind: str, patterns: tuple[str, ...]) -> bool:
    return any(kind.startswith(p) if p.endswith(":") else kind == p for p in patterns)


def role_of(kind: str) -> str | None:
    """The worker role that runs job `kind`, or None when the scheduler runs it itself."""
    for role, patterns in QUEUED_KINDS.items():
        if matches(kind, patterns):
            return role
    return None
