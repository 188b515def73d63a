"""GET /r/<token>: a counted link from an edition, redirected to where it goes (public).

What counts as one click, without knowing who clicked:
- a GET from a browser: a HEAD, or a GET marked as a prefetch (`Sec-Purpose`/`Purpose: prefetch`,
  `X-Moz: prefetch`), as mail scanners and browsers send ahead of a person, goes where the link goes
  but is not counted;
- once per browser per link per day: the redirect sets a cookie scoped to that one link's path, which
  holds nothing but "1" (every reader of an audience shares the link, so it names nobody); the same
  browser clicking again within 24 hours is sent on without counting. A browser refusing cookies
  counts each click.
A link that is not ours, or was changed, is refused (400): the workspace never redirects anywhere an
edition did not link to. Nothing about the reader is stored or logged, and the page linked to is not
told where the reader came from (Referrer-Policy same-origin, `pipeline.web.security`).
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request
from werkzeug.wrappers import Response

from pipeline.services.links import LinkService
from pipeline.web.auth import now, public

bp = Blueprint("redirect", __name__)
SEEN = "comms_seen"
DAY = 24 * 3600
PREFETCH = (("Sec-Purpose", "prefetch"), ("Purpose", "prefetch"), ("X-Moz", "prefetch"), ("X-Purpose", "preview"))


@bp.route("/r/<token>", methods=["GET", "HEAD"])
@public
def follow(token: str) -> Response:
    ctx = current_app.extensions["comms"]
    seen = request.cookies.get(SEEN) == "1"
    prefetch = any(value in request.headers.get(name, "").lower() for name, value in PREFETCH)
    count = request.method == "GET" and not prefetch and not seen
    url = LinkService.of(ctx).follow(token, now(), count=count)
    response = redirect(url, code=302)
    if count:
        secure = ctx.settings.public_base_url.lower().startswith("https://")
        response.set_cookie(SEEN, "1", max_age=DAY, path=request.path, secure=secure, httponly=True, samesite="Lax")
    return response
