"""The measure job: each channel asked for the figures of every post the pipeline published there,
through the same adapter (and credentials) that published it; the web page's analytics too, when a
Google Analytics 4 property is configured.

Deciding is pure (`points`: a channel's answer as figures, one per post, objective and metric, keyed
so that a later pull replaces them); `measure` performs the effects. One channel's fault (an expired
token, a revoked permission, a rate limit, an answer that ends early or is HTML) is recorded against
that channel (`comms status`) and never stops the others. A figure is the destination's lifetime
count, stored once per key, so pulling twice never counts anything twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from channels import registry
from channels.base import ChannelError
from channels.measure import Measurement, Patience
from channels.port import Measurer
from pipeline.context import AppContext
from pipeline.errors import CommsError, NotFound
from pipeline.records import MEASURED, MetricPoint, Outcome, PublishedPost
from pipeline.redact import redactor

log = logging.getLogger(__name__)
YEAR = timedelta(days=366)  # by default a pull measures the posts of the last year
CHANNELS_AT_ONCE = 4


@dataclass
class Tally:
    channels: int = 0
    posts: int = 0
    figures: int = 0
    gone: int = 0
    import_only: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def outcome(self) -> Outcome:
        counts = {"channels": self.channels, "posts": self.posts, "figures": self.figures, "gone": self.gone}
        return Outcome(counts, tuple(self.failures))


def points(
    posts: Sequence[PublishedPost], measurement: Measurement, channel: str, account: str
) -> tuple[list[MetricPoint], list[str]]:
    """A channel's answer as figures (one per post, objective and metric, keyed by them) and the
    item refs of the posts deleted at the source."""
    by_id: dict[str, list[PublishedPost]] = defaultdict(list)
    for post in posts:
        by_id[post.external_id].append(post)
    out: list[MetricPoint] = []
    gone: list[str] = []
    for result in measurement.results:
        for post in by_id.get(result.external_id, []):
            ref = item_ref(post)
            if result.gone:
                gone.append(ref)
                continue
            for objective in post.objectives or ("",):
                for metric, value in sorted(result.figures.items()):
                    out.append(
                        MetricPoint(
                            post.day,
                            metric,
                            value,
                            MEASURED,
                            channel=channel,
                            audience=post.audience,
                            objective=objective,
                            item_ref=ref,
                            import_key=f"api:{channel}:{post.external_id}:{objective}:{metric}",
                            account=account,
                        )
                    )
    return out, gone


def item_ref(post: PublishedPost) -> str:
    """What a figure belongs to: the outbox item and the destination's id of its post (or, for web
    analytics, the month)."""
    return f"outbox:{post.item_id} {post.external_id}" if post.item_id else f"month {post.external_id}"


def measure(
    ctx: AppContext,
    now: datetime,
    *,
    only: str | None = None,
    since: date | None = None,
    patience: Patience | None = None,
) -> Outcome:
    """Pull the figures of the posts published since `since` (a year by default), on every channel
    that can measure (or `only` that channel), and the web page's analytics."""
    strategy = ctx.repos.calendar.strategy()
    if strategy is None:
        raise NotFound("no plan imported yet: run `comms calendar import` first")
    kinds = {c.code: c.kind for c in strategy.channels}
    if only is not None and only not in kinds and only != ctx.settings.ga4_channel:
        raise NotFound(f"no channel {only!r} in the strategy (one of {', '.join(kinds)})")
    since = since or (now - YEAR).date()
    patience = patience or Patience()
    wanted = [only] if only else list(kinds)
    posts: dict[str, list[PublishedPost]] = defaultdict(list)
    for post in ctx.repos.measures.published(since=since, channels=wanted):
        posts[post.channel].append(post)
    tally = Tally()
    asked = []
    for code in wanted:
        if code not in kinds or not posts.get(code):
            continue
        if registry.measures(kinds[code]) == registry.IMPORT_ONLY:
            tally.import_only.append(code)  # its figures come by `comms metrics import`
            continue
        asked.append((code, kinds[code], posts[code]))
    # Channels are asked at once (each API's rate limit is its own, so their waits overlap); what they
    # answer is recorded here, one channel at a time.
    with ThreadPoolExecutor(max_workers=max(1, min(CHANNELS_AT_ONCE, len(asked)))) as pool:
        futures = [pool.submit(_ask, ctx, code, kind, found, now, patience.again()) for code, kind, found in asked]
        for (code, _kind, found), future in zip(asked, futures, strict=True):
            _settle(ctx, code, found, future.result(), now, tally)
    if only is None or only == ctx.settings.ga4_channel:
        _analytics(ctx, since, now, patience, tally)
    return tally.outcome()


