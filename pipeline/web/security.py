"""Response headers every page carries: a strict Content-Security-Policy (nothing inline, nothing from
another site), no framing, no sniffing, no caching of signed-in pages, no referrer to other sites."""

from __future__ import annotations

from flask import Flask, Response, request

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
# A rendered email shown in the item page's frame: its own images may come from anywhere (the email's),
# but nothing in it runs, submits or navigates the workspace.
PREVIEW_CSP = "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"


def install(app: Flask) -> None:
    @app.after_request
    def headers(response: Response) -> Response:
        preview = response.headers.get("X-Comms-Preview") == "1"
        if preview:
            del response.headers["X-Comms-Preview"]
        response.headers["Content-Security-Policy"] = PREVIEW_CSP if preview else CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "SAMEORIGIN" if preview else "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response
