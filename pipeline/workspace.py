"""A team's workspace folder: strategy.yaml, calendar files, feeds.yaml, organisation.yaml,
subscribers.csv, stories/*.md, metrics/ imports and an optional templates/ override folder."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from channels.addresses import ADDRESS_SHAPE, MAX_ADDRESS, address_problem
from content_calendar.errors import CalendarError, Problem
from content_calendar.files import CellError, csv_rows, load_yaml, parse_date, read_text, split_list
from pipeline.records import FeedSpec, Subscriber

FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.S)
DEFAULT_ORG = {
    "name": "Your council",
    "programme": "Prevent",
    "phone": "",
    "contact_email": "prevent@example.org",
    "address": "",
    "website": "https://example.org",
    "act_early_url": "https://actearly.uk",
    "referral_url": "https://actearly.uk",
    "lists": {},
    "resources": [],
    "hashtags": [],
}


@dataclass(frozen=True)
class Story:
    slug: str
    title: str
    day: date
    body_markdown: str
    audiences: tuple[str, ...] = ()
    objectives: tuple[str, ...] = ()
    link: str | None = None
    image: str | None = None
    image_alt: str = ""


@dataclass(frozen=True)
class Workspace:
    root: Path
    organisation: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, root: Path) -> Workspace:
        if not root.is_dir():
            raise CalendarError([Problem(str(root), 0, "workspace", "folder not found; set COMMS_WORKSPACE")])
        org = dict(DEFAULT_ORG)
        path = root / "organisation.yaml"
        if path.exists():
            data = load_yaml(read_text(path)[0]) or {}
            org.update({k: v for k, v in data.items() if k != "__line__"})
        return cls(root, org)

    @property
    def strategy_path(self) -> Path:
        return self.root / "strategy.yaml"

    @property
    def calendar_paths(self) -> list[Path]:
        folder = self.root / "calendar"
        found = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".csv", ".yaml", ".yml"))
        return found or [p for p in (self.root / "calendar.csv", self.root / "calendar.yaml") if p.exists()]

    @property
    def template_dirs(self) -> list[Path]:
        return [self.root / "templates"]

    def feeds(self) -> list[tuple[FeedSpec, str | None]]:
        """Feed specs and, for each, the saved offline copy (a path relative to the workspace) if any."""
        path = self.root / "feeds.yaml"
        if not path.exists():
            return []
        data = load_yaml(read_text(path)[0]) or {}
        problems, out = [], []
        for item in data.get("feeds", []):
            line = item.get("__line__", 0)
            if not item.get("url") or not item.get("name"):
                problems.append(Problem(str(path), line, "feeds", "each feed needs a url and a name"))
                continue
            if not isinstance(item.get("internal", False), bool):
                problems.append(Problem(str(path), line, "internal", "internal is true or false"))
                continue
            spec = FeedSpec(
                url=str(item["url"]),
                name=str(item["name"]),
                interval_minutes=int(item.get("interval_minutes", 60)),
                objectives=split_list(item.get("objectives")),
                audiences=split_list(item.get("audiences")),
                include=split_list(item.get("include")),
                exclude=split_list(item.get("exclude")),
                internal=item.get("internal", False),
            )
            out.append((spec, item.get("offline_copy")))
        if problems:
            raise CalendarError(problems)
        return out

    def stories(self) -> list[Story]:
        out = []
        for path in sorted((self.root / "stories").glob("*.md")):
            text = read_text(path)[0]
            match = FRONT_MATTER.match(text)
            meta = (load_yaml(match.group(1)) or {}) if match else {}
            body = match.group(2) if match else text
            try:
                day = parse_date(meta.get("date", path.stem[:10]))
            except CellError as exc:
                raise CalendarError([Problem(str(path), 1, "date", str(exc))]) from None
            out.append(
                Story(
                    slug=path.stem,
                    title=str(meta.get("title", path.stem)),
                    day=day,
                    body_markdown=body.strip(),
                    audiences=split_list(meta.get("audiences")),
                    objectives=split_list(meta.get("objectives")),
                    link=meta.get("link"),
                    image=meta.get("image"),
                    image_alt=str(meta.get("image_alt", "")),
                )
            )
        return out


def read_subscribers(path: Path, audiences: Collection[str] | None = None) -> list[Subscriber]:
    """subscribers.csv: email, name, organisation, audiences, consent_source, consent_date.
    Every bad row is reported with its line; nothing is returned unless all rows are good. An address is
    checked by the same rule the email channel sends by; with `audiences` (the strategy's codes), an
    audience not among them is refused, so a typo never leaves someone off a list unseen."""
    text, _ = read_text(path)
    header, rows = csv_rows(text)
    missing = [c for c in ("email", "audiences", "consent_source", "consent_date") if c not in header]
    if missing:
        raise CalendarError([Problem(str(path), 1, "header", f"missing column(s): {', '.join(missing)}")])
    problems, out, seen = [], [], dict[str, int]()
    for line, row in rows:
        try:
            consent = parse_date(row["consent_date"])
        except CellError as exc:
            problems.append(Problem(str(path), line, "consent_date", str(exc)))
            continue
        first = seen.setdefault(row["email"].strip().lower(), line)
        problem = _row_problem(row, audiences) or (
            ("email", f"already on line {first}: one row per address") if first != line else None
        )
        if problem:
            problems.append(Problem(str(path), line, *problem))
            continue
        out.append(
            Subscriber(
                row["email"].lower(),
                row.get("name", ""),
                row.get("organisation", ""),
                split_list(row["audiences"]),
                row["consent_source"],
                consent,
            )
        )
    if problems:
        raise CalendarError(problems)
    return out


def _row_problem(row: dict[str, str], audiences: Collection[str] | None) -> tuple[str, str] | None:
    """The first thing wrong with a subscriber's row, as (field, message)."""
    if problem := _address_problem(row["email"]):
        return "email", problem
    if not row["consent_source"]:
        return "consent_source", "say where consent came from"
    listed = split_list(row["audiences"])
    if not listed:
        return "audiences", "name at least one audience (else nothing is ever sent to this address)"
    unknown = [a for a in listed if audiences is not None and a not in audiences]
    return ("audiences", _unknown_audience(unknown[0], audiences or ())) if unknown else None


def _address_problem(address: str) -> str | None:
    """The check the email channel sends by (`channels.addresses`), the length first said plainly."""
    if len(address) > MAX_ADDRESS:
        return f"{len(address)} characters: an address has at most {MAX_ADDRESS}"
    problem = address_problem(address)
    return None if problem is None else f"{address!r} is not an email address ({ADDRESS_SHAPE}): {problem}"


def _unknown_audience(code: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(code, list(known), n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"the strategy's audiences are {', '.join(sorted(known))}"
    return f"{code!r} is not an audience in strategy.yaml: {hint}"
