"""`listener nlp explain "text"`: what the analysis makes of one text, stage by stage, for curators."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from jobs.analyse import campaign_hashtags, languages
from nlp.pipeline import PostAnalysis, PostInput, build_pipeline
from service.cli.main import cli_context, run_async
from service.settings import Settings
from service.wiring import open_services
from storage.repositories.analyses import registry_entries


async def _explain(settings: Settings, item: PostInput) -> tuple[PostAnalysis, dict[int, str]]:
    async with open_services(settings) as services, services.sessions() as session:
        merchants = await registry_entries(session)
        names = {m.id: m.name for m in merchants}
        pipeline = build_pipeline(languages(services), merchants, campaign_hashtags(services))
        return pipeline.analyse(item), names


def _as_dict(analysis: PostAnalysis, names: dict[int, str]) -> dict[str, Any]:
    return {
        "language": asdict(analysis.language),
        "handles": [h.text for h in analysis.parts.handles],
        "hashtags": [h.text for h in analysis.parts.hashtags],
        "hashtag_words": list(analysis.parts.hashtag_words),
        "urls": list(analysis.parts.urls),
        "mentions": [{**asdict(link), "merchant": names.get(link.merchant_id)} for link in analysis.links],
        "discovered": [asdict(d) for d in analysis.discoveries],
        "sentiment": {"label": analysis.sentiment.label, "score": analysis.sentiment.score},
        "signals": asdict(analysis.signals),
        "fingerprint": analysis.fingerprint,
        "pipeline_version": analysis.pipeline_version,
    }


@click.command("explain")
@click.argument("text")
@click.option("--platform", default="x", show_default=True, help="Platform the text comes from (for handles).")
@click.option("--lang-hint", default=None, help="The platform's language hint, if any.")
@click.option("--media", is_flag=True, help="The post carries media.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def explain_cmd(
    ctx: click.Context, text: str, platform: str, lang_hint: str | None, media: bool, as_json: bool
) -> None:
    """Explain the analysis of TEXT: language, merchant mentions (method, score), discovered businesses,
    sentiment and story signals, against the merchant registry of the configured database."""
    analysis, names = run_async(_explain(cli_context(ctx).settings, PostInput(text, platform, lang_hint, media)))
    data = _as_dict(analysis, names)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    lang = data["language"]
    click.echo(f"language: {lang['code']} (confidence {lang['confidence']:.2f})")
    if data["handles"] or data["hashtags"] or data["urls"]:
        click.echo(
            f"handles: {', '.join(data['handles']) or '—'} · hashtags: {', '.join(data['hashtags']) or '—'}"
            f" · links: {', '.join(data['urls']) or '—'}"
        )
    click.echo("mentions:" if data["mentions"] else "mentions: none")
    for m in data["mentions"]:
        where = f" at {m['start']}-{m['end']}" if m["start"] is not None else ""
        click.echo(
            f"  {m['merchant']} (merchant {m['merchant_id']}): {m['method']}, score {m['score']:.2f}, "
            f'"{m["surface"]}"{where}'
        )
    click.echo("discovered:" if data["discovered"] else "discovered: none")
    for d in data["discovered"]:
        click.echo(f"  {d['name']} ({d['method']}, score {d['score']:.2f})")
    click.echo(f"sentiment: {data['sentiment']['label']} ({data['sentiment']['score']:+.2f})")
    flags = [k for k, v in data["signals"].items() if v is True]
    click.echo(
        f"signals: {', '.join(flags) or 'none'}; spam score {data['signals']['spam_score']:.2f}"
        + (f" ({', '.join(data['signals']['reasons'])})" if data["signals"]["reasons"] else "")
    )
    click.echo(f"pipeline: {data['pipeline_version']}")
