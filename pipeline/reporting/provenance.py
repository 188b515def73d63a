"""Where a report's figures came from and how fresh they are, as the report prints them.

Pure: `sources()` turns the stored provenance of a month's figures (`records.Provenance`, one per
objective, metric, source, channel and account) into the lines the report shows beside each outcome
metric: "Facebook's own figures (Page 1234), fetched 22 November 2026 06:15, 1 day old".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pipeline.records import HAND, LINK_CLICKS, MEASURED, PIPELINE, Provenance


def age(recorded: datetime, as_of: datetime) -> str:
    """'today', '1 day old', '12 days old': how old a figure was at the moment of the report."""
    days = (as_of.date() - recorded.astimezone(as_of.tzinfo).date()).days
    return "today" if days <= 0 else "1 day old" if days == 1 else f"{days} days old"


def _when(moment: datetime, as_of: datetime) -> str:
    local = moment.astimezone(as_of.tzinfo)
    return f"{local.day} {local:%B %Y %H:%M}"


def label(p: Provenance, channels: Mapping[str, str]) -> str:
    """Where a figure came from, as a person reads it."""
    channel = channels.get(p.channel, p.channel)
    account = f" ({p.account})" if p.account else ""
    if p.source == MEASURED:
        return f"{channel}'s own figures{account}"
    if p.source == LINK_CLICKS:
        return f"clicks on the links in {channel or 'our emails'}, counted by our link redirect"
    if p.source == PIPELINE:
        return f"the pipeline's own count of its sends{' on ' + channel if channel else ''}"
    if p.source == HAND:
        return "entered by hand"
    kind, _, name = p.source.partition(":")
    if kind in ("import", "feedback") and name:
        return f"imported from {name}"
    return p.source


def verb(p: Provenance) -> str:
    return {MEASURED: "fetched", LINK_CLICKS: "last click", HAND: "entered"}.get(p.source, "recorded")


def sources(
    provenance: Sequence[Provenance], objective: str, metric: str, as_of: datetime, channels: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The sources of one objective's metric: label, when last recorded and how old the oldest is."""
    out = []
    mine = [p for p in provenance if p.objective == objective and p.metric == metric]
    counted = [p for p in mine if p.source == PIPELINE]
    if counted:  # one line for the pipeline's own counts, whatever the channels
        names = [channels.get(p.channel, p.channel) for p in counted if p.channel]
        where = f" on {', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else f" on {names[0]}" if names else ""
        text = f"the pipeline's own count of its sends{where}"
        figures = sum(p.figures for p in counted)
        out.append({"source": PIPELINE, "channel": "", "account": "", "figures": figures, "fetched": None,
                    "oldest": None, "gone": 0, "text": text})  # fmt: skip
    for p in mine:
        if p.source == PIPELINE:
            continue
        text = label(p, channels)
        if p.newest is not None and p.oldest is not None:
            text += f", {verb(p)} {_when(p.newest, as_of)}"
            text += f" ({age(p.oldest, as_of)})" if p.oldest == p.newest else f" (the oldest {age(p.oldest, as_of)})"
        if p.gone:
            text += f"; {p.gone} of these figures are of posts since deleted at the source (their last figures kept)"
        out.append(
            {
                "source": p.source,
                "channel": p.channel,
                "account": p.account,
                "figures": p.figures,
                "fetched": p.newest.isoformat(timespec="minutes") if p.newest else None,
                "oldest": p.oldest.isoformat(timespec="minutes") if p.oldest else None,
                "gone": p.gone,
                "text": text,
            }
        )
    return out
