"""Merchants' requests to the curators and their decisions: "this mention is not about us", "add this alias
or handle", "take this story down", and the merchant's own choice to be featured or not.

Requests are rows of merchant_corrections (pending, then accepted or rejected by a curator, who and when).
Asking twice for the same thing while it is pending returns the pending request. Merchant-side functions
take the merchant user's `Scope` (storage.repositories.merchant_mentions): a mention or story outside it
is "not found". Accepting applies the request in the same transaction:

- not_us: every link of that post to that merchant is removed, what was counted from it is put right (a
  discovered name's mention count, the post's "names a merchant" signal, the story's merchant, which falls
  to the post's next linked merchant or none), and the (merchant, alias) pair becomes a link exclusion that
  the analyse job hands to the linker, so the same alias never links that merchant again;
- alias / handle: added to the registry (a handle owned by another merchant is refused);
- takedown: the story is archived (leaves the feed and the widget at once), with the merchant's words as
  the reason in its history.

The featuring choice needs no review: merchants.feature_opt_out changes at once (featuring refuses an
opted-out merchant and the public feed hides its stories) and a row records who changed it and when.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nlp.linking import exclusion_key
from nlp.normalise import normalise_name
from storage.models import (
    Analysis,
    DiscoveredBusiness,
    LinkExclusion,
    Mention,
    Merchant,
    MerchantAlias,
    MerchantCorrection,
    MerchantHandle,
    Post,
    Story,
)
from storage.repositories._sql import utcnow
from storage.repositories.merchant_mentions import Scope, find_mention, find_story
from storage.repositories.story_states import StoryState, apply_move, load_story

REVIEWED = ("not_us", "alias", "handle", "takedown")  # kinds a curator decides
KINDS = (*REVIEWED, "opt_out", "opt_in")
FINAL_STORY_STATES = ("archived", "rejected")


class CorrectionError(ValueError):
    """The request cannot be made or decided as asked; the message says why."""


class NotFound(LookupError):
    """No such mention, story or request in the caller's scope."""


@dataclass(frozen=True)
class CorrectionRow:
    id: int
    merchant_id: int
    merchant_name: str
    kind: str
    status: str
    post_id: int | None
    post_text: str | None
    post_url: str | None
    surface: str | None
    method: str | None
    story_id: int | None
    value: str | None
    platform: str | None
    note: str | None
    created_at: datetime
    decided_at: datetime | None
    decision_note: str | None


async def _pending_like(session: AsyncSession, merchant_id: int, kind: str, **match: Any) -> MerchantCorrection | None:
    conditions = [getattr(MerchantCorrection, name) == value for name, value in match.items()]
    return await session.scalar(
        select(MerchantCorrection)
        .where(
            MerchantCorrection.merchant_id == merchant_id,
            MerchantCorrection.kind == kind,
            MerchantCorrection.status == "pending",
            *conditions,
        )
        .limit(1)
    )


def _new(merchant_id: int, kind: str, user_id: int | None, now: datetime, **fields: Any) -> MerchantCorrection:
    return MerchantCorrection(
        merchant_id=merchant_id, kind=kind, status="pending", requested_by=user_id, created_at=now, **fields
    )


# --- the merchant's side ------------------------------------------------------------------------------


