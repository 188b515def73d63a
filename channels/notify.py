"""GOV.UK Notify, for opt-in bulletins: POST /v2/notifications/email with one of the team's Notify
email templates.

Notify sends from its own template, so the team makes one in Notify whose subject is `((subject))` and
whose message holds `((body))` (and, if they like, `((unsubscribe_url))`); see
`templates/notify/README.md`. The adapter checks the template has those placeholders before the first
send. Each notification carries a `reference` made from the send key (a digest: a reference must
not hold personal data), and a send first asks Notify for a notification with that reference, so a
timeout after Notify accepted the message does not send it twice. The API key is turned into a
short-lived JWT (HS256) for each call, as Notify requires; the key itself never leaves the process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from typing import Any

import requests

from channels.base import ChannelError, Post, Receipt
from channels.email_smtp import address_problems
from channels.http import ApiChannel, digest, message

API_KEY = re.compile(r".+-(?P<service>[0-9a-f-]{36})-(?P<secret>[0-9a-f-]{36})$")
PLACEHOLDERS = ("((subject))", "((body))")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(service_id: str, secret: str, now: float) -> str:
    header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}, separators=(",", ":")).encode())
    claims = _b64(json.dumps({"iss": service_id, "iat": int(now)}, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{_b64(signature)}"


class NotifyAdapter(ApiChannel):
    kind = "notify"

    def __init__(self, channel: str, api_key: str, template_id: str, api_url: str, **kwargs: Any) -> None:
        super().__init__(channel, **kwargs)
        self.require(notify_api_key=api_key, notify_template_id=template_id)
        parsed = API_KEY.fullmatch(api_key.strip())
        if parsed is None:
            raise ChannelError(
                channel,
                "COMMS_NOTIFY_API_KEY is not a Notify API key (name-serviceid-secret, as Notify shows it once)",
                transient=False,
            )
        self.service_id, self.secret = parsed["service"], parsed["secret"]
        self.template_id, self.api_url = template_id, api_url.rstrip("/")
        self._template_problems: list[str] | None = None

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {jwt(self.service_id, self.secret, time.time())}"}

    def classify(self, response: requests.Response) -> ChannelError | None:
        text = message(response)
        if response.status_code == 403:
            return ChannelError(
                self.channel, f"Notify refused the API key ({text}); check COMMS_NOTIFY_API_KEY", transient=False
            )
        if response.status_code == 400 and "email_address" in text:
            return ChannelError(self.channel, f"Notify: {text}", transient=False, recipient_rejected=True)
        return None

    def validate(self, post: Post) -> list[str]:
        problems = address_problems(post.recipient)
        if not post.text.strip():
            problems.append("the message is empty")
        return problems + self.template_problems()

    def template_problems(self) -> list[str]:
        """What is wrong with the Notify template, asked once; a network failure here is left to send."""
        if self._template_problems is None:
            try:
                self._template_problems = self._problems_in(self._template())
            except ChannelError as exc:
                if exc.transient:
                    return []
                self._template_problems = [f"Notify template {self.template_id}: {exc}"]
        return self._template_problems

    def check(self) -> str:
        problems = self._problems_in(self._template())
        if problems:
            raise ChannelError(self.channel, "; ".join(problems), transient=False)
        return f"the API key works and template {self.template_id} has ((subject)) and ((body))"

    def _template(self) -> dict[str, str]:
        return dict(self.call("GET", f"{self.api_url}/v2/template/{self.template_id}").json())

    def _problems_in(self, template: dict[str, str]) -> list[str]:
        text = f"{template.get('subject', '')}\n{template.get('body', '')}"
        missing = [p for p in PLACEHOLDERS if p not in text]
        lacks = f"lacks {' and '.join(missing)} (see templates/notify/README.md)"
        problems = [f"Notify template {self.template_id} {lacks}"] if missing else []
        if template.get("type", "email") != "email":
            problems.append(f"Notify template {self.template_id} is not an email template")
        return problems

    def find(self, post: Post, key: str) -> Receipt | None:
        response = self.call(
            "GET", f"{self.api_url}/v2/notifications", params={"reference": digest(key, 32), "template_type": "email"}
        )
        found = response.json().get("notifications", [])
        return Receipt(external_id=found[0]["id"], url=found[0].get("uri")) if found else None

    def create(self, post: Post, key: str) -> Receipt:
        body: dict[str, Any] = {
            "email_address": post.recipient,
            "template_id": self.template_id,
            "personalisation": {
                "subject": post.subject,
                "body": post.text,
                "unsubscribe_url": post.unsubscribe_url or "",
            },
            "reference": digest(key, 32),
        }
        if post.unsubscribe_url and post.unsubscribe_url.startswith("https://"):
            body["one_click_unsubscribe_url"] = post.unsubscribe_url
        created = self.call("POST", f"{self.api_url}/v2/notifications/email", json=body).json()
        return Receipt(external_id=created["id"], url=created.get("uri"))
