"""The memory adapter: keeps posts in a dict, for tests. Idempotent by key, like a real channel."""

from __future__ import annotations

from channels.base import ChannelError, Post, Receipt
from channels.limits import check_length


class MemoryAdapter:
    kind = "memory"

    def __init__(
        self, channel: str = "memory", counted_as: str | None = None, failures: list[ChannelError] | None = None
    ) -> None:
        self.channel, self.counted_as = channel, counted_as
        self.sent: dict[str, Post] = {}
        self.failures = list(failures or [])  # raised, in order, by the next sends

    def validate(self, post: Post) -> list[str]:
        problems = [] if post.text.strip() else ["the post is empty"]
        return problems + check_length(self.counted_as or post.kind, post.text)

    def send(self, post: Post, key: str) -> Receipt:
        if key in self.sent:
            return Receipt(external_id=key, duplicate=True)
        if self.failures:
            raise self.failures.pop(0)
        self.sent[key] = post
        return Receipt(external_id=key, url=f"memory://{self.channel}/{len(self.sent)}")

    def check(self) -> str:
        return "kept in memory (tests)"

    def close(self) -> None:
        pass
