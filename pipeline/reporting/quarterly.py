"""The quarterly committee summary: three monthly reports rolled up, with the evidence set out under
the Home Office Prevent benchmark 10 (communications) questions.

10.1 Does the organisation communicate Prevent activity in a way which is proportionate and relevant
     to the context of the local area?
10.2 Does the organisation have a formal communications plan which proactively communicates the
     impact of Prevent to professionals and communities?
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.reporting.report import MEAN_METRICS, rag

QUESTIONS = {
    "10.1": "Does the organisation communicate Prevent activity in a way which is proportionate and relevant to "
    "the context of the local area?",
    "10.2": "Does the organisation have a formal communications plan which proactively communicates the impact "
    "of Prevent to professionals and communities?",
}


def quarter_months(quarter: str) -> tuple[str, str, str]:
    """'2026Q3' -> ('2026-07', '2026-08', '2026-09') (calendar quarters)."""
    m = re.fullmatch(r"(\d{4})Q([1-4])", quarter.strip().upper())
    if not m:
        raise ValueError(f"quarter must look like 2026Q3, not {quarter!r}")
    year, q = int(m.group(1)), int(m.group(2))
    return tuple(f"{year}-{3 * (q - 1) + i:02d}" for i in (1, 2, 3))  # type: ignore[return-value]


def _num(value: float | None) -> str:
    return "not recorded" if value is None else f"{value:g}"


def _roll_outcomes(monthly: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for outcome in (o for m in monthly for o in m["outcomes"]):
        row = rows.setdefault(outcome["metric"], {"metric": outcome["metric"], "values": [],
                                                  "monthly_target": outcome["target"]})  # fmt: skip
        row["values"].append(outcome["actual"])
    out = []
    for row in rows.values():
        known = [v for v in row["values"] if v is not None]
        mean = row["metric"] in MEAN_METRICS
        actual = (round(sum(known) / len(known), 3) if mean else sum(known)) if known else None
        target = row["monthly_target"] if mean else row["monthly_target"] * len(monthly)
        out.append({"metric": row["metric"], "by_month": row["values"], "actual": actual, "target": target,
                    "status": rag(actual, target)})  # fmt: skip
    return out


def build_quarterly(
    quarter: str, reports: list[dict[str, Any]], unique_reach: dict[str, int], people: int
) -> dict[str, Any]:
    """Roll up three monthly reports. `unique_reach` is per audience over the whole quarter and `people`
    the distinct recipients in all (someone reached in two months, or two audiences, counts once)."""
    objectives = []
    for i, first in enumerate(reports[0]["objectives"]):
        months = [r["objectives"][i] for r in reports]
        outcomes = _roll_outcomes(months)
        statuses = [o["status"] for o in outcomes if o["status"] != "none"]
        objectives.append({
            "code": first["code"], "title": first["title"], "outcome": first["outcome"],
            "planned": sum(m["planned"] for m in months), "delivered": sum(m["delivered"] for m in months),
            "impressions": sum(m["impressions"] for m in months), "engagement": sum(m["engagement"] for m in months),
            "outcomes": outcomes, "by_month": [m["status"] for m in months],
            "status": "red" if "red" in statuses else "amber" if "amber" in statuses else "green" if statuses
            else ("green" if sum(m["delivered"] for m in months) else "red"),
        })  # fmt: skip
    planned = sum(r["summary"]["planned"] for r in reports)
    delivered = sum(r["summary"]["delivered"] for r in reports)
    channels_used = sorted({c["name"] for r in reports for c in r["channels"] if c["delivered"]})
    reached = sorted(a for a, n in unique_reach.items() if n)
    never = sorted(set.intersection(*(set(r["gaps"]["audiences_not_reached"]) for r in reports)))
    failures = sum(len(r["failures"]) for r in reports)
    evidence = {
        "10.1": [
            f"{len(channels_used)} channels used: {', '.join(channels_used) or 'none'}.",
            f"Audiences reached by email this quarter: {len(reached)} ({', '.join(reached) or 'none'}); "
            f"{people} people in all, each counted once.",
            "Reactive and community-tension activity (objective 2): "
            + ", ".join(f"{o['metric'].replace('_', ' ')} {_num(o['actual'])}"
                        for obj in objectives if obj["code"] == "2" for o in obj["outcomes"]) + ".",
            f"Audiences not reached in any month: {', '.join(never) or 'none'}.",
        ],
        "10.2": [
            f"A formal plan: {planned} activities planned against {len(objectives)} objectives; {delivered} delivered "
            f"({round(100 * delivered / planned) if planned else 0}%).",
            f"Impact reported monthly: {len(reports)} monthly reports with each objective rated "
            f"({', '.join(o['code'] + ': ' + o['status'] for o in objectives)}).",
            "Understanding of Prevent measured at events (Home Office feedback form): "
            + "; ".join(f"{o['metric'].replace('_', ' ')} {_num(o['actual'])}" for obj in objectives
                        for o in obj["outcomes"] if o["metric"] in MEAN_METRICS and o["actual"] is not None) + ".",
            f"Failed or missed sends shown to the team: {failures}.",
        ],
    }  # fmt: skip
    summary = {"planned": planned, "delivered": delivered, "unique_reach": people,
               "impressions": sum(r["summary"]["impressions"] for r in reports)}  # fmt: skip
    return {"strategy": reports[0]["strategy"], "quarter": quarter, "months": [r["month"] for r in reports],
            "summary": summary, "objectives": objectives, "unique_reach": unique_reach, "questions": QUESTIONS,
            "evidence": evidence}  # fmt: skip
