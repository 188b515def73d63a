"""Access tokens from Microsoft Entra ID (the client-credentials grant), for the Microsoft Graph and
Viva Engage adapters. A token is kept until a minute before it expires."""

from __future__ import annotations

import time

import requests

from channels.base import ChannelError
from channels.http import message, request


class EntraToken:
    def __init__(
        self,
        channel: str,
        session: requests.Session,
        *,
        login_url: str,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        scope: str,
        timeout: tuple[float, float] = (5.0, 20.0),
    ) -> None:
        self.channel, self.session, self.timeout = channel, session, timeout
        self.url = f"{login_url.rstrip('/')}/{tenant_id}/oauth2/v2.0/token"
        self.form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": scope,
        }
        self.token, self.expires = "", 0.0

    def header(self) -> dict[str, str]:
        if not self.token or time.monotonic() >= self.expires:
            self.refresh()
        return {"Authorization": f"Bearer {self.token}"}

    def refresh(self) -> None:
        def refused(response: requests.Response) -> ChannelError | None:
            if response.status_code in (400, 401):
                return ChannelError(
                    self.channel,
                    f"Entra ID refused the app's credentials ({message(response)}); check COMMS_MICROSOFT_TENANT_ID, "
                    "COMMS_MICROSOFT_CLIENT_ID and COMMS_MICROSOFT_CLIENT_SECRET",
                    transient=False,
                )
            return None

        response = request(
            self.session, self.channel, "POST", self.url, data=self.form, timeout=self.timeout, classify=refused
        )
        body = response.json()
        self.token = body["access_token"]
        self.expires = time.monotonic() + max(0, int(body.get("expires_in", 3600)) - 60)

    def forget(self) -> None:
        self.token = ""
