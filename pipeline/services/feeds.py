"""The feed registry: add, list, pause, resume, remove, import from the workspace's feeds.yaml, each
feed's health (its last failure in plain words, never the raw exception text), and the latest national
messages collected."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pipeline.context import AppContext
from pipeline.errors import Invalid, NotFound
from pipeline.ports import AuditRepository, CalendarRepository, FeedRepository
from pipeline.records import FeedSpec, FeedState, NationalMessage
from pipeline.services.actor import Actor
from pipeline.services.audit import audited
from pipeline.services.permissions import Permission, require
from pipeline.workspace import Workspace

LATEST_MESSAGES = 20  # national messages the feeds page lists

# A stored failure (`FeedError`: "URL: what went wrong") in words a comms officer can act on. The first
# pattern that matches the failure (without its URL) gives the sentence; `{0}` is the pattern's group.
_PLAIN: tuple[tuple[str, str], ...] = (
    (r"HTTP 410", "The site says the feed is gone for good, so it is no longer polled."),
    (r"HTTP 404", "The feed's address was not found (HTTP 404): check the address with its publisher."),
    (r"HTTP (401|403)", "The site refused us the feed (HTTP {0}): it may need a sign-in or block robots."),
    (r"HTTP 429", "The site asked us to poll less often (HTTP 429); we will try again later."),
    (r"HTTP (5\d\d)", "The site had a problem of its own (HTTP {0}); we will try again later."),
    (r"HTTP (\d+)", "The site answered with an error (HTTP {0}); we will try again later."),
    (r"timed out", "The site took too long to answer; we will try again later."),
    (r"cannot resolve", "The site's name could not be found: check the address, or the network."),
    (r"refused the connection|cannot connect", "The site could not be reached; we will try again later."),
    (r"TLS certificate", "The site's security certificate was not accepted, so nothing was read from it."),
    (r"redirect", "The address redirects too many times (a redirect loop?)."),
    (r"byte cap", "The feed is too large to read safely."),
    (r"HTML page", "The address is a web page, not a feed: look for the page's RSS or Atom link."),
    (r"XML entities", "The feed uses a construct that could attack the reader, so it was refused."),
    (r"not a feed", "The address does not return a feed (RSS or Atom)."),
    (r"private address|not allowed|internal", "The address is on a private network, which feeds may not use."),
    (r"not an http", "The address does not start with http:// or https://."),
)
UNKNOWN_FAILURE = "The feed could not be read (the details are in the log); we will try again later."


def plain_failure(error: str | None, url: str = "") -> str:
    """A feed's last failure as a sentence for the team; "" when it has none."""
    if not error:
        return ""
    what = error[len(url) + 2 :] if url and error.startswith(url + ": ") else error
    if what.startswith("unexpected "):
        return UNKNOWN_FAILURE
    for pattern, sentence in _PLAIN:
        found = re.search(pattern, what)
        if found:
            return sentence.format(*found.groups())
    return UNKNOWN_FAILURE


@dataclass(frozen=True)
class FeedHealth:
    feed: FeedState

    @property
    def state(self) -> str:
        """retired, paused, failing or ok."""
        if self.feed.retired:
            return "retired"
        if self.feed.paused:
            return "paused"
        return "failing" if self.feed.consecutive_failures else "ok"

    @property
    def failure(self) -> str:
        """The last failure in plain words ("" if the last poll succeeded)."""
        if not self.feed.consecutive_failures and not self.feed.retired:
            return ""
        return plain_failure(self.feed.last_error, self.feed.spec.url)


