"""The relational model of the service: every table, its keys and the indexes the hot queries need.

One module on purpose: the schema is read as a whole (and Alembic compares it as a whole against the
migrations). Natural keys are enforced by the database, not by the code: a post is unique per platform and
platform id, an author per platform and platform id, a handle per platform, a merchant per import key; that
is what makes every ingest and import idempotent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime, json_type

# Deterministic constraint names: migrations can drop or alter them identically on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only makes INTEGER PRIMARY KEY an auto-increment rowid; BIGINT elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")
JSONCol = json_type()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    hashtags: Mapped[list[str]] = mapped_column(JSONCol)
    keywords: Mapped[list[str]] = mapped_column(JSONCol)
    excluded: Mapped[list[str]] = mapped_column(JSONCol)
    languages: Mapped[list[str]] = mapped_column(JSONCol)
    region: Mapped[str] = mapped_column(String(100), default="")
    timezone: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    consent_hashtag: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Source(Base):
    """A collector instance (e.g. `x`, `mastodon`), its health and rate-limit state."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    platform: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="idle")  # idle, ok, degraded, rate_limited, failed
    status_detail: Mapped[str | None] = mapped_column(Text)
    rate_limited_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_new_posts: Mapped[int] = mapped_column(Integer, default=0)
    # Running totals for /metrics (Prometheus counters): every run adds to them.
    posts_collected: Mapped[int] = mapped_column(BigInteger, default=0)
    rate_limited_runs: Mapped[int] = mapped_column(Integer, default=0)


