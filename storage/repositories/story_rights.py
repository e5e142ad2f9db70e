"""Rights before featuring: ask the author, recognise the consent reply, let unanswered requests expire.

`request_rights` records a request for a shortlisted story and hands the curator the reply to send: a polite
message in the post's language (French, English or Arabic) naming the campaign's consent hashtag, and where
the platform has a reply intent (X), a link that opens it ready to send. No platform API here posts on
anyone's behalf: the curator sends or copies it.

`grant_from_replies` reads collected posts (the collectors also listen for each campaign's consent hashtag)
for a reply to the story's post, on the same platform, by the same author, carrying the consent hashtag (in
its hashtags or text, any case), created while the request was open (from `CLOCK_TOLERANCE` before it was
made, platforms' clocks differ from ours, until it expires): the story's rights are granted with that post as
evidence, and the name shown when featured is the author's display name (else the handle). The
query starts from the few pending requests and reaches replies through the posts author index.

`expire_rights` marks pending requests past their expiry and puts their stories back to shortlisted.

`grant_manually` records consent given where no reply can be collected (Instagram comments are not returned
by hashtag search; a direct message; an e-mail): the curator states the evidence and the name to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Author, Campaign, Post, RightsRequest, Story
from storage.repositories.story_candidates import has_hashtag
from storage.repositories.story_states import StoryState, TransitionError, apply_move, load_story

CLOCK_TOLERANCE = timedelta(minutes=10)
MESSAGES: dict[str, str] = {
    "fr": (
        "Bonjour @{handle}, votre message nous a touchés ! Pouvons-nous le mettre en avant sur le site de la "
        "campagne {campaign}, avec votre nom ? Si vous êtes d'accord, répondez simplement à ce message avec "
        "#{tag}. Merci !"
    ),
    "en": (
        "Hello @{handle}, we loved your post! May we feature it on the {campaign} campaign site, with your "
        "name? If you agree, simply reply to this message with #{tag}. Thank you!"
    ),
    "ar": (
        "مرحبا @{handle}، أعجبنا منشورك! هل تسمح لنا بعرضه على موقع حملة {campaign} مع اسمك؟ "
        "إذا كنت موافقا، يكفي أن ترد على هذه الرسالة بـ #{tag}. شكرا!"
    ),
}


@dataclass(frozen=True)
class RightsRequestResult:
    request_id: int
    story_id: int
    message: str  # the reply to send (or copy)
    reply_url: str | None  # opens the platform's reply box with the message, where the platform has one
    post_url: str | None  # the post to reply to
    consent_hashtag: str
    expires_at: datetime


def consent_tag(campaign: Campaign) -> str:
    tag = (campaign.consent_hashtag or "").strip().lstrip("#")
    if not tag:
        raise TransitionError(
            f"campaign {campaign.slug} has no consent hashtag: set consent_hashtag in [campaigns.{campaign.slug}] "
            "of listener.toml"
        )
    return tag


def suggested_message(language: str, handle: str, tag: str, campaign_name: str) -> str:
    """The polite request in the post's language (English for any other), naming the consent hashtag."""
    template = MESSAGES.get(language, MESSAGES["en"])
    return template.format(handle=handle.lstrip("@"), campaign=campaign_name, tag=tag.lstrip("#"))


def reply_url(platform: str, platform_id: str, message: str) -> str | None:
    """A link opening the platform's reply box with `message`; None where there is no such intent (copy it)."""
    if platform == "x":
        return "https://twitter.com/intent/tweet?" + urlencode({"in_reply_to": platform_id, "text": message})
    return None


async def request_rights(
    session: AsyncSession,
    story_id: int,
    actor_user_id: int | None,
    message: str | None,
    now: datetime,
    expiry: timedelta,
) -> RightsRequestResult:
    """Ask the author of a shortlisted story for the right to feature it (the request expires after `expiry`,
    e.g. `timedelta(days=settings.stories.rights_expiry_days)`). `message` None or blank: the suggested one; a
    custom message must name the consent hashtag."""
    story = await load_story(session, story_id)
    if story.state != StoryState.SHORTLISTED:
        raise TransitionError(
            f"story #{story_id} is {story.state}: rights can be requested for a shortlisted story only"
        )
    row = (
        await session.execute(
            select(Post.platform, Post.platform_id, Post.url, Author.handle, Campaign)
            .join(Author, Author.id == Post.author_id)
            .join(Campaign, Campaign.id == story.campaign_id)
            .where(Post.id == story.post_id)
        )
    ).one()
    platform, platform_id, post_url, handle, campaign = row
    tag = consent_tag(campaign)
    text = (message or "").strip() or suggested_message(story.language, handle, tag, campaign.name)
    if not has_hashtag(text, (), tag):
        raise TransitionError(f"the message must name the consent hashtag #{tag}: the author replies with it")
    request = RightsRequest(
        story_id=story.id,
        requested_by=actor_user_id,
        requested_at=now,
        expires_at=now + expiry,
        message=text,
        consent_hashtag=tag,
        status="pending",
    )
    session.add(request)
    await apply_move(
        session,
        story,
        StoryState.RIGHTS_REQUESTED,
        actor_user_id=actor_user_id,
        reason=f"rights requested with #{tag}, until {request.expires_at:%Y-%m-%d %H:%M} UTC",
        now=now,
    )
    return RightsRequestResult(
        request.id, story.id, text, reply_url(platform, platform_id, text), post_url, tag, request.expires_at
    )


