"""python -m benchmarks [--quick] [--only NAME] [--json PATH]

Each group of workloads runs in its own process, so that each peak-memory figure is that group's own.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import county, web
from benchmarks.runner import Result, machine, measure, table, write_json
from benchmarks.workloads import ALL, temp_dir


def _child(name: str, quick: bool, out: Path) -> None:
    logging.disable(logging.WARNING)
    tmp = temp_dir()
    try:
        if name in ("county", "web"):
            write_json((county if name == "county" else web).results(quick), out, quick)
            return
        results = []
        for workload in ALL[name](quick, tmp):
            print(f"running {workload.name} ...", file=sys.stderr, flush=True)
            results.append(measure(workload))
        write_json(results, out, quick)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test under a minute")
    groups = [*sorted(ALL), "county", "web"]
    parser.add_argument("--only", action="append", choices=groups, help="run only these groups")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.quick, args.json)
        return 0
    started = time.perf_counter()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.only or [*ALL, "county", "web"]:
            out = Path(scratch) / f"{name}.json"
            command = [sys.executable, "-m", "benchmarks", "--child", name, "--json", str(out)]
            subprocess.run(command + (["--quick"] if args.quick else []), check=True)
            for r in json.loads(out.read_text())["results"]:
                results.append(Result(r["name"], r["items"], r["unit"], r["median_s"], r["baseline_s"],
                                      r["peak_rss_mb"], r["target"], r["met"], r["notes"]))  # fmt: skip
    m = machine()
    print(
        f"machine: {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}; "
        f"{'quick' if args.quick else 'full'} run in {time.perf_counter() - started:.0f} s\n"
    )
    print(table(results))
    if args.json:
        write_json(results, args.json, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
