"""comms users add | list | role | password | deactivate | activate

The accounts of the web workspace, and the names `--by` accepts. Whoever runs these holds the database,
so they need no account themselves: this is how the first admin is made.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from pipeline.cli import common
from pipeline.errors import Invalid
from pipeline.services.actor import Role
from pipeline.services.users import UserService, new_password

ROLES = [r.value for r in Role]


def add(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    users = commands.add_parser("users", help="the team's accounts: add, list, role, password, deactivate")
    sub = users.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = sub.add_parser("add", help="add a local account (prints a new password unless you give one)")
    new.add_argument("email")
    new.add_argument("--role", required=True, choices=ROLES, help="viewer, author, approver or admin")
    new.add_argument("--name", default="", help="their name, as the workspace shows it")
    new.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    new.add_argument("--sso", action="store_true", help="no password: they sign in through single sign-on")
    new.set_defaults(func=cmd_add)
    ls = sub.add_parser("list", help="every account, its role and when it last signed in")
    ls.set_defaults(func=cmd_list)
    role = sub.add_parser("role", help="change an account's role")
    role.add_argument("email")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(func=cmd_role)
    password = sub.add_parser("password", help="set a new password (prints one unless you give one)")
    password.add_argument("email")
    password.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    password.set_defaults(func=cmd_password)
    for name, active in (("deactivate", False), ("activate", True)):
        p = sub.add_parser(name, help=f"{name} an account (it is kept, with its history)")
        p.add_argument("email")
        p.set_defaults(func=cmd_active, active=active)


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password given on standard input or typed at a prompt, else a new random one (shown once)."""
    if args.password_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise Invalid("--password-stdin: standard input held no password")
        return value, False
    if sys.stdin.isatty():
        first = getpass.getpass("Password (at least 12 characters; empty for a random one): ")
        if not first:
            return new_password(), True
        if getpass.getpass("The same password again: ") != first:
            raise Invalid("the two passwords were not the same; nothing was changed")
        return first, False
    return new_password(), True


def cmd_add(args: argparse.Namespace) -> int:
    service = UserService.of(common.pipeline(args))
    password, shown = (None, False) if args.sso else _password(args)
    user = service.add(common.actor(args), args.email, args.role, common.now(), name=args.name, password=password)
    print(f"added {user.email} as {user.role}")
    if shown:
        print(f"password: {password}\n(shown once: pass it on privately; they can change it once signed in)")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    p = common.pipeline(args)
    users = UserService.of(p).list_users(common.actor(args))
    print(f"{'EMAIL':40} {'ROLE':9} {'SIGN-IN':6} {'ACTIVE':6} LAST SIGNED IN")
    for u in users:
        how, active, last = "local" if u.has_password else "sso", "yes" if u.active else "no", u.last_signin_at
        print(f"{u.email:40} {u.role:9} {how:6} {active:6} {common.local(last, p.settings.tz)}")
    print(f"{len(users)} account(s)")
    return 0


def cmd_role(args: argparse.Namespace) -> int:
    user = UserService.of(common.pipeline(args)).set_role(common.actor(args), args.email, args.role, common.now())
    print(f"{user.email} is now {user.role}")
    return 0


def cmd_password(args: argparse.Namespace) -> int:
    password, shown = _password(args)
    user = UserService.of(common.pipeline(args)).set_password(common.actor(args), args.email, password, common.now())
    print(f"password set for {user.email}" + (f": {password}\n(shown once)" if shown else ""))
    return 0


def cmd_active(args: argparse.Namespace) -> int:
    service = UserService.of(common.pipeline(args))
    user = service.set_active(common.actor(args), args.email, args.active, common.now())
    print(f"{user.email} is {'active' if user.active else 'deactivated'}")
    return 0
