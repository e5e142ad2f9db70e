"""Writing a synthetic corpus (`bench.generate`) into a database, fast: 1,000,000 posts in a few minutes.

The database is migrated first (an empty SQLite path is fine) and must hold no posts, authors or merchants
unless `append` is set. Rows go in at the driver level, never through the ORM: on SQLite through the standard
`sqlite3` module's `executemany` (one prepared statement per table, one transaction per batch, in a thread of
its own), on PostgreSQL through asyncpg's `copy_records_to_table` (binary COPY; `executemany` where the driver
lacks it). Large corpora are generated in a child process while this one writes (two cores busy: generating
is pure Python and would otherwise share the GIL with the writing); small ones in a thread.

Nothing is dropped or deferred: indexes and (on PostgreSQL) foreign keys stay as they are, so the database
ends exactly as the service would have built it. On SQLite the loading connection skips foreign-key checks
(the generator's ids are consistent by construction; tests run `PRAGMA foreign_key_check`) and syncing to
disk (a crash mid-load leaves a corpus to regenerate, not user data). PostgreSQL is ANALYZEd afterwards, as
autovacuum would soon do, so that benchmarks do not depend on when it runs; SQLite is left as the service
leaves it (no statistics).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import sqlite3
import subprocess
import sys
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from bench.generate import COLUMNS, CampaignSpec, Corpus, GeneratorConfig, IdBase
from bench.population import Tables, Taken
from service.settings import CampaignSettings
from storage.engine import DatabaseError, create_engine, make_sessionmaker, redact_url, sqlite_path
from storage.migrate import schema_state, upgrade
from storage.models import Author, DiscoveredBusiness, Merchant, MerchantHandle, Post, Source, Story
from storage.repositories._bulk import DriverValues
from storage.repositories.campaigns import sync_campaigns

SUPPORTED_LANGUAGES = ("fr", "ar", "en")
# From this many posts the corpus is generated in a process of its own (starting one takes about a second).
PROCESS_THRESHOLD = 20_000
# Tables whose ids the generator assigns (others take their database default): their sequences are moved
# past the loaded ids on PostgreSQL, so that the service's own inserts do not collide with them.
_ASSIGNED_IDS = ("sources", "merchants", "discovered_businesses", "authors", "posts", "stories")
_DISCOVERED_UPDATE = "UPDATE discovered_businesses SET mention_count = ?, first_seen_at = ? WHERE id = ?"
_DISCOVERED_UPDATE_PG = "UPDATE discovered_businesses SET mention_count = $1, first_seen_at = $2 WHERE id = $3"


class NotEmpty(Exception):
    """The database already holds a corpus (or real data) and appending was not asked for."""


@dataclass
class LoadResult:
    database: str  # the URL, password masked
    dialect: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def posts(self) -> int:
        return self.rows.get("posts", 0)

    @property
    def posts_per_second(self) -> float:
        return self.posts / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "dialect": self.dialect,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "posts_per_second": round(self.posts_per_second, 1),
        }


def campaign_specs(ids: Mapping[str, int], campaigns: Mapping[str, CampaignSettings]) -> list[CampaignSpec]:
    """The configured campaigns as the generator needs them; languages it has no templates for are left out."""
    specs = []
    for slug, conf in campaigns.items():
        languages = tuple(lang for lang in conf.languages if lang in SUPPORTED_LANGUAGES) or ("fr",)
        hashtags = tuple(tag.lstrip("#") for tag in conf.hashtags) or (slug,)
        specs.append(CampaignSpec(ids[slug], slug, hashtags, languages, conf.region, conf.consent_hashtag))
    return specs


async def load_corpus(
    url: str,
    config: GeneratorConfig,
    campaigns: Mapping[str, CampaignSettings],
    *,
    append: bool = False,
    progress: Callable[[int], None] = lambda n: None,
    separate_process: bool | None = None,
) -> LoadResult:
    """Migrate the database at `url`, generate the corpus of `config` and write it; `progress` gets the number
    of posts written after each batch. The corpus is generated in a process of its own (`separate_process`;
    by default from `PROCESS_THRESHOLD` posts), so that generating and writing use two cores."""
    started = time.perf_counter()
    engine = create_engine(url)
    result = LoadResult(redact_url(url), engine.dialect.name)
    try:
        await _migrate(engine)
        async with make_sessionmaker(engine).begin() as session:
            await _refuse_non_empty(session, append)
            ids = await sync_campaigns(session, campaigns)
            base, taken = (await _used(session)) if append else (IdBase(), Taken())
        postgres = engine.dialect.name == "postgresql"
        recipe = Recipe(config, tuple(campaign_specs(ids, campaigns)), postgres, base, taken)
        if separate_process is None:
            separate_process = config.posts >= PROCESS_THRESHOLD
        produce = _in_process if separate_process else _in_thread
        if postgres:
            async with engine.connect() as conn:
                sink: _Sink = await _PostgresSink.open(conn)
                await _write_all(produce(recipe), sink, result, progress)
            await _analyze(engine)
        else:
            path = sqlite_path(url)
            if path is None:
                raise DatabaseError("a corpus needs a database file, not an in-memory SQLite database")
            await engine.dispose()  # the loading connection is then the only one
            lite = _SqliteSink(str(path))
            try:
                await _write_all(produce(recipe), lite, result, progress)
            finally:
                await lite.close()
    finally:
        await engine.dispose()
    result.seconds = time.perf_counter() - started
    return result


async def _migrate(engine: AsyncEngine) -> None:
    state = await schema_state(engine)
    if state.current is None and state.has_tables:
        raise DatabaseError("the database has tables but no migration history; use an empty database")
    if not state.up_to_date:
        await upgrade(engine)


async def _refuse_non_empty(session: AsyncSession, append: bool) -> None:
    if append:
        return
    for model, what in ((Post, "posts"), (Author, "authors"), (Merchant, "merchants")):
        count = int(await session.scalar(select(func.count()).select_from(model)) or 0)
        if count:
            raise NotEmpty(
                f"the database already holds {count:,} {what}: generate into an empty database, or pass "
                "--append to add a corpus to this one"
            )


async def _used(session: AsyncSession) -> tuple[IdBase, Taken]:
    """The ids and natural keys already taken, so that an appended corpus fits beside what is there."""

    async def top(column: Any) -> int:
        return int(await session.scalar(select(func.max(column))) or 0)

    base = IdBase(
        posts=await top(Post.id),
        authors=await top(Author.id),
        merchants=await top(Merchant.id),
        discovered=await top(DiscoveredBusiness.id),
        stories=await top(Story.id),
        sources=await top(Source.id),
    )
    taken = Taken(
        merchant_keys=set((await session.scalars(select(Merchant.key))).all()),
        handles={
            (str(p), str(h))
            for p, h in (await session.execute(select(MerchantHandle.platform, MerchantHandle.handle))).all()
        },
        discovered=set((await session.scalars(select(DiscoveredBusiness.normalized))).all()),
        sources=set((await session.scalars(select(Source.name))).all()),
    )
    return base, taken


class _Sink(ABC):
    """Where generated batches go: SQLite through sqlite3, PostgreSQL through COPY."""

    @abstractmethod
    async def write(self, tables: Tables) -> None: ...

    @abstractmethod
    async def update_discovered(self, rows: Sequence[tuple[Any, ...]]) -> None: ...

    @abstractmethod
    async def finish(self) -> None:
        """After the last batch (sequences, statistics, checkpoints)."""


@dataclass(frozen=True)
class Recipe:
    """What a corpus is made from (picklable: it is sent to the generating process)."""

    config: GeneratorConfig
    campaigns: tuple[CampaignSpec, ...]
    postgres: bool
    base: IdBase
    taken: Taken

    def corpus(self) -> Corpus:
        return Corpus(self.config, self.campaigns, DriverValues(self.postgres), self.base, self.taken)


# What a producer yields: ("tables", Tables) for the setup and each batch, then ("updates", rows) once.
Message = tuple[str, Any]


def _messages(recipe: Recipe) -> Iterator[Message]:
    corpus = recipe.corpus()
    yield "tables", corpus.setup_tables()
    for batch in corpus.batches():
        yield "tables", batch
    yield "updates", corpus.discovered_updates()


async def _in_thread(recipe: Recipe) -> AsyncGenerator[Message]:
    """Generate in a thread: the next batch is made while the current one is written (as far as the GIL
    lets them overlap: the databases work without it, Python code does not)."""
    loop = asyncio.get_running_loop()
    messages = _messages(recipe)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="corpus") as thread:
        pending = loop.run_in_executor(thread, next, messages, None)
        while (message := await pending) is not None:
            pending = loop.run_in_executor(thread, next, messages, None)  # the next batch, while this one is written
            yield message


def generator_process() -> None:
    """The generating process (`python -c`): a pickled Recipe on stdin, pickled messages on stdout, then
    None, or ("error", traceback) when generation failed."""
    recipe = pickle.load(sys.stdin.buffer)  # noqa: S301 - our own parent process wrote it
    out = sys.stdout.buffer
    try:
        for message in _messages(recipe):
            pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:
        pickle.dump(("error", traceback.format_exc()), out)
        out.flush()
        raise
    pickle.dump(None, out)
    out.flush()


def _receive(stream: Any) -> Message | None:
    try:
        message: Message | None = pickle.load(stream)  # noqa: S301 - our own child process wrote it
    except EOFError:
        raise RuntimeError("the corpus generator stopped before the end (see its error above)") from None
    if message is not None and message[0] == "error":
        raise RuntimeError(f"the corpus generator failed:\n{message[1]}")
    return message


async def _in_process(recipe: Recipe) -> AsyncGenerator[Message]:
    """Generate in a child Python process, batches arriving pickled through a pipe (the child stays at most
    two batches ahead: it blocks on the pipe until the batch before is received). A plain subprocess rather
    than multiprocessing: it never re-imports the caller's main module, so any script may call `load_corpus`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    loop = asyncio.get_running_loop()

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-c", "from bench.load import generator_process; generator_process()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    process = await loop.run_in_executor(None, start)
    assert process.stdin is not None
    assert process.stdout is not None
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="corpus-receiver")
    pending: asyncio.Future[Message | None] | None = None
    try:
        await loop.run_in_executor(reader, _send, process.stdin, recipe)
        pending = loop.run_in_executor(reader, _receive, process.stdout)
        while (message := await pending) is not None:
            # Receive the next batch while this one is written: the child, unblocked, makes the one after.
            pending = loop.run_in_executor(reader, _receive, process.stdout)
            yield message
        pending = None
    finally:
        if process.poll() is None:
            process.kill()  # stopped early: the pending read ends with the pipe
        if pending is not None:
            with contextlib.suppress(Exception):
                await pending
        reader.shutdown(wait=True)
        process.stdout.close()
        await loop.run_in_executor(None, process.wait)


