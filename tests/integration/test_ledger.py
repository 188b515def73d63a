"""The ledger's claims, leases and their recovery, on real SQLite and PostgreSQL, with the wall clock
passed in: a live claim is left to its owner, an expired, released or dead one is recovered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pipeline.storage.ledger import Claim, LedgerStore
from pipeline.storage.store import Repositories

NOW = datetime(2026, 11, 5, 8, tzinfo=UTC)
KEYS = [f"send:x:1:{n}@example.org" for n in range(3)]


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 22, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


def two_processes(store: Repositories) -> tuple[LedgerStore, LedgerStore, Clock]:
    clock = Clock()
    lease = timedelta(minutes=10)
    a = LedgerStore(store.engine, owner="host-a:100:aa", lease=lease, clock=clock)
    b = LedgerStore(store.engine, owner="host-b:200:bb", lease=lease, clock=clock)
    return a, b, clock


def test_a_live_claim_is_left_to_its_owner_until_its_lease_runs_out(store: Repositories) -> None:
    a, b, clock = two_processes(store)
    assert set(a.claim_many(KEYS, "send", NOW).values()) == {Claim.NEW}
    assert set(b.claim_many(KEYS, "send", NOW).values()) == {Claim.BUSY}
    clock.at += timedelta(minutes=9)
    assert set(b.claim_many(KEYS, "send", NOW).values()) == {Claim.BUSY}
    clock.at += timedelta(minutes=2)  # a's lease has run out: a stalled or died on its host
    assert set(b.claim_many(KEYS, "send", NOW).values()) == {Claim.RECOVERED}, "told it may have landed"
    assert a.renew(KEYS) == set(), "a, back from its stall, holds nothing and sends nothing"
    assert set(a.claim_many(KEYS, "send", NOW).values()) == {Claim.BUSY}


def test_renewing_keeps_a_claim_and_a_finished_one_is_done_for_everyone(store: Repositories) -> None:
    a, b, clock = two_processes(store)
    a.claim_many(KEYS, "send", NOW)
    clock.at += timedelta(minutes=8)
    assert a.renew(KEYS) == set(KEYS)
    clock.at += timedelta(minutes=8)  # 16 minutes after the claim, 8 after the renewal
    assert set(b.claim_many(KEYS, "send", NOW).values()) == {Claim.BUSY}
    a.finish_fast(KEYS[0], NOW, detail="<id@example.org>")
    a.finish(KEYS[1], NOW, ok=False, detail="refused")
    states = b.claim_many(KEYS, "send", NOW)
    assert states == {KEYS[0]: Claim.DONE, KEYS[1]: Claim.FAILED, KEYS[2]: Claim.BUSY}
    assert b.claim(KEYS[1], "send", NOW, retry_failed=True) == Claim.RECOVERED, "only when asked to retry"


def test_a_released_claim_is_recovered_at_once_but_only_its_owner_releases_it(store: Repositories) -> None:
    a, b, _clock = two_processes(store)
    a.claim_many(KEYS, "send", NOW)
    b.release(KEYS)  # not b's to give
    assert set(b.claim_many(KEYS, "send", NOW).values()) == {Claim.BUSY}
    a.release(KEYS[:1])
    states = b.claim_many(KEYS, "send", NOW)
    assert states[KEYS[0]] == Claim.RECOVERED and states[KEYS[1]] == Claim.BUSY


def test_a_dead_process_on_this_host_is_recovered_without_waiting(store: Repositories) -> None:
    import socket
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = LedgerStore(store.engine, owner=f"{socket.gethostname()}:{int(gone.stdout)}:dd")
    alive = LedgerStore(store.engine)
    dead.claim_many(KEYS, "send", NOW)
    assert set(alive.claim_many(KEYS, "send", NOW).values()) == {Claim.RECOVERED}
    elsewhere = LedgerStore(store.engine, owner=f"another-host:{int(gone.stdout)}:ee")
    other = ["send:x:2:a@example.org"]
    elsewhere.claim_many(other, "send", NOW)
    assert alive.claim_many(other, "send", NOW) == {other[0]: Claim.BUSY}, "another host's pid says nothing"


def test_a_send_key_holds_the_longest_address(store: Repositories) -> None:
    """An address may be 254 characters; its send key must fit on PostgreSQL too (it was cut at 300)."""
    address = "a" * 64 + "@" + "b" * 185 + ".org"
    assert len(address) == 254
    key = f"send:stronger-together-partner-newsletter:2147483647:{address}"
    assert store.ledger.claim_many([key], "send", NOW) == {key: Claim.NEW}


def test_a_failed_statement_carries_no_values(store: Repositories) -> None:
    """A database error names the statement, never its values: other recipients' addresses stay out."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError) as caught, store.engine.begin() as conn:
        conn.execute(text("insert into ledger (key, kind, state, started_at) values (:k, :k, :k, :k)"), {"k": None})
    assert "[parameters:" not in str(caught.value) and "parameters hidden" in str(caught.value)


