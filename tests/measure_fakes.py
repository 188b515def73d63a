"""The stand-ins of tests/fakes.py, taught to report the figures of what they published, on the paths,
with the fields, batches and errors of each real API:

- Facebook: `GET /v21.0/?ids=A,B&fields=insights.metric(...)` (50 ids at most; error 100 naming the ids
  that do not exist; 190 for an expired token, 10 for a missing permission);
- X: `GET /2/tweets?ids=...&tweet.fields=public_metrics` (100 at most; deleted posts under `errors`);
- Mastodon: `GET /api/v1/statuses?id[]=...` (20 at most; missing ones left out) and `/api/v1/statuses/ID`;
- Bluesky: `GET /xrpc/app.bsky.feed.getPosts?uris=...` (25 at most; missing ones left out);
- LinkedIn: `GET /rest/organizationalEntityShareStatistics?q=organizationalEntity&shares=List(...)`;
- SharePoint: `GET /v1.0/sites/{site}/lists` (paged by @odata.nextLink) and `POST /v1.0/$batch` of
  `.../lists/{list}/items/{page}/analytics/allTime` (20 at most);
- Google: a JWT-bearer token endpoint checking the RS256 signature, and GA4's `runReport`, paged by
  `limit`/`offset` (returning fewer rows than asked, as GA4 may).

Every measuring route shares `gate`: an injected fault (`fault_next`: an HTML page, a 429, a 401...) and
an optional rate limit (`limit(n, seconds)`) answered with 429 and Retry-After.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes import (
    FakeBluesky,
    FakeEntra,
    FakeFacebook,
    FakeLinkedIn,
    FakeMastodon,
    FakeSharePoint,
    FakeX,
    ok,
)
from tests.httpserver import Request, Response, Server

HTML = Response(
    200, "<!DOCTYPE html><html><body><h1>Sign in to continue</h1></body></html>", {"Content-Type": "text/html"}
)


def values(request: Request, name: str) -> list[str]:
    """Every value of a query parameter (`Request.query` keeps only the first)."""
    return parse_qs(urlsplit(request.path).query).get(name, [])


class Gate:
    """Faults and a rate limit in front of a stand-in's measuring routes; counts the calls."""

    def __init__(self) -> None:
        self.faults: list[Response] = []
        self.calls = 0
        self.window: tuple[int, float] | None = None
        self.stamps: list[float] = []
        self.lock = threading.Lock()
        self.limited = 0

    def fault_next(self, response: Response) -> None:
        self.faults.append(response)

    def limit(self, requests: int, seconds: float) -> None:
        self.window = (requests, seconds)

    def gate(self) -> Response | None:
        with self.lock:
            self.calls += 1
            if self.faults:
                return self.faults.pop(0)
            if self.window is None:
                return None
            most, seconds = self.window
            now = time.monotonic()
            self.stamps = [t for t in self.stamps if now - t < seconds]
            if len(self.stamps) >= most:
                self.limited += 1
                wait = seconds - (now - self.stamps[0])
                return ok({"error": "rate limit"}, 429, {"Retry-After": f"{max(wait, 0.001):.3f}"})
            self.stamps.append(now)
            return None


def figures_of(external_id: str, **fixed: int) -> dict[str, int]:
    """Deterministic counts for a post: each test can work out what it should read."""
    seed = sum(ord(c) for c in external_id)
    return {**{"impressions": 100 + seed % 50, "clicks": 3 + seed % 5, "likes": 7 + seed % 3}, **fixed}