async def flag_mention(
    session: AsyncSession, scope: Scope, mention_id: int, user_id: int | None, note: str | None, now: datetime
) -> MerchantCorrection:
    """A mention the merchant says is not about it: a pending request for the curators (NotFound outside the scope)."""
    mention = await find_mention(session, scope, mention_id)
    if mention is None:
        raise NotFound(f"there is no mention #{mention_id}")
    existing = await _pending_like(session, mention.merchant_id, "not_us", post_id=mention.post_id)
    if existing is not None:
        return existing
    row = _new(
        mention.merchant_id, "not_us", user_id, now,
        post_id=mention.post_id, surface=mention.surface[:300], method=mention.method, note=note,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def suggest(
    session: AsyncSession,
    scope: Scope,
    merchant_id: int,
    kind: str,
    value: str,
    platform: str | None,
    user_id: int | None,
    note: str | None,
    now: datetime,
) -> MerchantCorrection:
    """An alias or a handle (`platform` given) the merchant wants linked to it, for the curators to review."""
    if merchant_id not in scope.merchant_ids:
        raise NotFound(f"there is no merchant #{merchant_id}")
    if kind not in ("alias", "handle"):
        raise CorrectionError(f"a suggestion is an alias or a handle, not {kind!r}")
    text = " ".join(value.split())
    if kind == "handle":
        text = text.lstrip("@").casefold()
        if not platform:
            raise CorrectionError("a handle needs its platform")
    if not text or len(text) > 300:
        raise CorrectionError(f"the {kind} must have 1 to 300 characters")
    existing = await _pending_like(session, merchant_id, kind, value=text, platform=platform)
    if existing is not None:
        return existing
    row = _new(merchant_id, kind, user_id, now, value=text, platform=platform, note=note)
    session.add(row)
    await session.flush()
    return row


async def request_takedown(
    session: AsyncSession, scope: Scope, story_id: int, user_id: int | None, note: str | None, now: datetime
) -> MerchantCorrection:
    """Ask the curators to take a story of the merchant down (NotFound outside the scope)."""
    found = await find_story(session, scope, story_id)
    if found is None:
        raise NotFound(f"there is no story #{story_id}")
    if found[1] in FINAL_STORY_STATES:
        raise CorrectionError(f"story #{story_id} is {found[1]}: it is not shown anywhere")
    merchant_id = await session.scalar(select(Story.merchant_id).where(Story.id == story_id))
    assert merchant_id is not None  # in the scope, hence linked to a merchant
    existing = await _pending_like(session, merchant_id, "takedown", story_id=story_id)
    if existing is not None:
        return existing
    row = _new(merchant_id, "takedown", user_id, now, story_id=story_id, note=note)
    session.add(row)
    await session.flush()
    return row


async def set_featuring(
    session: AsyncSession, scope: Scope, merchant_id: int, opt_out: bool, user_id: int | None, now: datetime
) -> bool:
    """The merchant's consent to be featured (opt_out False) or its refusal; True when it changed."""
    if merchant_id not in scope.merchant_ids:
        raise NotFound(f"there is no merchant #{merchant_id}")
    merchant = await session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound(f"there is no merchant #{merchant_id}")
    if merchant.feature_opt_out == opt_out:
        return False
    merchant.feature_opt_out = opt_out
    merchant.updated_at = now
    record = _new(merchant_id, "opt_out" if opt_out else "opt_in", user_id, now)
    record.status, record.decided_at = "accepted", now
    session.add(record)
    await session.flush()
    return True


# --- reading ------------------------------------------------------------------------------------------


async def corrections(
    session: AsyncSession,
    *,
    merchant_ids: Sequence[int] | None = None,
    status: str | None = None,
    kinds: Sequence[str] | None = None,
    limit: int = 100,
) -> list[CorrectionRow]:
    """Requests, newest first (pending takedowns before anything else when several kinds are asked for)."""
    query = (
        select(
            MerchantCorrection.id,
            MerchantCorrection.merchant_id,
            Merchant.name.label("merchant_name"),
            MerchantCorrection.kind,
            MerchantCorrection.status,
            MerchantCorrection.post_id,
            Post.text.label("post_text"),
            Post.url.label("post_url"),
            MerchantCorrection.surface,
            MerchantCorrection.method,
            MerchantCorrection.story_id,
            MerchantCorrection.value,
            MerchantCorrection.platform,
            MerchantCorrection.note,
            MerchantCorrection.created_at,
            MerchantCorrection.decided_at,
            MerchantCorrection.decision_note,
        )
        .join(Merchant, Merchant.id == MerchantCorrection.merchant_id)
        .outerjoin(Post, Post.id == MerchantCorrection.post_id)
    )
    if merchant_ids is not None:
        query = query.where(MerchantCorrection.merchant_id.in_(list(merchant_ids)))
    if status is not None:
        query = query.where(MerchantCorrection.status == status)
    if kinds is not None:
        query = query.where(MerchantCorrection.kind.in_(list(kinds)))
    takedown_first = case((MerchantCorrection.kind == "takedown", 0), else_=1)
    query = query.order_by(takedown_first, MerchantCorrection.created_at.desc(), MerchantCorrection.id.desc())
    return [CorrectionRow(**row._asdict()) for row in (await session.execute(query.limit(limit))).all()]


async def pending_counts(session: AsyncSession) -> dict[int, int]:
    """merchant id -> pending requests, for the curators' list of merchants."""
    rows = await session.execute(
        select(MerchantCorrection.merchant_id, func.count())
        .where(MerchantCorrection.status == "pending")
        .group_by(MerchantCorrection.merchant_id)
    )
    return {int(m): int(n) for m, n in rows.all()}


async def link_exclusions(session: AsyncSession) -> list[tuple[int, str]]:
    """Every (merchant id, alias) the linker must not link again (for the analyse job)."""
    rows = await session.execute(select(LinkExclusion.merchant_id, LinkExclusion.alias).order_by(LinkExclusion.id))
    return [(int(m), str(a)) for m, a in rows.all()]


# --- the curators' decision ---------------------------------------------------------------------------


async def _unlink(session: AsyncSession, post_id: int, merchant_id: int) -> int:
    """Remove every link of the post to the merchant and put right what was counted from them."""
    discovered = await session.execute(
        select(Mention.discovered_id, func.count())
        .where(Mention.post_id == post_id, Mention.merchant_id == merchant_id, Mention.discovered_id.is_not(None))
        .group_by(Mention.discovered_id)
    )
    for discovered_id, n in discovered.all():
        await session.execute(
            update(DiscoveredBusiness)
            .where(DiscoveredBusiness.id == discovered_id)
            .values(
                mention_count=case(
                    (DiscoveredBusiness.mention_count > n, DiscoveredBusiness.mention_count - n), else_=0
                )
            )
        )
    removed: Any = await session.execute(
        delete(Mention).where(Mention.post_id == post_id, Mention.merchant_id == merchant_id)
    )
    remaining = (
        await session.execute(
            select(Mention.merchant_id)
            .where(Mention.post_id == post_id, Mention.merchant_id.is_not(None))
            .order_by(Mention.score.desc(), Mention.id)
        )
    ).scalars().first()  # fmt: skip
    analysis = await session.get(Analysis, post_id)
    if analysis is not None and remaining is None and analysis.signals.get("named_merchant"):
        analysis.signals = {**analysis.signals, "named_merchant": False}  # a new dict: JSON columns track assignment
    await session.execute(
        update(Story).where(Story.post_id == post_id, Story.merchant_id == merchant_id).values(merchant_id=remaining)
    )
    return int(removed.rowcount or 0)


async def _exclude(session: AsyncSession, merchant_id: int, alias: str, correction_id: int, now: datetime) -> None:
    key = exclusion_key(alias)[:300]
    if not key:
        return
    known = await session.scalar(
        select(LinkExclusion.id).where(LinkExclusion.merchant_id == merchant_id, LinkExclusion.normalized == key)
    )
    if known is None:
        session.add(
            LinkExclusion(
                merchant_id=merchant_id, alias=alias[:300], normalized=key, correction_id=correction_id, created_at=now
            )
        )


async def _add_alias(session: AsyncSession, merchant: Merchant, alias: str) -> None:
    normalized = normalise_name(alias)[:300]
    if not normalized:
        raise CorrectionError(f"{alias!r} has no letters or digits to link")
    for row in merchant.aliases:
        if row.normalized == normalized:
            row.blocked = False  # the merchant says it is theirs after all
            return
    merchant.aliases.append(MerchantAlias(alias=alias[:300], normalized=normalized, blocked=False))
    # The exclusion of the same name, if any, would contradict the new alias.
    await session.execute(
        delete(LinkExclusion).where(
            LinkExclusion.merchant_id == merchant.id, LinkExclusion.normalized == exclusion_key(alias)[:300]
        )
    )


async def _add_handle(session: AsyncSession, merchant: Merchant, platform: str, handle: str) -> None:
    owner = await session.scalar(
        select(MerchantHandle.merchant_id).where(MerchantHandle.platform == platform, MerchantHandle.handle == handle)
    )
    if owner == merchant.id:
        return
    if owner is not None:
        raise CorrectionError(f"{platform}:@{handle} already belongs to merchant {owner}: settle that first")
    merchant.handles.append(MerchantHandle(platform=platform, handle=handle))


async def _take_down(session: AsyncSession, story_id: int, actor: int | None, note: str | None, now: datetime) -> None:
    story = await load_story(session, story_id)
    if story.state in FINAL_STORY_STATES:
        return  # already off every page
    reason = "taken down at the merchant's request" + (f": {note}" if note else "")
    await apply_move(session, story, StoryState.ARCHIVED, actor_user_id=actor, reason=reason[:1000], now=now)


async def decide(
    session: AsyncSession,
    correction_id: int,
    *,
    accept: bool,
    actor: int | None,
    note: str | None,
    now: datetime | None = None,
    merchant_id: int | None = None,
) -> MerchantCorrection:
    """Accept (and apply) or reject a pending request; `merchant_id`, when given, must be the request's."""
    now = now or utcnow()
    row = await session.scalar(
        select(MerchantCorrection).where(MerchantCorrection.id == correction_id).with_for_update()
    )
    if row is None or (merchant_id is not None and row.merchant_id != merchant_id):
        raise NotFound(f"there is no request #{correction_id}")
    if row.status != "pending":
        raise CorrectionError(f"request #{correction_id} was already {row.status}")
    if accept:
        merchant = await session.get(Merchant, row.merchant_id)
        assert merchant is not None  # the foreign key cascades
        if row.kind == "not_us" and row.post_id is not None:
            await _unlink(session, row.post_id, row.merchant_id)
            if row.surface:
                await _exclude(session, row.merchant_id, row.surface, row.id, now)
        elif row.kind == "alias" and row.value:
            await _add_alias(session, merchant, row.value)
            merchant.updated_at = now
        elif row.kind == "handle" and row.value and row.platform:
            await _add_handle(session, merchant, row.platform, row.value)
            merchant.updated_at = now
        elif row.kind == "takedown" and row.story_id is not None:
            await _take_down(session, row.story_id, actor, row.note, now)
    row.status = "accepted" if accept else "rejected"
    row.decided_by, row.decided_at, row.decision_note = actor, now, note
    await session.flush()
    return row
