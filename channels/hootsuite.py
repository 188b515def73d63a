"""Hootsuite bulk upload: a CSV with no header row and three columns (date and time, message,
optional link), times on 5-minute steps, at most 350 rows a file. Rows are keyed, so a resend
of the same key is not written twice."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

from channels.base import ChannelError, Post, Receipt, check_folder
from channels.limits import check_length

MAX_ROWS = 350


class HootsuiteCsvAdapter:
    kind = "hootsuite"

    def __init__(self, channel: str, folder: Path, counted_as: str = "x") -> None:
        self.channel, self.path, self.counted_as = channel, folder / f"{channel}-hootsuite.csv", counted_as
        self.keys_path = self.path.with_suffix(".keys")

    def validate(self, post: Post) -> list[str]:
        problems = [] if post.due_at else ["Hootsuite needs a date and time for each post"]
        problems += [] if post.text.strip() else ["the post is empty"]
        return problems + check_length(self.counted_as, post.text)

    def send(self, post: Post, key: str) -> Receipt:
        keys = self.keys_path.read_text().splitlines() if self.keys_path.exists() else []
        if key in keys:
            return Receipt(external_id=str(keys.index(key) + 1), url=self.path.resolve().as_uri(), duplicate=True)
        if len(keys) >= MAX_ROWS:
            raise ChannelError(
                self.channel,
                f"{self.path.name} already holds {MAX_ROWS} posts, Hootsuite's limit; upload it and start a new file",
                transient=False,
            )
        assert post.due_at is not None
        when = post.due_at + timedelta(minutes=(-post.due_at.minute) % 5)  # round up to a 5-minute step
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow([f"{when:%d/%m/%Y %H:%M}", post.text, post.link or ""])
        with self.keys_path.open("a", encoding="utf-8") as handle:
            handle.write(key + "\n")
        return Receipt(external_id=str(len(keys) + 1), url=self.path.resolve().as_uri())

    def check(self) -> str:
        return check_folder(self.channel, self.path.parent) + f" ({self.path.name})"

    def close(self) -> None:
        pass