async def grant_from_replies(session: AsyncSession, now: datetime) -> int:
    """Grant rights for every pending request whose author has replied with the consent hashtag; returns how
    many were granted."""
    story_post = aliased(Post)
    reply = aliased(Post)
    rows = await session.execute(
        select(
            RightsRequest,
            Story,
            reply.id,
            reply.text,
            reply.hashtags,
            reply.url,
            reply.platform_id,
            reply.created_at,
            Author.display_name,
            Author.handle,
        )
        .join(Story, Story.id == RightsRequest.story_id)
        .join(story_post, story_post.id == Story.post_id)
        .join(
            reply,
            and_(
                reply.author_id == story_post.author_id,  # on the posts author index
                reply.platform == story_post.platform,
                reply.reply_to_id == story_post.platform_id,
            ),
        )
        .join(Author, Author.id == story_post.author_id)
        .where(RightsRequest.status == "pending", Story.state == StoryState.RIGHTS_REQUESTED.value)
        .order_by(RightsRequest.id, reply.created_at, reply.id)
    )
    granted = 0
    done: set[int] = set()
    for request, story, reply_id, text, hashtags, url, reply_pid, created_at, name, handle in rows.all():
        if request.id in done or not request.requested_at - CLOCK_TOLERANCE <= created_at <= request.expires_at:
            continue
        if not has_hashtag(text, hashtags or [], request.consent_hashtag):
            continue
        done.add(request.id)
        request.evidence_post_id = reply_id
        await _grant(
            session,
            story,
            request,
            public_name=(name or "").strip() or handle,
            actor_user_id=None,
            reason=f"the author replied with #{request.consent_hashtag}: {url or f'post {reply_pid}'}",
            now=now,
        )
        granted += 1
    return granted


async def expire_rights(session: AsyncSession, now: datetime) -> int:
    """Pending requests past their expiry become expired; their stories go back to shortlisted."""
    requests = (
        await session.scalars(
            select(RightsRequest)
            .where(RightsRequest.status == "pending", RightsRequest.expires_at <= now)
            .order_by(RightsRequest.id)
        )
    ).all()
    for request in requests:
        request.status = "expired"
        story = await session.get(Story, request.story_id)
        if story is not None and story.state == StoryState.RIGHTS_REQUESTED:
            await apply_move(
                session,
                story,
                StoryState.SHORTLISTED,
                actor_user_id=None,
                reason=f"rights request expired on {request.expires_at:%Y-%m-%d %H:%M} UTC without a reply with "
                f"#{request.consent_hashtag}",
                now=now,
            )
    return len(requests)


async def grant_manually(
    session: AsyncSession, story_id: int, *, actor_user_id: int, evidence: str, public_name: str, now: datetime
) -> None:
    """Record consent given where no reply can be collected (an Instagram comment, a direct message, an
    e-mail): the curator states the evidence and the name the author agreed to be shown under."""
    evidence, public_name = evidence.strip(), public_name.strip()
    if not evidence:
        raise TransitionError("say where the author gave consent (a link to their comment, the message...)")
    if not public_name or len(public_name) > 400:
        raise TransitionError("give the name the author agreed to be shown under (at most 400 characters)")
    story = await load_story(session, story_id)
    if story.state != StoryState.RIGHTS_REQUESTED:
        raise TransitionError(f"story #{story_id} is {story.state}: request rights before recording consent")
    request = await session.scalar(
        select(RightsRequest)
        .where(RightsRequest.story_id == story_id, RightsRequest.status == "pending")
        .order_by(RightsRequest.id.desc())
        .limit(1)
    )
    await _grant(
        session,
        story,
        request,
        public_name=public_name,
        actor_user_id=actor_user_id,
        reason=f"consent recorded by hand: {evidence[:1000]}",
        now=now,
    )


async def _grant(
    session: AsyncSession,
    story: Story,
    request: RightsRequest | None,
    *,
    public_name: str,
    actor_user_id: int | None,
    reason: str,
    now: datetime,
) -> None:
    """Rights granted, whichever way the consent came: the request closed, the public name set, the move
    recorded."""
    if request is not None:
        request.status, request.granted_at = "granted", now
    story.public_name = public_name
    await apply_move(session, story, StoryState.RIGHTS_GRANTED, actor_user_id=actor_user_id, reason=reason, now=now)