def _send(stream: Any, recipe: Recipe) -> None:
    with stream:
        pickle.dump(recipe, stream, protocol=pickle.HIGHEST_PROTOCOL)


async def _write_all(
    messages: AsyncGenerator[Message], sink: _Sink, result: LoadResult, progress: Callable[[int], None]
) -> None:
    try:
        async for kind, payload in messages:
            if kind == "updates":
                await sink.update_discovered(payload)
                continue
            await sink.write(payload)
            _count(result, payload)
            if "posts" in payload:
                progress(len(payload["posts"]))
    finally:
        await messages.aclose()  # stops the generator at once when writing failed
    await sink.finish()


def _count(result: LoadResult, tables: Tables) -> None:
    for name, rows in tables.items():
        result.rows[name] = result.rows.get(name, 0) + len(rows)


def _insert_sql(table: str, numbered: bool) -> str:
    columns = COLUMNS[table]
    marks = ", ".join(f"${i + 1}" if numbered else "?" for i in range(len(columns)))
    # Table and column names are our own constants; every value is a bound parameter.
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608


class _SqliteSink(_Sink):
    """One `sqlite3` connection, used from one thread of its own."""

    def __init__(self, path: str) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-load")
        self._path = path
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")  # what the service's engine sets; a no-op when set
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute("PRAGMA cache_size=-262144")  # 256 MB: index pages stay in memory
            conn.execute("PRAGMA temp_store=MEMORY")
            self._conn = conn
        return self._conn

    async def _run(self, work: Callable[[sqlite3.Connection], None]) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, lambda: work(self._connection()))

    async def write(self, tables: Tables) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN")
            try:
                for table, rows in tables.items():
                    if rows:
                        conn.executemany(_insert_sql(table, numbered=False), rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await self._run(work)

    async def update_discovered(self, rows: Sequence[tuple[Any, ...]]) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN")
            conn.executemany(_DISCOVERED_UPDATE, rows)
            conn.execute("COMMIT")

        await self._run(work)

    async def finish(self) -> None:
        await self._run(lambda conn: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").close())

    async def close(self) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.close()

        if self._conn is not None:
            await self._run(work)
        self._thread.shutdown(wait=True)


class _PostgresSink(_Sink):
    """asyncpg under SQLAlchemy's connection: binary COPY per table, one transaction per batch."""

    def __init__(self, conn: AsyncConnection, driver: Any) -> None:
        self._conn = conn
        self._driver = driver
        self._copy = hasattr(driver, "copy_records_to_table")

    @classmethod
    async def open(cls, conn: AsyncConnection) -> _PostgresSink:
        raw = await conn.get_raw_connection()
        return cls(conn, raw.driver_connection)

    async def write(self, tables: Tables) -> None:
        driver = self._driver
        async with driver.transaction():
            for table, rows in tables.items():
                if not rows:
                    continue
                if self._copy:
                    await driver.copy_records_to_table(table, records=rows, columns=COLUMNS[table])
                else:
                    await driver.executemany(_insert_sql(table, numbered=True), rows)

    async def update_discovered(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            async with self._driver.transaction():
                await self._driver.executemany(_DISCOVERED_UPDATE_PG, rows)

    async def finish(self) -> None:
        async with self._driver.transaction():
            for table in _ASSIGNED_IDS:
                await self._driver.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - our own table names
                    f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                )


async def _analyze(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE"))