class MeasuringFacebook(FakeFacebook, Gate):
    INSIGHTS = ("post_impressions", "post_impressions_unique", "post_engaged_users", "post_clicks")

    def __init__(self, server: Server) -> None:
        FakeFacebook.__init__(self, server)
        Gate.__init__(self)
        self.counts: dict[str, dict[str, int]] = {}
        self.deleted: set[str] = set()
        self.revoked = False
        server.route("/v21.0/", self.ids_lookup)

    def ids_lookup(self, request: Request) -> Response:
        if (stop := self.gate() or self.refused(request)) is not None:
            return stop
        if self.revoked:
            return ok({"error": {"message": "(#10) Requires pages_read_engagement permission", "code": 10}}, 400)
        ids = [i for i in request.query.get("ids", "").split(",") if i]
        if len(ids) > 50:
            return ok({"error": {"message": "(#100) Too many IDs. Maximum: 50.", "code": 100}}, 400)
        fields = request.query.get("fields", "")
        if not fields.startswith("insights.metric("):
            return ok({"error": {"message": "(#100) fields must ask for insights", "code": 100}}, 400)
        known = {p["id"] for p in self.posts} - self.deleted
        absent = [i for i in ids if i not in known]
        if absent:
            text = f"(#100) Some of the aliases you requested do not exist: {','.join(absent)}"
            return ok({"error": {"message": text, "type": "OAuthException", "code": 100}}, 400)
        asked = fields.removeprefix("insights.metric(").rstrip(")").split(",")
        return ok({i: self._insights(i, asked) for i in ids})

    def _insights(self, post_id: str, asked: list[str]) -> dict[str, Any]:
        counts = self.counts.get(post_id) or figures_of(post_id)
        value = {
            "post_impressions": counts["impressions"],
            "post_impressions_unique": counts["impressions"] // 2,
            "post_engaged_users": counts["likes"],
            "post_clicks": counts["clicks"],
        }
        data = [
            {"name": n, "period": "lifetime", "values": [{"value": value[n]}], "id": f"{post_id}/insights/{n}/lifetime"}
            for n in asked
            if n in value
        ]
        return {"insights": {"data": data, "paging": {}}, "id": post_id}