class Checkpoint(Base):
    """Where a source resumes for one campaign query (since_id, cursor, min_id...), as the platform needs."""

    __tablename__ = "checkpoints"
    __table_args__ = (UniqueConstraint("source_id", "campaign_id", "query_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    query_key: Mapped[str] = mapped_column(String(200))
    position: Mapped[dict[str, Any]] = mapped_column(JSONCol)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Author(Base):
    __tablename__ = "authors"
    __table_args__ = (UniqueConstraint("platform", "platform_id"), Index(None, "platform", "handle"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    platform_id: Mapped[str] = mapped_column(String(200))
    handle: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(400), default="")
    followers: Mapped[int | None] = mapped_column(BigInteger)
    verified: Mapped[bool | None] = mapped_column(Boolean)
    url: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("platform", "platform_id"),
        Index(None, "created_at"),
        Index(None, "author_id"),
        Index(None, "analysed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    platform_id: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    url: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    language_hint: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))
    hashtags: Mapped[list[str]] = mapped_column(JSONCol)
    mentions: Mapped[list[str]] = mapped_column(JSONCol)
    urls: Mapped[list[str]] = mapped_column(JSONCol)
    media: Mapped[list[dict[str, Any]]] = mapped_column(JSONCol)
    reply_to_id: Mapped[str | None] = mapped_column(String(200))
    repost_of_id: Mapped[str | None] = mapped_column(String(200))
    quote_of_id: Mapped[str | None] = mapped_column(String(200))
    likes: Mapped[int | None] = mapped_column(BigInteger)
    reposts: Mapped[int | None] = mapped_column(BigInteger)
    replies: Mapped[int | None] = mapped_column(BigInteger)
    quotes: Mapped[int | None] = mapped_column(BigInteger)
    views: Mapped[int | None] = mapped_column(BigInteger)
    query: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONCol)
    # Analysis bookkeeping: a worker leases a batch; a crashed worker's lease expires and the rows return.
    analysed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The worker (workers.id) holding the lease: only it may save the analysis, and its leases come back
    # as soon as it is known dead (not only when they expire).
    lease_owner: Mapped[str | None] = mapped_column(String(32))

    author: Mapped[Author] = relationship(lazy="raise")


class PostCampaign(Base):
    """Which campaign(s) a post belongs to, and by which query it was found."""

    __tablename__ = "post_campaigns"
    __table_args__ = (Index(None, "campaign_id", "post_id"),)

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EngagementSnapshot(Base):
    """Metrics over time: reports use the latest snapshot taken no later than the end of their week."""

    __tablename__ = "engagement_snapshots"
    __table_args__ = (Index(None, "post_id", "taken_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    likes: Mapped[int | None] = mapped_column(BigInteger)
    reposts: Mapped[int | None] = mapped_column(BigInteger)
    replies: Mapped[int | None] = mapped_column(BigInteger)
    quotes: Mapped[int | None] = mapped_column(BigInteger)
    views: Mapped[int | None] = mapped_column(BigInteger)


class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stable import key (normalised name + postcode or city): re-importing a directory updates, not duplicates.
    key: Mapped[str] = mapped_column(String(500), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    website: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active, inactive
    feature_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    aliases: Mapped[list[MerchantAlias]] = relationship(
        cascade="all, delete-orphan", order_by="MerchantAlias.id", lazy="selectin"
    )
    handles: Mapped[list[MerchantHandle]] = relationship(
        cascade="all, delete-orphan", order_by="MerchantHandle.id", lazy="selectin"
    )


class MerchantAlias(Base):
    """Another name of a merchant, in any script; `blocked` aliases are corrections that must not link."""

    __tablename__ = "merchant_aliases"
    __table_args__ = (UniqueConstraint("merchant_id", "normalized"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(300))
    normalized: Mapped[str] = mapped_column(String(300))
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)


class MerchantHandle(Base):
    __tablename__ = "merchant_handles"
    __table_args__ = (UniqueConstraint("platform", "handle"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(20))
    handle: Mapped[str] = mapped_column(String(200))  # lower-cased, without '@'


class DiscoveredBusiness(Base):
    """A business name found in posts but absent from the registry, grouped by its normalised form."""

    __tablename__ = "discovered_businesses"
    __table_args__ = (UniqueConstraint("normalized"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    normalized: Mapped[str] = mapped_column(String(300))
    display_name: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, added, merged, ignored
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id", ondelete="SET NULL"))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mention_count: Mapped[int] = mapped_column(Integer, default=0)


class Analysis(Base):
    """The current analysis of a post; `pipeline_version` says which models made it, for re-analysis."""

    __tablename__ = "analyses"

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str] = mapped_column(String(10))
    language_confidence: Mapped[float | None] = mapped_column(Float)
    sentiment: Mapped[str] = mapped_column(String(10))  # negative, neutral, positive
    sentiment_score: Mapped[float] = mapped_column(Float)
    signals: Mapped[dict[str, Any]] = mapped_column(JSONCol)
    pipeline_version: Mapped[str] = mapped_column(String(100))
    analysed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Mention(Base):
    """A business named in a post: linked to a merchant, or a discovered name awaiting review."""

    __tablename__ = "mentions"
    __table_args__ = (Index(None, "merchant_id", "post_id"), Index(None, "post_id"), Index(None, "discovered_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    discovered_id: Mapped[int | None] = mapped_column(ForeignKey("discovered_businesses.id", ondelete="CASCADE"))
    surface: Mapped[str] = mapped_column(String(300))
    method: Mapped[str] = mapped_column(String(20))  # handle, hashtag, name, alias, domain, fuzzy, ner, cue
    score: Mapped[float] = mapped_column(Float)
    span_start: Mapped[int | None] = mapped_column(Integer)
    span_end: Mapped[int | None] = mapped_column(Integer)


class Story(Base):
    """A candidate story: a post of a campaign worth featuring. The post's platform, language, sentiment,
    author and date are copied in (they never change once analysed) so that the queue filters and sorts on
    one indexed table, whatever the number of posts."""

    __tablename__ = "stories"
    __table_args__ = (
        UniqueConstraint("post_id", "campaign_id"),
        # The queue's indexes (storage/repositories/story_queue.py), each covering the filter columns so that
        # a filtered page and its capped count are read from the index alone, never from the table rows:
        # each (campaign, state) range in score order, and in date order (the newest / oldest sorts)...
        Index(
            "ix_stories_queue", "campaign_id", "state", "score", "language", "sentiment", "platform", "post_created_at"
        ),
        Index(
            "ix_stories_queue_dated",
            *("campaign_id", "state", "post_created_at", "language", "sentiment", "platform", "score"),
        ),
        # ...and a campaign's stories in every state (no state filter) as one range, by score and by date:
        # merging seven per-state ranges read seven times the rows the page shows.
        Index(
            "ix_stories_ranked",
            *("campaign_id", "score", "state", "language", "sentiment", "platform", "post_created_at"),
        ),
        Index(
            "ix_stories_dated",
            *("campaign_id", "post_created_at", "state", "language", "sentiment", "platform", "score"),
        ),
        # The same for a merchant's queue (and everything that reads a merchant's stories by state).
        Index(
            "ix_stories_merchant_queue",
            "merchant_id",
            "state",
            "score",
            "campaign_id",
            "language",
            "sentiment",
            "platform",
            "post_created_at",
        ),
        Index(None, "state", "featured_until"),
        Index(None, "original_story_id"),  # duplicates grouped under a story, counted on every queue page
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id", ondelete="SET NULL"))
    original_story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"))
    # candidate, shortlisted, rights_requested, rights_granted, featured, archived, rejected
    state: Mapped[str] = mapped_column(String(20), default="candidate")
    score: Mapped[float] = mapped_column(Float)
    score_breakdown: Mapped[dict[str, Any]] = mapped_column(JSONCol)
    platform: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(10))
    sentiment: Mapped[str] = mapped_column(String(10))
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    post_created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The name shown when featured, as the author allowed it (set when rights are granted).
    public_name: Mapped[str | None] = mapped_column(String(400))
    featured_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    featured_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoryTransition(Base):
    """The audit trail: every state change with who, when and why; undo is another transition."""

    __tablename__ = "story_transitions"
    __table_args__ = (Index(None, "story_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class RightsRequest(Base):
    __tablename__ = "rights_requests"
    __table_args__ = (Index(None, "story_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    message: Mapped[str] = mapped_column(Text)
    consent_hashtag: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, granted, expired, cancelled
    evidence_post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored case-folded
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # admin, curator, merchant
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locale: Mapped[str | None] = mapped_column(String(5))  # fr, en; None follows the browser


class WebSession(Base):
    """A signed-in browser or API client. Only a hash of the cookie's token is stored, so a leaked table
    cannot be replayed; the CSRF token is bound to the session."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index(None, "user_id"), Index(None, "expires_at"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginAttempt(Base):
    """Failed sign-ins, by key (the e-mail and the client address), for rate limiting across processes."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index(None, "key", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(400))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserMerchant(Base):
    """Binds a merchant user to the merchant(s) whose data it may see."""

    __tablename__ = "user_merchants"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True)


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("campaign_id", "week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    week: Mapped[str] = mapped_column(String(10))  # ISO week, e.g. 2026-W47
    definitions_version: Mapped[str] = mapped_column(String(20))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSONCol)


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (Index(None, "job", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job: Mapped[str] = mapped_column(String(100))
    # A scheduled unit of work carries a key so that a double fire is harmless.
    dedup_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # running, ok, failed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONCol)
    error: Mapped[str | None] = mapped_column(Text)
    worker_id: Mapped[str | None] = mapped_column(String(32))  # a dead worker's "running" runs are closed


class Quarantine(Base):
    """Payloads that could not be parsed: kept with the error, counted, shown; never silently dropped."""

    __tablename__ = "quarantine"
    __table_args__ = (Index(None, "source", "received_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    platform: Mapped[str] = mapped_column(String(20))
    payload: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- merchant portal: invites, corrections, opt-outs, takedown requests (revision 0003) -------------------


class MerchantInvite(Base):
    """A single-use, expiring invitation for an e-mail address to see one merchant's portal. Only the SHA-256
    of the link's token is stored (like web sessions): a copy of the table opens no account. Used or
    revoked invites stay as the record of who was invited, by whom and when."""

    __tablename__ = "merchant_invites"
    __table_args__ = (UniqueConstraint("token_hash"), Index(None, "merchant_id", "email"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))  # stored case-folded, like users.email
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # who accepted


class MerchantCorrection(Base):
    """Something a merchant asked of the curators, and the decision: a mention flagged as not about them
    (`not_us`), an alias or a handle to add (`alias`, `handle`), a story to take down (`takedown`); and the
    merchant's own featuring choice (`opt_out`, `opt_in`), applied at once and kept here as the record."""

    __tablename__ = "merchant_corrections"
    __table_args__ = (Index(None, "merchant_id", "status"), Index(None, "status", "kind"), Index(None, "post_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # not_us, alias, handle, takedown, opt_out, opt_in
    status: Mapped[str] = mapped_column(String(20))  # pending, accepted, rejected
    # not_us: the post and the link as it was flagged (the mention row itself is replaced by a re-analysis).
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    surface: Mapped[str | None] = mapped_column(String(300))
    method: Mapped[str | None] = mapped_column(String(20))
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))  # takedown
    value: Mapped[str | None] = mapped_column(String(300))  # alias: the name; handle: the handle without '@'
    platform: Mapped[str | None] = mapped_column(String(20))  # handle: its platform
    note: Mapped[str | None] = mapped_column(Text)  # the merchant's words
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)


class LinkExclusion(Base):
    """A name that is not that merchant: an accepted "not about us" correction, honoured by the linker in every
    later analysis (jobs/analyse.py hands the pairs to nlp/linking.py). `normalized` is the linker's key."""

    __tablename__ = "link_exclusions"
    __table_args__ = (UniqueConstraint("merchant_id", "normalized"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(300))
    normalized: Mapped[str] = mapped_column(String(300))
    correction_id: Mapped[int | None] = mapped_column(ForeignKey("merchant_corrections.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- notifications: digests, alerts, unsubscribes (revision 0004) ------------------------------------------


class NotificationSpike(Base):
    """A spike of negative mentions detected for a merchant (jobs/notify.py states the rule). Its window end
    is where the next spike's counting starts, so the same negative mentions never raise a second alert."""

    __tablename__ = "notification_spikes"
    __table_args__ = (Index(None, "merchant_id", "detected_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    negative_count: Mapped[int] = mapped_column(Integer)
    baseline_daily: Mapped[float] = mapped_column(Float)  # negatives per day over the baseline days
    threshold: Mapped[int] = mapped_column(Integer)


class NotificationDelivery(Base):
    """One e-mail to one user: who, what kind, which week or spike, when, and how it went. The dedup key
    (`digest:<user>:<ISO week>`, `alert:<user>:<spike>`) is unique, so a retried job never sends one twice;
    a failed delivery stays `failed` and is retried by the next run until `max_attempts`."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (UniqueConstraint("dedup_key"), Index(None, "status", "kind"), Index(None, "user_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # digest, alert
    period: Mapped[str] = mapped_column(String(20))  # a digest's ISO week ("2026-W47"), an alert's spike id
    spike_id: Mapped[int | None] = mapped_column(ForeignKey("notification_spikes.id", ondelete="CASCADE"))
    to_address: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(20))  # sending, sent, failed, abandoned
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(String(300))
    error: Mapped[str | None] = mapped_column(Text)


class NotificationUnsubscribe(Base):
    """A user who asked (by the signed link in an e-mail) to receive no more e-mails of one kind."""

    __tablename__ = "notification_unsubscribes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # digest, alert
    at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- weekly reports (revision 0005) -------------------------------------------------------------------------

# The weekly report (storage/repositories/report_data.py). "New authors" looks up, per author of the week,
# whether an earlier post exists: one index seek per author instead of a scan of the author's posts.
Index(None, Post.author_id, Post.created_at)
# The report reads a week of posts by this range: covering the columns it needs, the posts' wide rows (text,
# raw payloads) are never read.
Index(None, Post.created_at, Post.author_id, Post.platform, Post.kind)


# --- operations: leases, privacy, retention (revision 0006) -----------------------------------------------


class PrivacyErasure(Base):
    """The audit log of erasures (`privacy forget`, the retention purge, posts deleted upstream): when, why
    and how many rows of each table went, never who. A forgotten author is recorded by pseudonym only
    (`storage.pseudonyms.pseudonym`), so the log can confirm an erasure to someone who names themselves
    without keeping their handle."""

    __tablename__ = "privacy_erasures"
    __table_args__ = (Index(None, "kind", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(20))  # forget, retention, deleted_upstream
    platform: Mapped[str | None] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(40))  # the author's pseudonym (forget only)
    actor: Mapped[str] = mapped_column(String(100))  # cli, job:retention, job:refresh
    counts: Mapped[dict[str, Any]] = mapped_column(JSONCol)


# Erasing a post also drops the reposts of it and strips the quotes of it: found through these two partial
# indexes (reposts and quotes are a small share of the posts, so they cost ingest little).
Index(
    None,
    Post.platform,
    Post.repost_of_id,
    sqlite_where=Post.repost_of_id.is_not(None),
    postgresql_where=Post.repost_of_id.is_not(None),
)
Index(
    None,
    Post.platform,
    Post.quote_of_id,
    sqlite_where=Post.quote_of_id.is_not(None),
    postgresql_where=Post.quote_of_id.is_not(None),
)
# Deleting a post or an author makes the database look up the rows that reference it (ON DELETE): without
# these two, every erased post scans all rights requests and every erased author all stories.
Index(None, RightsRequest.evidence_post_id)
Index(None, Story.author_id)


# --- workers: processes, their leases and the scheduled units of work (revision 0007) ---------------------


class Worker(Base):
    """A running process of the service (`listener run`, `listener worker`): what it does, where, and when it
    last said it was alive. A worker whose heartbeat is stale, or whose process is gone from this host, is
    dead: its leases (posts, work items) are handed back at once and its running job runs are closed."""

    __tablename__ = "workers"
    __table_args__ = (Index(None, "stopped_at", "heartbeat_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    # The process's start time on its host (Linux clock ticks since boot): a reused pid is not this worker.
    process_start: Mapped[int | None] = mapped_column(BigInteger)
    roles: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stop_reason: Mapped[str | None] = mapped_column(String(100))
    # Units of work this worker committed (posts analysed, work items done), counted in the same
    # transaction as the work: the sum over workers is what was done, exactly once.
    done: Mapped[int] = mapped_column(BigInteger, default=0)


class WorkItem(Base):
    """A scheduled unit of work (a collect tick, a scoring run, a weekly report) waiting for a worker.

    The dedup key (job name and the minute it was scheduled for, or the report's campaign and week) makes a
    double fire harmless; a worker claims an item with `FOR UPDATE SKIP LOCKED` and a lease, so a crashed
    worker's item is picked up again.
    """

    __tablename__ = "work_items"
    __table_args__ = (Index(None, "status", "kind", "not_before"), Index(None, "lease_owner"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(100))
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued, running, done, failed
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