def test_a_postgres_clock_whose_connection_dropped_knows_it_lost_the_lock(store: Repositories) -> None:
    """The clock's lock beside the claims: on PostgreSQL it is the session's advisory lock, so a clock
    whose session ended (and was silently reconnected) must stop; on SQLite its heartbeat row holds."""
    from datetime import timedelta as span

    from pipeline.clock.lock import ClockLock

    lock = ClockLock(store, span(seconds=120))
    lock.acquire()
    try:
        assert lock.heartbeat()
        if store.is_postgres:
            assert lock._conn is not None
            lock._conn.invalidate()  # as if the server or the network had dropped it
            assert not lock.heartbeat()
    finally:
        lock.release()


def _statements(store: Repositories, run: Callable[[], object]) -> list[str]:
    """The SELECT, INSERT and UPDATE statements `run` sends, as the server receives them."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in ("SELECT", "INSERT", "UPDATE"):
            seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    return seen


def test_a_chunk_of_claims_is_one_read_and_one_upsert(store: Repositories) -> None:
    """500 keys, new or taken over, are claimed in two statements; on PostgreSQL the statements are the
    same whatever the number of keys (one array), so the server never keeps a plan that compares
    every row with 500 separate values (which slowed claims 50-fold on a churned ledger)."""
    a, b, clock = two_processes(store)
    many = [f"send:x:3:{n}@example.org" for n in range(500)]
    claimed: dict[str, Claim] = {}
    sent = _statements(store, lambda: claimed.update(a.claim_many(many, "send", NOW)))
    assert set(claimed.values()) == {Claim.NEW} and len(sent) == 2, sent
    clock.at += timedelta(minutes=11)
    sent = _statements(store, lambda: claimed.update(b.claim_many(many, "send", NOW)))
    assert set(claimed.values()) == {Claim.RECOVERED} and len(sent) == 2
    if store.is_postgres:
        few = _statements(store, lambda: a.claim_many(KEYS, "send", NOW))
        assert few == sent, "the statement text does not grow with the keys"


def test_a_key_another_process_claims_between_the_read_and_the_upsert_is_busy_or_recovered(
    store: Repositories,
) -> None:
    """PostgreSQL reads committed rows: between a claimant's read and its upsert another process may make
    the key. Held by that process, it is busy; already released by it, it is recovered (that attempt
    may have landed), never new. On SQLite BEGIN IMMEDIATE shuts the other process out."""
    import pytest
    from sqlalchemy import event

    if not store.is_postgres:
        pytest.skip("SQLite's BEGIN IMMEDIATE leaves no moment between the read and the upsert")
    a, b, _clock = two_processes(store)
    held, given_up = "send:x:4:held@example.org", "send:x:4:released@example.org"

    done: list[bool] = []

    def meanwhile(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("INSERT INTO ledger") and not done:
            done.append(True)  # b's own upsert passes through here too
            b.claim_many([held, given_up], "send", NOW)
            b.release([given_up])

    event.listen(store.engine, "before_cursor_execute", meanwhile)
    try:
        assert a.claim_many([held, given_up], "send", NOW) == {held: Claim.BUSY, given_up: Claim.RECOVERED}
    finally:
        event.remove(store.engine, "before_cursor_execute", meanwhile)
    assert done, "the other process did claim in between"


def test_claims_beside_a_holders_renewals_and_releases_never_deadlock(store: Repositories) -> None:
    """Another process asking for keys a process holds (a doubled wake-up, a second dispatcher) is told
    they are busy without locking them: its claim never crosses the holder's renewals and releases,
    which lock the same rows in another order. When the upsert locked every row it met, PostgreSQL broke
    a deadlock in 5 to 36 of 40 such rounds, aborting the holder's release or renewal."""
    import random
    import threading

    import pytest

    if not store.is_postgres:
        pytest.skip("SQLite's BEGIN IMMEDIATE runs one writer at a time: nothing to deadlock")
    a, b, _clock = two_processes(store)
    rng = random.Random(5)
    keys = [f"send:x:5:{rng.getrandbits(40):010x}@example.org" for _n in range(500)]  # not in the index's order
    shuffled = random.Random(1).sample(keys, len(keys))
    done = [f"send:x:6:{rng.getrandbits(40):010x}@example.org" for _n in range(500)]
    a.claim_many(done, "send", NOW)
    for key in done:
        a.finish(key, NOW)
    failures: list[str] = []

    def at_once(*work: Callable[[], object]) -> None:
        go = threading.Barrier(len(work))

        def run(job: Callable[[], object]) -> None:
            go.wait()
            try:
                job()
            except Exception as exc:  # a deadlock is what this test looks for
                failures.append(type(exc).__name__ + ": " + str(exc).splitlines()[0])

        threads = [threading.Thread(target=run, args=(job,)) for job in work]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    for _round in range(20):
        a.claim_many(keys, "send", NOW)
        at_once(lambda: a.renew(keys), lambda: b.claim_many(shuffled, "send", NOW))
        at_once(lambda: a.release(keys), lambda: b.claim_many(shuffled, "send", NOW))
        b.release(keys)
        at_once(lambda: a.claim_many(done, "send", NOW), lambda: b.claim_many(done[::-1], "send", NOW))
    assert failures == []