class FeedService:
    def __init__(
        self,
        workspace: Workspace,
        feeds: FeedRepository,
        audit: AuditRepository | None = None,
        calendar: CalendarRepository | None = None,
    ) -> None:
        self.workspace, self.feeds, self.audit, self.calendar = workspace, feeds, audit, calendar

    @classmethod
    def of(cls, ctx: AppContext) -> FeedService:
        return cls(ctx.workspace, ctx.repos.feeds, ctx.repos.audit, ctx.repos.calendar)

    def _check_codes(self, spec: FeedSpec) -> None:
        """Objective and audience codes checked against the imported strategy (when there is one)."""
        strategy = self.calendar.strategy() if self.calendar is not None else None
        if strategy is None:
            return
        problems = [f"objective {c!r} is not in strategy.yaml" for c in spec.objectives if not strategy.objective(c)]
        problems += [f"audience {c!r} is not in strategy.yaml" for c in spec.audiences if not strategy.audience(c)]
        if problems:
            raise Invalid("; ".join(problems))

    def _audit(self, actor: Actor, action: str, target: str, detail: str = "") -> None:
        if self.audit is not None:
            self.audit.record(audited(actor, action, datetime.now(UTC), target, detail))

    def add(self, actor: Actor, spec: FeedSpec) -> FeedSpec:
        """Add a feed, or update the one with this URL (its fetch state and health are kept); a feed
        removed earlier is polled again."""
        if not spec.url.strip() or not spec.name.strip():
            raise Invalid("a feed needs a URL and a name")
        if not spec.url.strip().lower().startswith(("http://", "https://")):
            raise Invalid("a feed's URL starts with http:// or https://")
        if spec.interval_minutes < 1:
            raise Invalid("a feed's interval is at least one minute")
        require(actor, Permission.PLAN)
        self._check_codes(spec)
        self.feeds.upsert([spec], revive=True)
        self._audit(actor, "feed.added", f"feed:{spec.url}", spec.name)
        return spec

    def list_feeds(self, actor: Actor) -> tuple[FeedState, ...]:
        return tuple(self.feeds.all())

    def status(self, actor: Actor) -> tuple[FeedHealth, ...]:
        return tuple(FeedHealth(f) for f in self.feeds.all())

    def health(self, actor: Actor) -> tuple[FeedHealth, ...]:
        """Every feed's health, for a person who may read the workspace."""
        require(actor, Permission.VIEW)
        return self.status(actor)

    def latest_messages(self, actor: Actor, limit: int = LATEST_MESSAGES) -> tuple[NationalMessage, ...]:
        """The national messages collected most recently, with the objectives they serve."""
        require(actor, Permission.VIEW)
        return tuple(self.feeds.messages(limit))

    def named(self, actor: Actor, name: str) -> FeedState:
        """The feed a person names (on the command line): by its URL, or by its name as listed, in any
        case. NotFound when no polled feed has it (a removed one says so); Invalid when two feeds share
        the name, listing their URLs, either of which names one."""
        require(actor, Permission.VIEW)
        wanted = name.strip()
        feeds = [f for f in self.feeds.all() if f.spec.url == wanted or f.spec.name.casefold() == wanted.casefold()]
        live = [f for f in feeds if not f.retired]
        if len(live) == 1:
            return live[0]
        if len(live) > 1:
            urls = ", ".join(f.spec.url for f in live)
            raise Invalid(f"{len(live)} feeds are called {wanted!r}: name one by its URL ({urls})")
        if feeds:
            gone = "is no longer polled (removed, or gone for good); `comms feeds add` brings it back"
            raise NotFound(f"feed {wanted!r} {gone}")
        raise NotFound(f"no feed called {wanted!r} (`comms feeds list` shows each feed's name and URL)")

    def pause(self, actor: Actor, url: str, paused: bool = True) -> None:
        """Stop polling a feed until it is resumed (`paused=False`); its messages stay usable."""
        require(actor, Permission.PLAN)
        if not self.feeds.set_paused(url, paused):
            raise NotFound(f"no feed {url} (a removed feed cannot be paused or resumed)")
        self._audit(actor, "feed.paused" if paused else "feed.resumed", f"feed:{url}")

    def remove(self, actor: Actor, url: str) -> None:
        """Stop polling a feed; its messages keep their provenance. NotFound if no feed has this URL."""
        require(actor, Permission.PLAN)
        if not self.feeds.remove(url):
            raise NotFound(f"no feed {url}")
        self._audit(actor, "feed.removed", f"feed:{url}")

    def import_workspace(self, actor: Actor) -> int:
        """Register (or update) every feed in the workspace's feeds.yaml; returns how many."""
        require(actor, Permission.PLAN)
        specs: Sequence[FeedSpec] = [spec for spec, _copy in self.workspace.feeds()]
        count = self.feeds.upsert(specs)
        self._audit(actor, "feeds.imported", "feeds.yaml", f"{count} feeds")
        return count
