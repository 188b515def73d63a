"""python -m benchmarks [--quick] [--only NAME] [--json PATH]"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path

from benchmarks.runner import machine, measure, table, write_json
from benchmarks.workloads import ALL, temp_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test under a minute")
    parser.add_argument("--only", action="append", choices=sorted(ALL), help="run only these groups")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    tmp = temp_dir()
    started = time.perf_counter()
    results = []
    try:
        for name in args.only or list(ALL):
            for workload in ALL[name](args.quick, tmp):
                print(f"running {workload.name} ...", file=sys.stderr, flush=True)
                results.append(measure(workload))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
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
