"""The dispatcher's two queue jobs (`pipeline.queue`): plan an item's batches, then send one batch.

Planning reads the item's whole recipient list once, makes its delivery rows (in a stable order, by
id) and names each batch of `Dispatcher.batch` rows by its number and the ids of its first and last row.
A batch job then reads only its own slice: those delivery rows (keyset: ids first..last) and those
recipients' subscriber rows, so an item of 10,000 recipients is read once, not once per batch; it
brings only its own rows up to the ledger, and asks whether any row of the item is still pending (one
row read) before settling it. Which job sends a recipient never decides whether it is sent: the ledger
claim does, so a slice read twice, or a row in no slice, is sent once (a row in no slice is found by
the item's next planning job).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pipeline.jobs.dispatch import Dispatcher
from pipeline.records import Outcome


@dataclass(frozen=True)
class BatchPlan:
    """One batch of an item: its number in the stable order, and the ids of its first and last row."""

    number: int
    first_id: int
    last_id: int


def plan_batches(d: Dispatcher, item_id: int, now: datetime) -> tuple[Outcome, list[BatchPlan]]:
    """The item's decision at `now`, carried out unless it is to send; to send: its batches that hold a
    recipient still to send (each becomes a job). With none left, the item settles."""
    try:
        strategy = d.repos.calendar.strategy()
        if strategy is None:
            return Outcome(failures=("no plan imported yet",)), []
        counts: dict[str, int] = {"missed": 0, "held": 0}
        failures: list[str] = []
        for decision in d._decisions(strategy, now, item_id):
            if not d._act(decision, now, counts, failures):
                continue
            prepared = d.prepare(decision.item, strategy, failures, now)
            if prepared is None:
                break
            numbers = prepared.batches(d.batch, now)
            if not numbers:
                d.finish_item(decision.item, now)
            rows = prepared.deliveries
            plans = [
                BatchPlan(n, rows[n * d.batch].id, rows[min((n + 1) * d.batch, len(rows)) - 1].id) for n in numbers
            ]
            return Outcome(counts, tuple(failures)), plans
        return Outcome(counts, tuple(failures)), []
    finally:
        d.close()


def send_batch(d: Dispatcher, item_id: int, number: int, now: datetime, ids: tuple[int, int] | None) -> Outcome:
    """Send one batch of an item: only while the item is still to be sent at `now`. With `ids`, only the
    batch's slice is read; without (a job deferred before batches carried their ids), the whole list."""
    try:
        strategy = d.repos.calendar.strategy()
        decisions = d._decisions(strategy, now, item_id) if strategy is not None else []
        if strategy is None or not decisions or decisions[0].action != "send":
            return Outcome()  # held, missed or refused: the item's next planning job says so
        item, failures = decisions[0].item, list[str]()
        if ids is None:
            prepared = d.prepare(item, strategy, failures, now, ensure=False)
        else:
            prepared, number = d.prepare_slice(item, strategy, failures, now, ids), 0
        if prepared is None:
            return Outcome(failures=tuple(failures))
        counts = d.send_slice(prepared, number, now, failures)
        mine = [r.recipient for r in prepared.deliveries] if ids is not None else None
        d.finish_item(item, now, mine)
        return Outcome({k: counts.get(k, 0) for k in ("sent", "failed")}, tuple(failures))
    finally:
        d.close()
