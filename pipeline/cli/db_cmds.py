"""comms db upgrade | status"""

from __future__ import annotations

import argparse

from pipeline.cli import common
from pipeline.context import SchemaState, schema_state, upgrade


def add(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = commands.add_parser("db", help="the database schema: its revision, and bringing it up to date")
    sub = db.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = sub.add_parser("upgrade", help="apply the migrations the database lacks (run before starting workers)")
    up.set_defaults(func=cmd_upgrade)
    status = sub.add_parser("status", help="the schema revision in the database and the newest one")
    status.set_defaults(func=cmd_status)


def _show(state: SchemaState) -> None:
    print(f"database: {state.database}")
    print(f"revision: {state.revision or '(empty)'}   newest: {state.head}")
    if state.queue:
        print(f"queue schema (procrastinate): {state.queue}")


def cmd_upgrade(args: argparse.Namespace) -> int:
    state = upgrade(common.settings(args))
    _show(state)
    print("upgraded" if state.applied or state.queue == "applied" else "already up to date")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    state = schema_state(common.settings(args))
    _show(state)
    print("up to date" if state.up_to_date else "behind: run `comms db upgrade`")
    return 0 if state.up_to_date else 1
