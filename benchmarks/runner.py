"""The benchmark runner: each workload timed beside its baseline, interleaved, over several repetitions.

A figure is only worth quoting as a ratio against a baseline timed in the same run on the same
machine: these machines are shared and noisy.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Workload:
    name: str
    items: int  # what throughput counts: entries, feeds, recipients, emails, rows
    unit: str
    run: Callable[[], Any]
    baseline: Callable[[], Any] | None = None
    baseline_name: str = ""
    target: str = ""  # in words, e.g. "ratio <= 1.3"
    check: Callable[[float, float | None], bool] | None = None  # (median seconds, ratio) -> met?
    repeat: int = 5
    notes: list[str] = field(default_factory=list)
    cleanup: Callable[[], None] | None = None
    before_each: Callable[[], None] | None = None  # reset state that a run consumes (not timed)
    before_baseline: Callable[[], None] | None = None


@dataclass
class Result:
    name: str
    items: int
    unit: str
    median_s: float
    baseline_s: float | None
    peak_rss_mb: float
    target: str
    met: bool | None
    notes: list[str]

    @property
    def ratio(self) -> float | None:
        return None if not self.baseline_s else self.median_s / self.baseline_s

    @property
    def throughput(self) -> float:
        return self.items / self.median_s if self.median_s else 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn: Callable[[], Any], before: Callable[[], None] | None) -> float:
    if before:
        before()
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(w: Workload) -> Result:
    ours: list[float] = []
    base: list[float] = []
    for i in range(w.repeat):
        order = [("ours", w.run), ("base", w.baseline)] if i % 2 == 0 else [("base", w.baseline), ("ours", w.run)]
        for which, fn in order:
            if fn is None:
                continue
            before = w.before_each if which == "ours" else w.before_baseline
            (ours if which == "ours" else base).append(_timed(fn, before))
    median = statistics.median(ours)
    base_median = statistics.median(base) if base else None
    ratio = median / base_median if base_median else None
    met = w.check(median, ratio) if w.check else None
    if w.cleanup:
        w.cleanup()
    return Result(w.name, w.items, w.unit, median, base_median, peak_rss_mb(), w.target, met, w.notes)


def machine() -> dict[str, Any]:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def table(results: list[Result]) -> str:
    head = (
        f"{'workload':22} {'items':>9} {'median':>10} {'throughput':>16} {'baseline':>10} {'ratio':>7} "
        f"{'peak RSS':>9}  target"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        base = f"{r.baseline_s:.3f}s" if r.baseline_s else "-"
        verdict = "" if r.met is None else (" ✓" if r.met else " ✗ missed")
        lines.append(
            f"{r.name:22} {r.items:>9,} {r.median_s:>9.3f}s {r.throughput:>11,.0f} {r.unit:4} {base:>10} "
            f"{ratio:>7} {r.peak_rss_mb:>7.0f}MB  {r.target}{verdict}"
        )
        lines += [f"{'':22} note: {n}" for n in r.notes]
    return "\n".join(lines)


def write_json(results: list[Result], path: Path, quick: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "machine": machine(),
        "quick": quick,
        "results": [
            {
                "name": r.name,
                "items": r.items,
                "unit": r.unit,
                "median_s": r.median_s,
                "baseline_s": r.baseline_s,
                "ratio": r.ratio,
                "throughput": r.throughput,
                "peak_rss_mb": r.peak_rss_mb,
                "target": r.target,
                "met": r.met,
                "notes": r.notes,
            }
            for r in results
        ],
    }
    path.write_text(json.dumps(data, indent=2))
