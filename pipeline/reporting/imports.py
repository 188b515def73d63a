"""Reach metrics from outside the pipeline: analytics CSV exports, bulletin reports, community event
feedback forms (the Home Office Annex A form), and figures entered by hand.

Parsing is pure: `read_import()` turns a file into MetricPoints or a CalendarError naming every bad
line, including any objective, audience or channel the strategy does not have (`Codes`). Storing is
all or nothing (`pipeline.services.metrics`): a second import of the same file replaces the first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from content_calendar.errors import CalendarError, Problem
from content_calendar.files import CellError, csv_rows, load_yaml, parse_date, read_text
from content_calendar.models import Strategy
from content_calendar.plan import month_bounds
from pipeline.records import MetricPoint

METRICS = (
    "sent",
    "delivered",
    "bounced",
    "opens",
    "clicks",
    "impressions",
    "reach",
    "engagements",
    "reactions",
    "comments",
    "shares",
    "page_views",
    "downloads",
    "event_attendance",
    "training_completions",
    "referrals",
    "community_tension_returns",
    "knowledge_uplift",
    "opinion_uplift",
    "feedback_uplift",
)


@dataclass(frozen=True)
class Mapping:
    """How a CSV export's columns become metrics: a date column, fixed or column-given dimensions,
    and {column: metric} for the figures."""

    date_column: str
    values: dict[str, str]
    channel: str = ""
    channel_column: str = ""
    audience_column: str = ""
    objective_column: str = ""
    metric_column: str = ""  # for a long format: one row per metric, named in this column
    value_column: str = ""


BUILT_IN: dict[str, Mapping] = {
    "generic": Mapping(
        "date",
        {},
        channel_column="channel",
        audience_column="audience",
        objective_column="objective",
        metric_column="metric",
        value_column="value",
    ),
    "facebook": Mapping(
        "date",
        {
            "impressions": "impressions",
            "post_reach": "impressions",
            "engagements": "engagements",
            "reactions_comments_and_shares": "engagements",
            "shares": "shares",
            "link_clicks": "clicks",
        },
        channel="facebook",
    ),
    "x": Mapping(
        "date",
        {
            "impressions": "impressions",
            "engagements": "engagements",
            "retweets": "shares",
            "reposts": "shares",
            "url_clicks": "clicks",
        },
        channel="x",
    ),
    "ga4": Mapping(
        "date",
        {
            "views": "page_views",
            "screen_page_views": "page_views",
            "downloads": "downloads",
            "file_downloads": "downloads",
        },
        channel="website",
    ),
    "govdelivery": Mapping(
        "sent_date",
        {
            "total_sent": "sent",
            "delivered": "delivered",
            "unique_opens": "opens",
            "unique_clicks": "clicks",
            "bounced": "bounced",
        },
    ),
}


@dataclass(frozen=True)
class Codes:
    """The objective, audience and channel codes of the imported strategy: a figure naming any other
    is refused, with the field that names it."""

    objectives: tuple[str, ...]
    audiences: tuple[str, ...]
    channels: tuple[str, ...]

    @classmethod
    def of(cls, strategy: Strategy) -> Codes:
        return cls(
            tuple(o.code for o in strategy.objectives),
            tuple(a.code for a in strategy.audiences),
            tuple(c.code for c in strategy.channels),
        )

    def problems(self, *, objective: str = "", audience: str = "", channel: str = "") -> list[tuple[str, str]]:
        """(field, message) for each code given that the strategy lacks; a blank code is allowed."""
        out = []
        for field, code, known in (
            ("objective", objective, self.objectives),
            ("audience", audience, self.audiences),
            ("channel", channel, self.channels),
        ):
            if code and code not in known:
                out.append((field, f"unknown {field} {code!r}: the strategy has {', '.join(known) or 'none'}"))
        return out


def file_digest(path: Path) -> str:
    """The sha256 of a file's bytes: an import's identity beside its name."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


KNOWLEDGE = {"very poor": 1, "poor": 2, "good": 3, "very good": 4}
OPINION = {"very negative": 1, "negative": 2, "neutral": 3, "positive": 4, "very positive": 5}


def load_mapping(path: Path) -> Mapping:
    data = load_yaml(read_text(path)[0]) or {}
    values = {
        str(k).lower().replace(" ", "_"): str(v) for k, v in (data.get("values") or {}).items() if k != "__line__"
    }
    unknown = [m for m in values.values() if m not in METRICS]
    if unknown or "date_column" not in data:
        raise CalendarError(
            [
                Problem(
                    str(path),
                    1,
                    "mapping",
                    f"needs date_column and values of known metrics (unknown: {', '.join(unknown) or 'none'})",
                )
            ]
        )
    fields = {
        k: str(data.get(k, "")).lower().replace(" ", "_")
        for k in ("channel_column", "audience_column", "objective_column", "metric_column", "value_column")
    }
    return Mapping(
        str(data["date_column"]).lower().replace(" ", "_"), values, channel=str(data.get("channel", "")), **fields
    )


def _number(text: str) -> float:
    cleaned = text.replace(",", "").replace("%", "").strip()
    value = float(cleaned) if cleaned else 0.0
    if value < 0:
        raise CellError(f"{text!r} is negative; counts cannot be")
    return value


def _period(month: str | None) -> tuple[date, date] | None:
    return month_bounds(month) if month else None


