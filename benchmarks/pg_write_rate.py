"""PostgreSQL's write rate for the dispatcher's own statements, alone (no SMTP, no rendering): the
ceiling the database puts on sending, for the national model in `benchmarks/RESULTS.md`.

    python -m benchmarks.pg_write_rate [--keys 20000] [--writers 1 2 4 8] [--preload 0]

On a fresh schema of the local PostgreSQL, with the project's own store code:
- **finish** (the per-email hot path): W processes, each marking its share of `--keys` claimed send
  keys done with `LedgerStore.finish_fast`, one committed UPDATE each; commits/s for W = 1, 2, 4, 8.
- **claim** (per batch): `LedgerStore.claim_many` on `--keys` new keys, 500 a transaction: keys/s. Each
  round claims on a ledger that the earlier rounds grew and churned (claimed, then finished).
- **deliveries** (per item): `OutboxStore.ensure_deliveries` for `--keys` recipients: rows/s.
- **size**: bytes per ledger row and per delivery row, tables with their indexes (`pg_total_relation_size`).

`--preload N` first fills the ledger with N finished send keys (one INSERT … SELECT, as a ledger holding
months of sends would), so the claims and finishes are measured against a ledger of that size.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from benchmarks.queue_bench import environment, prepare
from pipeline.storage.ledger import LedgerStore
from tests.conftest import PG_URL


def _finish(url: str, keys: list[str], start: Any, out: Any) -> None:
    ledger = LedgerStore(create_engine(url))
    now = datetime.now(UTC)
    start.wait()
    began = time.perf_counter()
    for key in keys:
        ledger.finish_fast(key, now, detail="<mid@example.org>")
    out.put(time.perf_counter() - began)
    ledger.close()


def finish_rate(url: str, keys: list[str], writers: int) -> float:
    """Commits a second, `writers` processes finishing their share of `keys` at once."""
    start, out = multiprocessing.Event(), multiprocessing.Queue()
    shares = [keys[i::writers] for i in range(writers)]
    procs = [multiprocessing.Process(target=_finish, args=(url, share, start, out)) for share in shares]
    for proc in procs:
        proc.start()
    time.sleep(1.0)  # connected and waiting
    began = time.perf_counter()
    start.set()
    for proc in procs:
        proc.join()
    wall = time.perf_counter() - began
    return len(keys) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=20_000)
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--preload", type=int, default=0, help="finished keys in the ledger before the rounds")
    args = parser.parse_args()
    schema = f"wrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        p, item_id = prepare(environment(url, 25, Path("/tmp/wrate")), 1)
        with p.repos.engine.connect() as conn:  # with it off, nothing is analysed or vacuumed as the ledger grows
            print(f"server: autovacuum {conn.execute(text('SHOW autovacuum')).scalar_one()}", flush=True)
        ledger, now = LedgerStore(p.repos.engine), datetime.now(UTC)
        if args.preload:
            began = time.perf_counter()
            with p.repos.engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO ledger (key, kind, state, started_at, finished_at, detail) "
                        "SELECT 'send:old:' || (g / 25000) || '\\:r' || g || '@residents.example.org', 'send', 'done', "
                        "now(), now(), '<mid@example.org>' FROM generate_series(1, :n) g"
                    ),
                    {"n": args.preload},
                )
            print(f"preload: {args.preload:,} finished keys in {time.perf_counter() - began:.1f} s", flush=True)
        rows = [(f"r{i}@residents.example.org", "residents") for i in range(args.keys)]
        began = time.perf_counter()
        p.repos.outbox.ensure_deliveries(item_id, rows)
        print(f"deliveries: {args.keys:,} rows in {time.perf_counter() - began:.2f} s, "
              f"{args.keys / (time.perf_counter() - began):,.0f} rows/s", flush=True)  # fmt: skip
        for round_, writers in enumerate(args.writers):
            keys = [f"send:round{round_}:{item_id}:{r}" for r, _a in rows]  # new keys each round
            began = time.perf_counter()
            ledger.claim_many(keys, "send", now)
            claimed = time.perf_counter() - began
            rate = finish_rate(url, keys, writers)
            print(f"claim: {len(keys):,} keys in {claimed:.2f} s, {len(keys) / claimed:,.0f} keys/s; "
                  f"finish with {writers} writer(s): {rate:,.0f} commits/s", flush=True)  # fmt: skip
        with p.repos.engine.connect() as conn:
            for table in ("ledger", "deliveries"):
                size = conn.execute(text(f"SELECT pg_total_relation_size('{table}')")).scalar_one()
                count = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                print(f"size: {table} {count:,} rows, {size / 1e6:.1f} MB with indexes, {size / count:.0f} bytes a row")
        p.close()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()
