"""The quarterly committee summary: the quarter's monthly reports rolled up, with the evidence set out
under the Home Office Prevent benchmark 10 (communications) questions.

10.1 Does the organisation communicate Prevent activity in a way which is proportionate and relevant
     to the context of the local area?
10.2 Does the organisation have a formal communications plan which proactively communicates the
     impact of Prevent to professionals and communities?

A quarter produced before it ends covers its months to date: a month not started yet is neither
counted as due nor as missed, only as activities still to come; every evidence line is computed from the
figures and says the period it covers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from content_calendar.plan import month_bounds
from pipeline.reporting.report import (
    MEAN_METRICS,
    STATES,
    band,
    day_label,
    month_label,
    percent,
    rag,
    span_label,
    worst,
)

QUESTIONS = {
    "10.1": "Does the organisation communicate Prevent activity in a way which is proportionate and relevant to "
    "the context of the local area?",
    "10.2": "Does the organisation have a formal communications plan which proactively communicates the impact "
    "of Prevent to professionals and communities?",
}
LOCAL_CONTEXT_METRICS = ("community_tension_returns",)  # figures that speak to the local context (10.1)


def quarter_months(quarter: str) -> tuple[str, str, str]:
    """'2026Q3' -> ('2026-07', '2026-08', '2026-09') (calendar quarters)."""
    m = re.fullmatch(r"(\d{4})Q([1-4])", quarter.strip().upper())
    if not m:
        raise ValueError(f"quarter must look like 2026Q3, not {quarter!r}")
    year, q = int(m.group(1)), int(m.group(2))
    return tuple(f"{year}-{3 * (q - 1) + i:02d}" for i in (1, 2, 3))  # type: ignore[return-value]


@dataclass(frozen=True)
class QuarterMonth:
    """One month of the quarter: its report (None if the month has not started), what was planned in a
    month not started, and whether its monthly report was written and sent."""

    month: str
    report: dict[str, Any] | None
    planned: int = 0  # activities planned in a month not started yet
    planned_by_objective: dict[str, int] = field(default_factory=dict)
    report_written: bool = False  # the clock wrote the month's report files (ledger `report:MONTH`)
    report_sent_to: tuple[str, ...] = ()  # audiences the month's report was emailed to


def _num(value: float | None) -> str:
    return "no data yet" if value is None else f"{value:g}"


def _names(values: list[str]) -> str:
    return ", ".join(values) if values else "none"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _roll_outcomes(started: list[dict[str, Any]], months: int) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for outcome in (o for m in started for o in m["outcomes"]):
        row = rows.setdefault(outcome["metric"], {"metric": outcome["metric"], "name": outcome["name"], "values": [],
                                                  "targets": [], "monthly_target": outcome["target"]})  # fmt: skip
        row["values"].append(outcome["actual"])
        row["targets"].append(outcome["target_to_date"])
    out = []
    for row in rows.values():
        known = [v for v in row["values"] if v is not None]
        share = row["metric"] in MEAN_METRICS
        actual = (round(sum(known) / len(known), 3) if share else sum(known)) if known else None
        target = row["monthly_target"] if share else round(sum(row["targets"]), 1)
        by_month = row["values"] + [None] * (months - len(row["values"]))
        out.append({"metric": row["metric"], "name": row["name"], "by_month": by_month, "actual": actual,
                    "target": target, "status": rag(actual, target), "share": share})  # fmt: skip
    return out


def build_quarterly(
    quarter: str, months: list[QuarterMonth], unique_reach: dict[str, int], people: int, as_of: datetime
) -> dict[str, Any]:
    """Roll up the quarter's months. `unique_reach` is per audience over the months covered and `people`
    the distinct recipients in all (someone reached in two months, or two audiences, counts once)."""
    started = [m for m in months if m.report is not None]
    reports: list[dict[str, Any]] = [m.report for m in started if m.report is not None]
    if not reports:
        raise ValueError(f"{quarter} has not started on {day_label(as_of.date())}: nothing to report yet")
    first = month_bounds(months[0].month)[0]
    quarter_last = month_bounds(months[-1].month)[1]
    last_period = reports[-1]["period"]
    through = date.fromisoformat(last_period["through"])
    to_date = bool(last_period["to_date"]) or len(reports) < len(months)
    label = span_label(first, through) + (" (to date)" if to_date else "")
    later = [m for m in months if m.report is None]

    objectives = []
    for i, head in enumerate(reports[0]["objectives"]):
        each = [r["objectives"][i] for r in reports]
        outcomes = _roll_outcomes(each, len(months))
        due, sent = sum(o["due"] for o in each), sum(o["sent"] for o in each)
        to_come = sum(o["to_come"] for o in each) + sum(m.planned_by_objective.get(head["code"], 0) for m in later)
        impressions = [o["impressions"] for o in each if o["impressions"] is not None]
        objectives.append({
            "code": head["code"], "title": head["title"], "outcome": head["outcome"],
            "due": due, "sent": sent, "partly": sum(o["partly delivered"] for o in each), "to_come": to_come,
            "share_sent": percent(sent, due), "band": band(sent, due),
            "impressions": sum(impressions) if impressions else None,
            "outcomes": outcomes,
            "by_month": [o["status"] for o in each] + ["notstarted"] * len(later),
            "status": worst([o["status"] for o in outcomes]) if outcomes else (rag(sent, due) if due else "nodata"),
        })  # fmt: skip

    summary = {
        "due": sum(r["summary"]["due"] for r in reports),
        "sent": sum(r["summary"]["sent"] for r in reports),
        "partly": sum(r["summary"]["partly delivered"] for r in reports),
        "not_delivered_in_full": sum(r["summary"]["not_delivered_in_full"] for r in reports),
        "to_come": sum(r["summary"]["to_come"] for r in reports) + sum(m.planned for m in later),
        "unique_reach": people,
    }
    summary["share_sent"] = percent(summary["sent"], summary["due"])
    shown = [r["summary"]["impressions"] for r in reports if r["summary"]["impressions"] is not None]
    summary["impressions"] = sum(shown) if shown else None

    month_rows = [
        {
            "month": m.month,
            "name": month_label(m.month),
            "state": "not started" if m.report is None else "to date" if m.report["period"]["to_date"] else "ended",
            "label": m.report["period"]["label"] if m.report else "not started",
            "report_written": m.report_written,
            "report_sent_to": list(m.report_sent_to),
        }
        for m in months
    ]
    evidence = {
        "10.1": _local_context(reports, objectives, unique_reach, people, label),
        "10.2": _formal_plan(quarter, reports, objectives, summary, month_rows, label, quarter_last),
    }
    return {
        "strategy": reports[0]["strategy"],
        "quarter": quarter,
        "months": [m.month for m in months],
        "month_rows": month_rows,
        "period": {
            "first": first.isoformat(),
            "through": through.isoformat(),
            "to_date": to_date,
            "label": label,
            "as_of": as_of.isoformat(timespec="minutes"),
            "last": quarter_last.isoformat(),
        },
        "summary": summary,
        "objectives": objectives,
        "unique_reach": unique_reach,
        "audiences": [{"audience": a["audience"], "name": a["name"]} for a in reports[0]["audiences"]],
        "questions": QUESTIONS,
        "evidence": evidence,
        "states": STATES,
    }


def _local_context(
    reports: list[dict[str, Any]],
    objectives: list[dict[str, Any]],
    unique_reach: dict[str, int],
    people: int,
    label: str,
) -> list[str]:
    """Evidence for 10.1, each line computed and naming the period."""
    channels = sorted({c["name"] for r in reports for c in r["channels"] if c["sent"] or c["outside_plan"]})
    names = {a["audience"]: a["name"] for a in reports[0]["audiences"]}
    reached = [names.get(a, a) for a, n in sorted(unique_reach.items()) if n]
    never = sorted(set.intersection(*(set(r["gaps"]["audiences_not_reached"]) for r in reports)))
    lines = [
        f"{label}: {_plural(len(channels), 'channel', 'channels')} used ({_names(channels)}).",
        f"{label}: {_plural(len(reached), 'audience', 'audiences')} reached by email ({_names(reached)}); "
        f"{_plural(people, 'person', 'people')} in all, each counted once.",
    ]
    for metric in LOCAL_CONTEXT_METRICS:
        found = [(o, m) for o in objectives for m in o["outcomes"] if m["metric"] == metric]
        for o, m in found:
            lines.append(
                f"{label}: {m['name']} recorded for objective {o['code']}: {_num(m['actual'])} "
                f"(target {m['target']:g})."
            )
    lines.append(
        f"{label}: audiences of the strategy with no one reached by email and no impressions recorded in any "
        f"month: {_names([names[a] for a in never])}."
    )
    return lines


def _formal_plan(
    quarter: str,
    reports: list[dict[str, Any]],
    objectives: list[dict[str, Any]],
    summary: dict[str, Any],
    month_rows: list[dict[str, Any]],
    label: str,
    quarter_last: date,
) -> list[str]:
    """Evidence for 10.2, each line computed and naming the period."""
    through = day_label(date.fromisoformat(reports[-1]["period"]["through"]))
    share = summary["share_sent"]
    plan = (
        f"{quarter}: a formal plan of {_plural(summary['due'] + summary['to_come'], 'activity', 'activities')} "
        f"against {_plural(len(objectives), 'objective', 'objectives')}; {summary['sent']} of the "
        f"{summary['due']} due by {through} were sent" + (f" ({share}%)" if share is not None else "")
    )
    if summary["to_come"]:
        plan += f"; {summary['to_come']} more are planned by {day_label(quarter_last)}"
    lines = [plan + "."]
    ended = [m for m in month_rows if m["state"] == "ended"]
    written = [m["name"] for m in ended if m["report_written"]]
    names = {a["audience"]: a["name"] for a in reports[0]["audiences"]}
    sent_to = sorted({names.get(a, a) for m in month_rows for a in m["report_sent_to"]})
    line = (
        f"{label}: monthly reports against the objectives written by the pipeline for "
        f"{len(written)} of the {_plural(len(ended), 'month', 'months')} ended ({_names(written)})"
    )
    open_months = [m["name"] for m in month_rows if m["state"] != "ended"]
    if open_months:
        line += f"; not yet due for {_names(open_months)}, which {'has' if len(open_months) == 1 else 'have'} not ended"
    line += f"; emailed to {_names(sent_to)}." if sent_to else "; none emailed to an audience."
    lines.append(line)
    measured = [
        f"{m['name']} {_num(m['actual'])} (objective {o['code']})"
        for o in objectives
        for m in o["outcomes"]
        if m["share"] and m["actual"] is not None
    ]
    lines.append(
        f"{label}: understanding of Prevent measured at events (Home Office feedback form): {'; '.join(measured)}."
        if measured
        else f"{label}: no event feedback forms recorded."
    )
    lines.append(
        f"{label}: {_plural(summary['not_delivered_in_full'], 'send', 'sends')} not delivered in full, each "
        "listed with its reason in its monthly report."
    )
    return lines