def read_import(
    path: Path,
    mapping: Mapping,
    *,
    objective: str = "",
    audience: str = "",
    channel: str = "",
    month: str | None = None,
    codes: Codes | None = None,
) -> list[MetricPoint]:
    """MetricPoints from a CSV export, or CalendarError naming each bad line (nothing partly read).
    `channel` fills the channel where neither the row nor the format gives one; with `codes`, a row
    naming an objective, audience or channel the strategy lacks is a problem of its own."""
    text, _ = read_text(path)
    header, rows = csv_rows(text)
    needed = {mapping.date_column} | ({mapping.metric_column, mapping.value_column} if mapping.metric_column else set())
    missing = sorted(c for c in needed if c and c not in header)
    if not mapping.metric_column and not set(mapping.values) & set(header):
        missing.append(" or ".join(sorted(mapping.values)))
    if missing:
        raise CalendarError([Problem(str(path), 1, "header", f"missing column(s): {', '.join(missing)}")])
    file_key = hashlib.sha256(text.encode()).hexdigest()[:16]
    period, problems, points = _period(month), [], []
    for line, row in rows:
        try:
            day = parse_date(row[mapping.date_column])
            if period and not period[0] <= day <= period[1]:
                raise CellError(f"{day} is outside {month}")
            pairs = (
                [(row[mapping.metric_column], row[mapping.value_column])]
                if mapping.metric_column
                else [(metric, row[col]) for col, metric in mapping.values.items() if row.get(col, "").strip()]
            )
            row_channel = row.get(mapping.channel_column, "").strip() or mapping.channel or channel
            row_audience = row.get(mapping.audience_column, "").strip() or audience
            row_objective = row.get(mapping.objective_column, "").strip() or objective
            wrong = codes.problems(objective=row_objective, audience=row_audience, channel=row_channel) if codes else []
            problems += [Problem(str(path), line, field, message) for field, message in wrong]
            if wrong:
                continue
            for metric, raw in pairs:
                if metric not in METRICS:
                    raise CellError(f"unknown metric {metric!r}")
                points.append(
                    MetricPoint(
                        day=day,
                        metric=metric,
                        value=_number(raw),
                        source=f"import:{path.name}",
                        channel=row_channel,
                        audience=row_audience,
                        objective=row_objective,
                        import_key=f"{file_key}:{line}:{metric}",
                    )
                )
        except (CellError, ValueError) as exc:
            problems.append(Problem(str(path), line, mapping.date_column if "date" in str(exc) else "value", str(exc)))
    if problems:
        raise CalendarError(problems)
    return points


def _improved(before: str, after: str, scale: dict[str, int]) -> bool | None:
    b, a = scale.get(before.strip().lower()), scale.get(after.strip().lower())
    return None if b is None or a is None else a > b  # "don't know" or blank on either side: excluded


def read_feedback(
    path: Path, *, objective: str = "", month: str | None = None, channel: str = "", audience: str = ""
) -> list[MetricPoint]:
    """Community event feedback forms (Annex A), one row per form: event, date, knowledge_before,
    knowledge_after, opinion_before, opinion_after. Gives, per event, attendance (forms returned) and
    the share of respondents whose knowledge / opinion of Prevent rose; "Don't know" is excluded."""
    text, _ = read_text(path)
    header, rows = csv_rows(text)
    needed = ("event", "date", "knowledge_before", "knowledge_after", "opinion_before", "opinion_after")
    missing = [c for c in needed if c not in header]
    if missing:
        raise CalendarError([Problem(str(path), 1, "header", f"missing column(s): {', '.join(missing)}")])
    period, problems = _period(month), []
    events: dict[tuple[str, date], list[dict[str, str]]] = {}
    for line, row in rows:
        try:
            day = parse_date(row["date"])
        except CellError as exc:
            problems.append(Problem(str(path), line, "date", str(exc)))
            continue
        if period and not period[0] <= day <= period[1]:
            problems.append(Problem(str(path), line, "date", f"{day} is outside {month}"))
            continue
        events.setdefault((row["event"], day), []).append(row)
    if problems:
        raise CalendarError(problems)
    file_key = hashlib.sha256(text.encode()).hexdigest()[:16]
    points = []
    for (event, day), forms in sorted(events.items()):
        base: dict[str, Any] = {
            "day": day,
            "source": f"feedback:{path.name}",
            "channel": channel,
            "audience": audience,
            "objective": objective,
            "item_ref": f"event:{event}",
        }
        points.append(
            MetricPoint(
                metric="event_attendance",
                value=float(len(forms)),
                import_key=f"{file_key}:{event}:{day}:attendance",
                **base,
            )
        )  # type: ignore[arg-type]
        for metric, prefix, scale in (
            ("knowledge_uplift", "knowledge", KNOWLEDGE),
            ("opinion_uplift", "opinion", OPINION),
        ):
            answers = [_improved(f[f"{prefix}_before"], f[f"{prefix}_after"], scale) for f in forms]
            counted = [a for a in answers if a is not None]
            if counted:
                points.append(
                    MetricPoint(
                        metric=metric,
                        value=round(sum(counted) / len(counted), 3),
                        import_key=f"{file_key}:{event}:{day}:{metric}",
                        **base,
                    )
                )  # type: ignore[arg-type]
    return points
