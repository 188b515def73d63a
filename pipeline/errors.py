"""Errors that carry what they concern. All share the root `CommsError`."""

from __future__ import annotations

from channels.base import ChannelError
from content_calendar.errors import CalendarError, CommsError, Problem

__all__ = [
    "CalendarError",
    "ChannelError",
    "CommsError",
    "Conflict",
    "FeedError",
    "Invalid",
    "NotAllowed",
    "NotFound",
    "PlanChanged",
    "Problem",
    "SettingsError",
    "TemplateError",
]


class SettingsError(CommsError):
    """A setting is missing or wrong. The message says which, and what to put instead."""


class FeedError(CommsError):
    def __init__(
        self, url: str, message: str, *, retry: bool = True, retired: bool = False, retry_after: float | None = None
    ) -> None:
        self.url, self.retry, self.retired, self.retry_after = url, retry, retired, retry_after
        self.reason = message
        super().__init__(f"{url}: {message}")


class TemplateError(CommsError):
    """A template is missing, or Jinja or MJML failed; names the template and line."""

    def __init__(self, template: str, line: int | None, message: str) -> None:
        self.template, self.line = template, line
        where = f"{template}:{line}" if line else template
        super().__init__(f"{where}: {message}")


# What a use case refuses (`pipeline.services`). Every face shows the message as it is: the command line
# as one line with exit 2, the web workspace as a message on the page.


class NotFound(CommsError, LookupError):
    """The thing asked for does not exist: an outbox item, a feed, a subscriber, a channel, the plan."""


class NotAllowed(CommsError):
    """A rule refuses this actor, e.g. four eyes: whoever last edited an item may not approve it."""


class Conflict(CommsError):
    """The item's state does not allow the action, e.g. approving an item that was sent."""


class Invalid(CommsError, ValueError):
    """An argument a person gave is wrong, e.g. a rejection without a reason or a negative figure."""


class DatabaseError(CommsError):
    """The database cannot be opened or reached; names it without its password."""


class PlanChanged(Conflict):
    """The stored plan is no longer the one a difference was made against; nothing was applied."""
