"""Reach figures: one by hand, or a file of them (an analytics export, a bulletin report, feedback forms).

An import is all or nothing and keyed by the file's content and line: importing it again adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from content_calendar.plan import month_bounds
from pipeline.context import AppContext
from pipeline.errors import Invalid
from pipeline.ports import MetricsRepository
from pipeline.records import MetricPoint
from pipeline.reporting.imports import BUILT_IN, METRICS, Mapping, load_mapping, read_feedback, read_import
from pipeline.services.actor import Actor

FORMATS = (*BUILT_IN, "feedback")  # or a mapping .yaml file


@dataclass(frozen=True)
class MetricsImported:
    added: int
    read: int

    @property
    def already_imported(self) -> int:
        return self.read - self.added


class MetricsService:
    def __init__(self, metrics: MetricsRepository) -> None:
        self.metrics = metrics

    @classmethod
    def of(cls, ctx: AppContext) -> MetricsService:
        return cls(ctx.repos.metrics)

    def add(
        self,
        actor: Actor,
        *,
        objective: str,
        metric: str,
        value: float,
        month: str,
        channel: str = "",
        audience: str = "",
    ) -> MetricPoint:
        """One figure entered by hand, dated the last day of its month."""
        if value < 0:
            raise Invalid("a value cannot be negative")
        if metric not in METRICS:
            raise Invalid(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")
        _first, last = month_bounds(month)
        point = MetricPoint(
            day=last,
            metric=metric,
            value=value,
            source="by hand",
            channel=channel,
            audience=audience,
            objective=objective,
        )
        self.metrics.add([point])
        return point

    def import_file(
        self,
        actor: Actor,
        path: Path,
        fmt: str = "generic",
        *,
        objective: str = "",
        audience: str = "",
        month: str | None = None,
    ) -> MetricsImported:
        """`fmt`: a built-in export format, "feedback" (event feedback forms), or a mapping .yaml file."""
        if fmt == "feedback":
            points = read_feedback(path, objective=objective or "1", month=month)
        else:
            points = read_import(path, _mapping(fmt), objective=objective, audience=audience, month=month)
        return MetricsImported(self.metrics.add(points), len(points))


def _mapping(fmt: str) -> Mapping:
    if fmt.endswith((".yaml", ".yml")):
        return load_mapping(Path(fmt))
    if fmt not in BUILT_IN:
        raise Invalid(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}, or a mapping .yaml file")
    return BUILT_IN[fmt]
