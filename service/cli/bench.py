"""`listener bench generate --posts N [--seed S] [--weeks W] [--now WHEN] [--database-url URL] [--append]
[--all-scored]`: fill a
database with a synthetic campaign corpus for the benchmarks (issue 9): posts, authors, merchants, analyses,
mentions, story candidates, engagement snapshots and collection history, deterministic by seed.

The generator lives in the repository's `bench/` folder, which is not part of the installed package (the
benchmarks run from a checkout); in an editable install it sits next to `service/`, and it is imported from
there.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from service.cli.main import UserFacingError, cli_context, run_async
from storage.engine import redact_url


def _bench_modules() -> tuple[Any, Any]:
    """bench.generate and bench.load, from the checkout this package runs from."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "bench" / "generate.py").is_file() and str(checkout) not in sys.path:
        sys.path.append(str(checkout))
    try:
        from bench import generate, load
    except ImportError as exc:
        raise UserFacingError(
            f"the benchmark tools are not installed ({exc}): run `listener bench` from a source checkout "
            "(pip install -e .)"
        ) from None
    return generate, load


def _parse_now(value: str | None, default: datetime) -> datetime:
    if value is None:
        return default
    if value == "now":
        return datetime.now(UTC).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date and time (or 'now')", param_hint="--now") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2026-11-23T00:00+01:00", param_hint="--now")
    return moment.astimezone(UTC)


@click.group("bench")
def bench_group() -> None:
    """Benchmark tools: synthetic data at scale (see `make bench`)."""


@bench_group.command("generate")
@click.option("--posts", type=click.IntRange(1), required=True, help="How many posts to generate.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same rows.")
@click.option("--weeks", type=click.IntRange(1, 104), default=3, show_default=True, help="Weeks of posts before --now.")
@click.option(
    "--now",
    "now_text",
    default=None,
    help="End of the generated window, ISO 8601 with a time zone, or 'now'. Default: the fixed "
    "2026-11-23T00:00+01:00 (a Monday in Paris and Casablanca), so a seed always gives the same rows.",
)
@click.option(
    "--database-url",
    default=None,
    help="Database to fill (default: the configured LISTENER_DATABASE_URL). It is migrated first and must be "
    "empty unless --append.",
)
@click.option("--append", is_flag=True, help="Add the corpus to a database that already holds posts.")
@click.option(
    "--all-scored",
    is_flag=True,
    help="Give every campaign post a story, as the stories job leaves them (most rejected); by default only "
    "the best ~20%% of posts become stories.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the row counts and timing as JSON.")
@click.pass_context
def generate_cmd(
    ctx: click.Context,
    posts: int,
    seed: int,
    weeks: int,
    now_text: str | None,
    database_url: str | None,
    append: bool,
    all_scored: bool,
    as_json: bool,
) -> None:
    """Generate a synthetic campaign corpus (the configured campaigns) into a database, in bulk."""
    generate, load = _bench_modules()
    settings = cli_context(ctx).settings
    url = database_url or settings.database_url
    now = _parse_now(now_text, generate.FIXED_NOW)
    config = generate.GeneratorConfig(
        posts=posts,
        seed=seed,
        weeks=weeks,
        now=now,
        min_score=settings.stories.min_score,
        all_scored=all_scored,
    )
    show = not as_json and sys.stderr.isatty()
    with click.progressbar(length=posts, label="generating", hidden=not show, file=sys.stderr) as bar:
        try:
            result = run_async(load.load_corpus(url, config, settings.campaigns, append=append, progress=bar.update))
        except load.NotEmpty as exc:
            raise UserFacingError(f"{redact_url(url)}: {exc}") from None
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    rows = sum(result.rows.values())
    click.echo(
        f"generated {result.posts:,} posts ({rows:,} rows) into {result.database} in {result.seconds:.1f} s "
        f"({result.posts_per_second:,.0f} posts/s)"
    )
    for table, count in result.rows.items():
        click.echo(f"  {table:<22} {count:>12,}")


COMMANDS = [bench_group]