class MeasuringX(FakeX, Gate):
    def __init__(self, server: Server) -> None:
        FakeX.__init__(self, server)
        Gate.__init__(self)
        self.counts: dict[str, dict[str, int]] = {}
        self.deleted: set[str] = set()
        self.basic_access = False  # impression_count only for higher access levels
        self.cut_short = False  # the answer leaves out half the posts, with no error
        create = self.publishing(self.create)
        server.route("/2/tweets", lambda r: self.lookup(r) if r.method == "GET" else create(r))

    def lookup(self, request: Request) -> Response:
        if (stop := self.gate() or self.refused(request)) is not None:
            return stop
        ids = [i for i in request.query.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 100:
            return ok({"title": "Invalid Request", "detail": "ids: 1 to 100 are allowed", "status": 400}, 400)
        known = {t["id"] for t in self.tweets} - self.deleted
        data, errors = [], []
        for i in ids:
            if i not in known:
                errors.append(
                    {
                        "value": i,
                        "detail": f"Could not find tweet with ids: [{i}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "ids",
                        "resource_id": i,
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                )
                continue
            c = self.counts.get(i) or figures_of(i)
            metrics = {"retweet_count": 2, "reply_count": 1, "like_count": c["likes"], "quote_count": 1}
            if not self.basic_access:
                metrics["impression_count"] = c["impressions"]
            data.append({"id": i, "text": "…", "public_metrics": metrics})
        if self.cut_short:
            data = data[: len(data) // 2]
        body: dict[str, Any] = {"data": data} if data else {}
        return ok({**body, **({"errors": errors} if errors else {})})


class MeasuringMastodon(FakeMastodon, Gate):
    def __init__(self, server: Server) -> None:
        FakeMastodon.__init__(self, server)
        Gate.__init__(self)
        self.deleted: set[str] = set()
        create = self.publishing(self.create)
        server.route("/api/v1/statuses", lambda r: self.many(r) if r.method == "GET" else create(r))
        server.route("/api/v1/statuses/*", self.one)

    def _status(self, status_id: str) -> dict[str, Any] | None:
        found = next((s for s in self.statuses.values() if s["id"] == status_id), None)
        if found is None or status_id in self.deleted:
            return None
        c = figures_of(status_id)
        return {**found, "favourites_count": c["likes"], "reblogs_count": 2, "replies_count": 1}

    def many(self, request: Request) -> Response:
        if (stop := self.gate() or self.refused(request)) is not None:
            return stop
        ids = values(request, "id[]")
        if len(ids) > 20:
            return ok({"error": "Too many ids requested"}, 422)
        return ok([s for i in ids if (s := self._status(i)) is not None])

    def one(self, request: Request) -> Response:
        if (stop := self.gate() or self.refused(request)) is not None:
            return stop
        found = self._status(urlsplit(request.path).path.rsplit("/", 1)[-1])
        return ok(found) if found else ok({"error": "Record not found"}, 404)


class MeasuringBluesky(FakeBluesky, Gate):
    def __init__(self, server: Server) -> None:
        FakeBluesky.__init__(self, server)
        Gate.__init__(self)
        server.route("/xrpc/app.bsky.feed.getPosts", self.get_posts)

    def delete(self, uri: str) -> None:
        self.records.pop(uri, None)

    def get_posts(self, request: Request) -> Response:
        if (stop := self.gate() or self.refused(request)) is not None:
            return stop
        uris = values(request, "uris")
        if len(uris) > 25:
            return ok({"error": "InvalidRequest", "message": "uris must not have more than 25 elements"}, 400)
        posts = []
        for uri in uris:
            if uri in self.records:
                c = figures_of(uri)
                counts = {"likeCount": c["likes"], "repostCount": 2, "quoteCount": 1, "replyCount": 1}
                posts.append({"uri": uri, "cid": "bafy", "author": {"did": self.DID}, **counts})
        return ok({"posts": posts})


class MeasuringLinkedIn(FakeLinkedIn, Gate):
    def __init__(self, server: Server) -> None:
        FakeLinkedIn.__init__(self, server)
        Gate.__init__(self)
        self.deleted: set[str] = set()
        server.route("/rest/organizationalEntityShareStatistics", self.statistics)
        server.route("/rest/posts/*", self.one)

    def statistics(self, request: Request) -> Response:
        if (stop := self.gate() or self.refused(request)) is not None:
            return stop
        query = urlsplit(request.path).query
        if request.query.get("q") != "organizationalEntity" or request.query.get("organizationalEntity") != self.AUTHOR:
            return ok({"status": 400, "message": "q=organizationalEntity and organizationalEntity are required"}, 400)
        urns = []
        for name in ("shares", "ugcPosts"):
            m = re.search(rf"(?:^|&){name}=List\(([^)]*)\)", query)
            urns += [unquote(u) for u in m.group(1).split(",")] if m else []
        known = {p["id"] for p in self.posts} - self.deleted
        elements = []
        for urn in (u for u in urns if u in known):
            c = figures_of(urn)
            stats = {
                "impressionCount": c["impressions"],
                "uniqueImpressionsCount": c["impressions"] // 2,
                "clickCount": c["clicks"],
                "likeCount": c["likes"],
                "commentCount": 1,
                "shareCount": 2,
                "engagement": 0.05,
            }
            elements.append({"totalShareStatistics": stats, "share": urn, "organizationalEntity": self.AUTHOR})
        return ok({"paging": {"count": 10, "start": 0, "links": []}, "elements": elements})

    def one(self, request: Request) -> Response:
        if (stop := self.gate() or self.refused(request)) is not None:
            return stop
        urn = unquote(urlsplit(request.path).path.removeprefix("/rest/posts/"))
        found = next((p for p in self.posts if p["id"] == urn and urn not in self.deleted), None)
        return ok(found) if found else ok({"status": 404, "message": f"Not found: {urn}"}, 404)


class MeasuringSharePoint(FakeSharePoint, Gate):
    LIST = "190b9516-0000-0000-0000-90fe7360d416"

    def __init__(self, server: Server, entra: FakeEntra) -> None:
        FakeSharePoint.__init__(self, server, entra)
        Gate.__init__(self)
        self.deleted: set[str] = set()
        self.forbidden = False  # the tenant does not allow item analytics
        server.route(f"/v1.0/sites/{self.SITE}/lists", self.lists)
        server.route("/v1.0/$batch", self.batch)

    def lists(self, request: Request) -> Response:
        if (stop := self.gate()) is not None:
            return stop
        if not self.entra.valid(request, "graph.microsoft.com"):
            return ok({"error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty."}}, 401)
        if request.query.get("$skiptoken") != "2":
            first = [{"id": "a1", "name": "Documents"}, {"id": "a2", "name": "Events"}]
            return ok({"value": first, "@odata.nextLink": f"{self.url}/sites/{self.SITE}/lists?$skiptoken=2"})
        return ok({"value": [{"id": self.LIST, "name": "SitePages"}]})

    def batch(self, request: Request) -> Response:
        if (stop := self.gate()) is not None:
            return stop
        if not self.entra.valid(request, "graph.microsoft.com"):
            return ok({"error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty."}}, 401)
        asked = request.json().get("requests", [])
        if len(asked) > 20:
            return ok({"error": {"code": "BadRequest", "message": "Batch request limit exceeded (20)."}}, 400)
        return ok({"responses": [self._one(r) for r in asked]})

    def _one(self, r: dict[str, Any]) -> dict[str, Any]:
        pattern = rf"/sites/{re.escape(self.SITE)}/lists/{self.LIST}/items/([^/]+)/analytics/allTime"
        m = re.fullmatch(pattern, r.get("url", ""))
        if self.forbidden:
            body = {"error": {"code": "accessDenied", "message": "Access denied"}}
            return {"id": r["id"], "status": 403, "body": body}
        if not m or m.group(1) not in self.pages or m.group(1) in self.deleted:
            return {"id": r["id"], "status": 404, "body": {"error": {"code": "itemNotFound", "message": "Not found"}}}
        views = figures_of(m.group(1))["impressions"]
        return {"id": r["id"], "status": 200, "body": {"access": {"actionCount": views, "actorCount": views // 3}}}


class FakeGoogle(Gate):
    """Google's token endpoint (the JWT bearer grant, RS256 checked) and GA4's runReport."""

    PROPERTY = "312345678"
    EMAIL = "comms-reader@thurrock-analytics.iam.gserviceaccount.com"

    def __init__(self, server: Server, public_key: Any) -> None:
        super().__init__()
        self.server, self.public_key = server, public_key
        self.tokens: set[str] = set()
        self.rows: dict[tuple[str, str, str], int] = {}  # (yyyymm, pagePath, eventName) -> events
        self.page_size = 3  # GA4 may return fewer rows than the limit asked
        self.stop_after: int | None = None  # a page that ends early: no rows from this offset on
        server.route("/token", self.token)
        server.route(f"/v1beta/properties/{self.PROPERTY}:runReport", self.run_report)

    def token(self, request: Request) -> Response:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        form = request.form()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return ok({"error": "unsupported_grant_type"}, 400)
        head, body, signature = form.get("assertion", "..").split(".")
        try:
            pad = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))  # noqa: E731
            self.public_key.verify(pad(signature), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
            claims = json.loads(pad(body))
        except (InvalidSignature, ValueError):
            return ok({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400)
        if claims.get("iss") != self.EMAIL or "analytics.readonly" not in claims.get("scope", ""):
            return ok({"error": "invalid_grant", "error_description": "Invalid JWT claims."}, 400)
        token = f"ya29.{len(self.tokens) + 1}"
        self.tokens.add(token)
        return ok({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def run_report(self, request: Request) -> Response:
        if (stop := self.gate()) is not None:
            return stop
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            error = {
                "code": 401,
                "message": "Request had invalid authentication credentials.",
                "status": "UNAUTHENTICATED",
            }
            return ok({"error": error}, 401)
        q = request.json()
        filters = {
            e["filter"]["fieldName"]: e["filter"]["inListFilter"]["values"]
            for e in q["dimensionFilter"]["andGroup"]["expressions"]
        }
        start = q["dateRanges"][0]["startDate"].replace("-", "")[:6]
        end = q["dateRanges"][0]["endDate"].replace("-", "")[:6]
        totals: dict[tuple[str, str], int] = {}
        for (month, path, event), n in self.rows.items():
            if start <= month <= end and path in filters["pagePath"] and event in filters["eventName"]:
                totals[(month, event)] = totals.get((month, event), 0) + n
        rows = [
            {"dimensionValues": [{"value": m}, {"value": e}], "metricValues": [{"value": str(n)}]}
            for (m, e), n in sorted(totals.items())
        ]
        offset = int(q.get("offset", 0))
        page = rows[offset : offset + min(int(q.get("limit", 10000)), self.page_size)]
        if self.stop_after is not None and offset >= self.stop_after:
            page = []
        headers = {
            "dimensionHeaders": [{"name": "yearMonth"}, {"name": "eventName"}],
            "metricHeaders": [{"name": "eventCount", "type": "TYPE_INTEGER"}],
        }
        return ok({**headers, "rows": page, "rowCount": len(rows), "kind": "analyticsData#runReport"})
