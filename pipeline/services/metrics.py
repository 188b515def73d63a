"""Reach figures: one by hand, or a file of them (an analytics export, a bulletin report, feedback forms),
and listing, correcting and removing them one by one.

- A figure by hand is one figure per (month, objective, metric, channel, audience): entering it again
  replaces it, unless `add=True` asks to add to it.
- An import is all or nothing, and replaces what an earlier import of the same file added (the same
  content, or the same file name over any of the same months), whatever format it was read with.
- Every objective, audience and channel code is checked against the imported strategy.
- Every change is written to the audit log (`metrics.added`, `.corrected`, `.removed`, `.imported`) in
  the same transaction, with who made it. Changes need `Permission.PLAN`; listing needs `VIEW`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

from content_calendar.models import Strategy
from content_calendar.plan import month_bounds
from pipeline.context import AppContext
from pipeline.errors import Invalid, NotFound
from pipeline.ports import CalendarRepository, MetricsRepository
from pipeline.progress import SILENT, Progress
from pipeline.records import (
    HAND,
    LINK_CLICKS,
    MEASURED,
    PIPELINE,
    Audited,
    Figure,
    FigureChange,
    ImportReplaced,
    MetricImport,
    MetricPoint,
)
from pipeline.reporting.imports import (
    BUILT_IN,
    METRICS,
    Codes,
    Mapping,
    file_digest,
    load_mapping,
    read_feedback,
    read_import,
)
from pipeline.reporting.report import MEAN_METRICS
from pipeline.services.actor import Actor
from pipeline.services.audit import audited
from pipeline.services.permissions import Permission, require

FORMATS = (*BUILT_IN, "feedback")  # or a mapping .yaml file
FEEDBACK_METRICS = ("knowledge_uplift", "opinion_uplift")


class _Read(NamedTuple):
    digest: str
    points: list[MetricPoint]
    options: str


@dataclass(frozen=True)
class MetricsPreview:
    """What an import of a file would do: the figures it would add, and the earlier imports of the same
    file whose figures it would replace."""

    name: str
    points: tuple[MetricPoint, ...]
    replaces: tuple[MetricImport, ...]
    options: str

    @property
    def months(self) -> tuple[str, ...]:
        return tuple(sorted({f"{p.day:%Y-%m}" for p in self.points}))

    @property
    def replaced_figures(self) -> int:
        return sum(i.rows for i in self.replaces)


@dataclass(frozen=True)
class MetricsImported:
    name: str
    figures: int
    replaced: ImportReplaced

    @property
    def import_id(self) -> int:
        return self.replaced.done.id


def describe(f: Figure) -> str:
    """A figure as a person reads it: 'objective 5 referrals, 2026-11 (by hand)'."""
    where = ", ".join(x for x in (f.channel, f.audience) if x)
    return (
        f"{'objective ' + f.objective if f.objective else 'no objective'} {f.metric}"
        f"{' [' + where + ']' if where else ''}, {f.month} ({f.source})"
    )


def _hand_key(month: str, objective: str, metric: str, channel: str, audience: str) -> str:
    return f"hand:{month}:{objective}:{metric}:{channel}:{audience}"


def _bounds(month: str) -> tuple[date, date]:
    try:
        return month_bounds(month)
    except ValueError as exc:
        raise Invalid(f"month: {exc}") from None


def _value(metric: str, value: float) -> None:
    if value < 0:
        raise Invalid("a value cannot be negative")
    if metric in MEAN_METRICS and value > 1:
        raise Invalid(f"{metric} is a share of respondents, from 0 to 1 (0.6 is 60%), not {value:g}")


class MetricsService:
    progress: Progress = SILENT  # an import's steps (read, saved), drawn by the command line on a terminal

    def __init__(self, metrics: MetricsRepository, calendar: CalendarRepository) -> None:
        self.metrics, self.calendar = metrics, calendar

    @classmethod
    def of(cls, ctx: AppContext) -> MetricsService:
        service = cls(ctx.repos.metrics, ctx.repos.calendar)
        service.progress = ctx.progress
        return service

    def strategy(self) -> Strategy:
        found = self.calendar.strategy()
        if found is None:
            raise NotFound("no plan imported yet: run `comms calendar import` first, so codes can be checked")
        return found

    def _codes(self, *, objective: str = "", audience: str = "", channel: str = "", prefix: str = "") -> Codes:
        codes = Codes.of(self.strategy())
        wrong = codes.problems(objective=objective, audience=audience, channel=channel)
        if wrong:
            raise Invalid("; ".join(f"{prefix}{field}: {message}" for field, message in wrong))
        return codes

    # by hand --------------------------------------------------------------------------------
    def add(
        self,
        actor: Actor,
        *,
        objective: str,
        metric: str,
        value: float,
        month: str,
        now: datetime,
        channel: str = "",
        audience: str = "",
        add: bool = False,
    ) -> FigureChange:
        """One figure entered by hand, dated the last day of its month. It replaces the figure already
        entered for the same month, objective, metric, channel and audience; with `add`, it is added to it."""
        require(actor, Permission.PLAN)
        if metric not in METRICS:
            raise Invalid(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")
        _value(metric, value)
        if add and metric in MEAN_METRICS:
            raise Invalid(f"{metric} is a share, not a count: adding two shares means nothing; enter the new value")
        _first, last = _bounds(month)
        if not objective:
            raise Invalid("objective: a figure by hand needs the objective it counts towards")
        self._codes(objective=objective, audience=audience, channel=channel)
        point = MetricPoint(last, metric, value, HAND, channel=channel, audience=audience, objective=objective)
        key = _hand_key(f"{last:%Y-%m}", objective, metric, channel, audience)

        def record(change: FigureChange) -> Audited:
            was = change.previous
            how = "new" if was is None else f"was {was:g}; {'added to' if add else 'replaced'}"
            merged = f"; {change.merged + 1} rows made one" if change.merged else ""
            return audited(
                actor,
                "metrics.added",
                now,
                f"metric:{change.figure.id}",
                f"{describe(change.figure)} = {change.figure.value:g} ({how}{merged})",
            )

        return self.metrics.put(point, key=key, add=add, at=now, by=actor.name, audit=record)

    # one figure by id -----------------------------------------------------------------------
    def list(
        self,
        actor: Actor,
        *,
        month: str | None = None,
        objective: str | None = None,
        metric: str | None = None,
        source: str | None = None,
        limit: int | None = None,
    ) -> list[Figure]:
        """Figures by day then id; the first `limit` of them (a page lists a few hundred, not a month of
        analytics rows)."""
        require(actor, Permission.VIEW)
        first: date | None = None
        last: date | None = None
        if month:
            first, last = _bounds(month)
        if metric is not None and metric not in METRICS:
            raise Invalid(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")
        return self.metrics.figures(
            first=first, last=last, objective=objective, metric=metric, source=source, limit=limit
        )

    def get(self, actor: Actor, figure_id: int) -> Figure:
        require(actor, Permission.VIEW)
        found = self.metrics.figure(figure_id)
        if found is None:
            raise NotFound(f"no figure #{figure_id}")
        return found

    @staticmethod
    def changeable(figure: Figure) -> bool:
        """A person may correct or remove it: every figure but the pipeline's own counts of its sends."""
        return figure.source != PIPELINE

    def _changeable(self, figure_id: int) -> Figure:
        found = self.metrics.figure(figure_id)
        if found is None:
            raise NotFound(f"no figure #{figure_id}: `comms metrics list` shows their ids")
        if found.source == PIPELINE:
            raise Invalid(
                f"figure #{figure_id} is the pipeline's own count of its sends, made from the delivery records; "
                "it cannot be changed by hand"
            )
        if found.source in (MEASURED, LINK_CLICKS):
            raise Invalid(
                f"figure #{figure_id} is {found.channel or 'a channel'}'s own count ({found.source}); the next pull "
                "or click would put it back: it cannot be changed by hand (enter a figure by hand beside it instead)"
            )
        return found

    def correct(self, actor: Actor, figure_id: int, value: float, now: datetime) -> FigureChange:
        """Set a new value for one figure, by its id."""
        require(actor, Permission.PLAN)
        _value(self._changeable(figure_id).metric, value)

        def record(change: FigureChange) -> Audited:
            return audited(
                actor,
                "metrics.corrected",
                now,
                f"metric:{figure_id}",
                f"{describe(change.figure)}: {change.previous:g} -> {change.figure.value:g}",
            )

        return self.metrics.correct(figure_id, value, at=now, by=actor.name, audit=record)

    def remove(self, actor: Actor, figure_id: int, now: datetime) -> FigureChange:
        require(actor, Permission.PLAN)
        self._changeable(figure_id)

        def record(change: FigureChange) -> Audited:
            return audited(
                actor,
                "metrics.removed",
                now,
                f"metric:{figure_id}",
                f"{describe(change.figure)} = {change.figure.value:g}",
            )

        return self.metrics.remove(figure_id, audit=record)

    # a file ---------------------------------------------------------------------------------
    def _read(self, path: Path, fmt: str, objective: str, audience: str, channel: str, month: str | None) -> _Read:
        """The file's figures as an import would store them, and the options it is recorded with."""
        digest = file_digest(path)  # a missing or unreadable file is named first
        mapping = None if fmt == "feedback" else _mapping(fmt)
        codes = self._codes(objective=objective, audience=audience, channel=channel, prefix="--")
        if mapping is None:
            objective = objective or self._feedback_objective()
            points = read_feedback(path, objective=objective, month=month, channel=channel, audience=audience)
        else:
            points = read_import(
                path, mapping, objective=objective, audience=audience, channel=channel, month=month, codes=codes
            )
        options = " ".join(
            f"{k}={v}" for k, v in (("format", fmt), ("objective", objective), ("audience", audience),
                                    ("channel", channel)) if v
        )  # fmt: skip
        return _Read(digest, points, options)

    def preview_import(
        self,
        actor: Actor,
        path: Path,
        fmt: str = "generic",
        *,
        objective: str = "",
        audience: str = "",
        channel: str = "",
        month: str | None = None,
    ) -> MetricsPreview:
        """What `import_file` would add and replace, read and checked the same way, storing nothing."""
        require(actor, Permission.PLAN)
        read = self._read(path, fmt, objective, audience, channel, month)
        months = {f"{p.day:%Y-%m}" for p in read.points}
        replaces = tuple(
            i
            for i in self.metrics.imports()
            if i.content_hash == read.digest or (i.name == path.name and months & set(i.months))
        )
        return MetricsPreview(path.name, tuple(read.points), replaces, read.options)

    def import_file(
        self,
        actor: Actor,
        path: Path,
        fmt: str = "generic",
        *,
        now: datetime,
        objective: str = "",
        audience: str = "",
        channel: str = "",
        month: str | None = None,
    ) -> MetricsImported:
        """`fmt`: a built-in export format, "feedback" (event feedback forms), or a mapping .yaml file.
        Replaces what an earlier import of the same file added."""
        require(actor, Permission.PLAN)
        self.progress(f"importing {path.name}", 0, 2)
        digest, points, options = self._read(path, fmt, objective, audience, channel, month)

        def record(done: ImportReplaced) -> Audited:
            replaced = "; ".join(
                f"replaced import #{r.id} ({r.options or 'no options'}, {r.rows} figures, by {r.imported_by})"
                for r in done.replaced
            )
            if done.removed and not done.replaced:
                replaced = f"replaced {done.removed} figures imported before imports were recorded"
            return audited(
                actor,
                "metrics.imported",
                now,
                f"metrics-import:{done.done.id}",
                f"{path.name} ({options}): {len(points)} figures over {', '.join(done.done.months) or 'no month'}"
                + (f"; {replaced}" if replaced else "")
                + ("; the figures are the same as before" if done.same else ""),
            )

        self.progress(f"importing {path.name}", 1, 2)
        result = self.metrics.replace_import(
            name=path.name,
            content_hash=digest,
            options=options,
            points=points,
            at=now,
            by=actor.name,
            audit=record,
        )
        self.progress(f"importing {path.name}", 2, 2)
        return MetricsImported(path.name, len(points), result)

    def _feedback_objective(self) -> str:
        """Feedback forms measure understanding of Prevent: the one objective with an uplift target."""
        found = [o.code for o in self.strategy().objectives if any(m in FEEDBACK_METRICS for m, _ in o.targets)]
        if len(found) != 1:
            raise Invalid(
                "--objective: name the objective the event served (the strategy has "
                f"{'no' if not found else len(found)} objectives with an uplift target)"
            )
        return found[0]


def _mapping(fmt: str) -> Mapping:
    if fmt.endswith((".yaml", ".yml")):
        return load_mapping(Path(fmt))
    if fmt not in BUILT_IN:
        raise Invalid(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}, or a mapping .yaml file")
    return BUILT_IN[fmt]