def measurable(ctx: AppContext) -> list[str]:
    """The channels the daily pull asks, one job each in queue mode: every channel of the strategy whose
    kind can be measured through its API, and the web page's analytics when a GA4 property is set."""
    strategy = ctx.repos.calendar.strategy()
    codes = [c.code for c in strategy.channels if registry.measures(c.kind) != registry.IMPORT_ONLY] if strategy else []
    if ctx.settings.ga4_property_id and ctx.settings.ga4_channel not in codes:
        codes.append(ctx.settings.ga4_channel)
    return codes


Asked = tuple[str, Measurement] | str | None  # (account, answer), or why it failed, or None: import only


def _ask(ctx: AppContext, code: str, kind: str, posts: list[PublishedPost], now: datetime, patience: Patience) -> Asked:
    """One channel asked for its figures (in a thread of the pull's pool); every fault is caught and said."""
    redact = redactor(ctx.settings)
    try:
        adapter = ctx.adapter_for(code, kind)
        if adapter.kind != kind or not isinstance(adapter, Measurer):  # routed to the file adapter
            return None
        ids = list(dict.fromkeys(p.external_id for p in posts))
        return adapter.account(), adapter.measure(ids, now, patience)
    except ChannelError as exc:
        return redact(str(exc))
    except Exception as exc:  # an adapter's bug or a surprising answer: this channel only
        log.exception("measuring %s failed unexpectedly", code)
        return redact(f"{code}: unexpected error: {type(exc).__name__}: {exc}"[:300])


def _settle(ctx: AppContext, code: str, posts: list[PublishedPost], asked: Asked, now: datetime, tally: Tally) -> None:
    if asked is None:
        tally.import_only.append(code)
    elif isinstance(asked, str):
        _failed(ctx, code, "", now, asked, tally)
    else:
        _record(ctx, code, asked[0], posts, asked[1], now, tally)


def _record(
    ctx: AppContext,
    code: str,
    account: str,
    posts: list[PublishedPost],
    measurement: Measurement,
    now: datetime,
    tally: Tally,
) -> None:
    redact = redactor(ctx.settings)
    found, gone = points(posts, measurement, code, account)
    ctx.repos.measures.store_measured(found, at=now)
    if gone:
        ctx.repos.measures.mark_gone(code, gone, at=now)
    problems = [redact(p) for p in measurement.problems]
    measured = len({r.external_id for r in measurement.results if not r.gone})
    ctx.repos.measures.record_pull(
        code, account, at=now, ok=not measurement.fatal, error="\n".join(problems), posts=measured, figures=len(found)
    )
    tally.channels += 1
    tally.posts += measured
    tally.figures += len(found)
    tally.gone += len(gone)
    tally.failures += problems
    log.info(
        "channel measured",
        extra={"channel": code, "posts": measured, "figures": len(found), "gone": len(gone), "problems": len(problems)},
    )


def _failed(ctx: AppContext, code: str, account: str, now: datetime, why: str, tally: Tally) -> None:
    ctx.repos.measures.record_pull(code, account, at=now, ok=False, error=why)
    tally.failures.append(why)
    log.warning("channel not measured", extra={"channel": code, "error": why})


def months_since(since: date, now: datetime) -> list[str]:
    months, day = [], since.replace(day=1)
    while day <= now.date():
        months.append(f"{day:%Y-%m}")
        day = (day + timedelta(days=32)).replace(day=1)
    return months


def _analytics(ctx: AppContext, since: date, now: datetime, patience: Patience, tally: Tally) -> None:
    """The web page's page views and downloads per month, from GA4, when a property is configured."""
    settings = ctx.settings
    code = settings.ga4_channel
    try:
        ga4 = registry.build_ga4(code, settings)
    except CommsError as exc:
        _failed(ctx, code, "", now, redactor(settings)(str(exc)), tally)
        return
    if ga4 is None:
        return
    try:
        months = months_since(since, now)
        measurement = ga4.measure(months, now, patience)
    finally:
        ga4.close()
    monthly = [
        PublishedPost(0, code, month, now, date.fromisoformat(month + "-01"), "", (settings.ga4_objective,))
        for month in months
    ]
    _record(ctx, code, ga4.account(), monthly, measurement, now, tally)
