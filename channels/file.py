"""The file adapter: each post is written to a folder, for dry runs and for posting by hand.

Idempotent by key: the file is named from the key, so a second send of the same key finds it and
returns the same receipt instead of writing again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from channels.base import Post, Receipt, check_folder
from channels.limits import check_length


class FileAdapter:
    kind = "file"

    def __init__(self, channel: str, folder: Path, counted_as: str | None = None) -> None:
        self.channel, self.folder = channel, folder / channel
        self.counted_as = counted_as  # the real destination's kind, so its limits still apply

    def validate(self, post: Post) -> list[str]:
        problems = [] if post.text.strip() else ["the post is empty"]
        return problems + check_length(self.counted_as or post.kind, post.text)

    def send(self, post: Post, key: str) -> Receipt:
        name = hashlib.sha256(key.encode()).hexdigest()[:24]
        path = self.folder / f"{post.due_at:%Y-%m-%dT%H%M}-{name}.json" if post.due_at else self.folder / f"{name}.json"
        receipt = Receipt(external_id=name, url=path.resolve().as_uri())
        if path.exists():
            return Receipt(receipt.external_id, receipt.url, duplicate=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {
            "key": key,
            "channel": post.channel,
            "due_at": post.due_at.isoformat() if post.due_at else None,
            "recipient": post.recipient,
            "subject": post.subject,
            "text": post.text,
            "link": post.link,
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)  # atomic: a crash leaves no half-written post
        return receipt

    def check(self) -> str:
        return check_folder(self.channel, self.folder)

    def close(self) -> None:
        pass
