"""What goes into a channel and what comes back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from channels.redact import redact
from content_calendar.errors import CommsError


class ChannelError(CommsError):
    """A channel refused or failed a send.

    `transient` errors (timeouts, 429, 5xx) are retried later with the same idempotency key;
    others fail the delivery at once with the channel's own message. `recipient_rejected` marks a
    permanent refusal of one address (an SMTP 5xx bounce) rather than of the whole channel.
    The message is redacted as it is made (credentials by their shape, `channels.redact`); the pipeline
    hides its settings' secret values too with `redacted()` before the text is shown or stored.
    """

    def __init__(
        self,
        channel: str,
        message: str,
        *,
        transient: bool,
        retry_after: float | None = None,
        recipient_rejected: bool = False,
    ) -> None:
        self.channel, self.transient, self.retry_after = channel, transient, retry_after
        self.recipient_rejected = recipient_rejected
        super().__init__(redact(f"{channel}: {message}"))

    def redacted(self, hide: Callable[[str], str]) -> ChannelError:
        """This error with `hide` applied to its message (the same error if nothing was hidden)."""
        text = hide(str(self))
        if text == str(self):
            return self
        return ChannelError(
            self.channel,
            text.removeprefix(f"{self.channel}: "),
            transient=self.transient,
            retry_after=self.retry_after,
            recipient_rejected=self.recipient_rejected,
        )


class Pieces(str):
    """Text joined from pieces, most of which are the same for every recipient (an edition's compiled
    parts between the personalised values). It is an ordinary string; encoders may use `pieces` to
    encode each repeated piece once (`channels/mime.py`)."""

    pieces: tuple[str, ...]

    def __new__(cls, pieces: list[str] | tuple[str, ...]) -> Pieces:
        text = super().__new__(cls, "".join(pieces))
        text.pieces = tuple(pieces)
        return text


@dataclass(frozen=True)
class Post:
    """One thing to publish to one recipient (or to the channel itself, recipient '-')."""

    channel: str
    kind: str  # the adapter kind: email, file, mastodon, ...
    text: str
    subject: str = ""
    html: str = ""
    link: str | None = None
    recipient: str = "-"
    due_at: datetime | None = None
    unsubscribe_url: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())
    # An earlier attempt with this key may have reached the destination (the ledger holds a claim
    # with no outcome): adapters without their own idempotency look before publishing again.
    maybe_sent: bool = False


def check_folder(channel: str, folder: Path) -> str:
    """That posts can be written to `folder` (made if missing), for the file-based adapters."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".{channel}.check"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except OSError as exc:
        raise ChannelError(channel, f"cannot write to {folder}: {exc.strerror or exc}", transient=False) from None
    return f"writes to {folder}"


@dataclass(frozen=True)
class Receipt:
    external_id: str
    url: str | None = None
    duplicate: bool = False  # the channel recognised the idempotency key and did not publish again
