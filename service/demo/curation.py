"""The demo curator's session: a few sample stories moved along the rights workflow with the real repositories.

The manifest names, by platform and post id, the stories to shortlist, to ask rights for, and the one to
feature. Before the consent replies arrive (`shortlist_and_request`, at the curator's placeholder time) the
curator shortlists them and requests rights where the manifest says so; the stories job then grants the
rights from the author's own reply carrying the campaign's consent hashtag (nothing here grants anything);
afterwards `feature_granted` features the story whose rights were granted.

A story that already left the candidate state (a second run, or a curator's own work since) is left alone,
so running the demo again changes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.demo.samples import CurationStep
from service.settings import StoriesSettings
from storage.models import Post, Story
from storage.repositories.stories import StoryState, feature, request_rights, transition

_ASKS_RIGHTS = frozenset({StoryState.RIGHTS_REQUESTED.value, StoryState.FEATURED.value})


@dataclass
class CurationResult:
    moved: Counter[str] = field(default_factory=Counter)  # target state -> stories moved there now
    left: list[str] = field(default_factory=list)  # why a step did nothing
    featured: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


async def story_of(session: AsyncSession, step: CurationStep) -> Story | None:
    return await session.scalar(
        select(Story)
        .join(Post, Post.id == Story.post_id)
        .where(Post.platform == step.platform, Post.platform_id == step.platform_id)
        .order_by(Story.id)
        .limit(1)
    )


async def shortlist_and_request(
    session: AsyncSession, plan: tuple[CurationStep, ...], curator_id: int, at: datetime, rules: StoriesSettings
) -> CurationResult:
    """Shortlist every planned candidate and request rights for those the plan takes further."""
    result = CurationResult()
    for index, step in enumerate(plan):
        story = await story_of(session, step)
        if story is None:
            result.left.append(f"{step.platform} post {step.platform_id} is not a story")
            continue
        if story.state != StoryState.CANDIDATE:
            result.left.append(f"story #{story.id} is already {story.state}")
            continue
        moment = at + timedelta(minutes=3 * index)  # one move after the other, as a curator works
        await transition(
            session,
            story.id,
            StoryState.SHORTLISTED,
            actor_user_id=curator_id,
            reason=f"demo: {step.why}",
            now=moment,
        )
        result.moved[StoryState.SHORTLISTED.value] += 1
        if step.to in _ASKS_RIGHTS:
            expiry = timedelta(days=rules.rights_expiry_days)
            await request_rights(session, story.id, curator_id, None, moment + timedelta(minutes=1), expiry)
            result.moved[StoryState.RIGHTS_REQUESTED.value] += 1
    return result


async def feature_granted(
    session: AsyncSession, plan: tuple[CurationStep, ...], curator_id: int, now: datetime, rules: StoriesSettings
) -> CurationResult:
    """Feature the planned stories whose rights the author granted (from now, for the default window)."""
    result = CurationResult()
    for step in plan:
        if step.to != StoryState.FEATURED.value:
            continue
        story = await story_of(session, step)
        if story is None:
            result.left.append(f"{step.platform} post {step.platform_id} is not a story")
        elif story.state != StoryState.RIGHTS_GRANTED:
            result.left.append(f"story #{story.id} is {story.state}, not rights_granted: not featured now")
        else:
            done = await feature(session, story.id, curator_id, now, rules=rules)
            result.moved[StoryState.FEATURED.value] += 1
            result.featured.append(done.story_id)
            result.warnings.extend(done.warnings)
    return result
