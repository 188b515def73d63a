"""Local stand-ins for the destinations' APIs, served over real HTTP (tests/httpserver.py).

Each implements the endpoints an adapter calls as the real service documents them: the method, the
path, the headers it requires and the body it checks, the answers it gives (including its errors),
and its own idempotency where it has one. Each counts what it has published, and can be told to
fail its next publishing call (`fail_next`) or to answer it slowly after publishing (`slow_next`), for
the failure tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from channels.limits import URL
from tests.httpserver import Request, Response, Server

JSON = {"Content-Type": "application/json"}


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(body), {**JSON, **(headers or {})})


class Fake:
    """What every fake shares: the publishing route's failure and delay injection."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.ids = itertools.count(1)
        self.failures: list[Response] = []
        self.delay = 0.0

    def fail_next(self, response: Response) -> None:
        self.failures.append(response)

    def slow_next(self, seconds: float) -> None:
        self.delay = seconds

    def publishing(self, handler: Any) -> Any:
        """Wrap a publishing handler with the injected failures and delay."""

        def wrapped(request: Request) -> Response:
            if self.failures:
                return self.failures.pop(0)
            response: Response = handler(request)
            response.delay, self.delay = self.delay, 0.0
            return response

        return wrapped

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)


# Mastodon ----------------------------------------------------------------------------------------


class FakeMastodon(Fake):
    """POST /api/v1/statuses as Mastodon implements it, including Idempotency-Key."""

    TOKEN = "good-token"

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.statuses: dict[str, dict[str, Any]] = {}
        server.route("/api/v1/statuses", self.publishing(self.create))
        server.route("/api/v1/accounts/verify_credentials", self.verify)

    def refused(self, request: Request) -> Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.TOKEN}":
            return ok({"error": "The access token is invalid"}, 401)
        return None

    def verify(self, request: Request) -> Response:
        return self.refused(request) or ok({"id": "1", "username": "thurrockcouncil", "acct": "thurrockcouncil"})

    def create(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        if not request.json().get("status"):
            return ok({"error": "Validation failed: Text can't be blank"}, 422)
        key = request.headers.get("Idempotency-Key", "")
        if key not in self.statuses:
            status_id = str(next(self.ids))
            url = f"https://social.example/@council/{status_id}"
            self.statuses[key] = {"id": status_id, "url": url, "content": request.json()["status"]}
        return ok(self.statuses[key])


# Facebook ----------------------------------------------------------------------------------------


class FakeFacebook(Fake):
    PAGE, TOKEN = "1029384756", "page-token"

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.posts: list[dict[str, Any]] = []
        server.route(f"/v21.0/{self.PAGE}/feed", self.publishing(self.feed))
        server.route(f"/v21.0/{self.PAGE}/posts", self.list)

    @property
    def url(self) -> str:
        return self.server.url + "/v21.0"

    def refused(self, request: Request) -> Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.TOKEN}":
            error = {"message": "Error validating access token: Session has expired", "type": "OAuthException"}
            return ok({"error": {**error, "code": 190, "fbtrace_id": "A1"}}, 400)
        return None

    def feed(self, request: Request) -> Response:
        if request.method != "POST":
            return ok({"error": {"message": "Unsupported get request", "code": 100}}, 400)
        if (refused := self.refused(request)) is not None:
            return refused
        form = request.form()
        if not form.get("message"):
            return ok({"error": {"message": "(#100) The parameter message is required", "code": 100}}, 400)
        post_id = f"{self.PAGE}_{next(self.ids)}"
        self.posts.insert(
            0,
            {
                "id": post_id,
                "message": form["message"],
                "created_time": self.now().strftime("%Y-%m-%dT%H:%M:%S+0000"),
                "permalink_url": f"https://www.facebook.com/{post_id}",
                "link": form.get("link"),
            },
        )
        return ok({"id": post_id})

    def list(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        limit = int(request.query.get("limit", 25))
        return ok({"data": self.posts[:limit]})


# X -----------------------------------------------------------------------------------------------


class FakeX(Fake):
    TOKEN, USER = "x-user-token", "1480000000000000001"

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.tweets: list[dict[str, Any]] = []
        server.route("/2/users/me", self.me)
        server.route("/2/tweets", self.publishing(self.create))
        server.route(f"/2/users/{self.USER}/tweets", self.timeline)

    def refused(self, request: Request) -> Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.TOKEN}":
            return ok({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}, 401)
        return None

    def me(self, request: Request) -> Response:
        return self.refused(request) or ok({"data": {"id": self.USER, "username": "ThurrockCouncil"}})

    def create(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        text = request.json().get("text", "")
        shown = URL.sub("https://t.co/abc123", text)  # X shortens every link
        if any(t["text"] == shown for t in self.tweets):
            detail = "You are not allowed to create a Tweet with duplicate content."
            return ok({"detail": detail, "status": 403, "title": "Forbidden"}, 403)
        tweet_id = str(1_860_000_000_000_000_000 + next(self.ids))
        created = self.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self.tweets.insert(0, {"id": tweet_id, "text": shown, "created_at": created})
        return ok({"data": {"id": tweet_id, "text": shown}}, 201)

    def timeline(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        return ok({"data": self.tweets[: int(request.query.get("max_results", 10))]})


# LinkedIn ----------------------------------------------------------------------------------------


class FakeLinkedIn(Fake):
    TOKEN, AUTHOR = "li-token", "urn:li:organization:5515715"

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.posts: list[dict[str, Any]] = []
        create = self.publishing(self.create)
        server.route("/rest/posts", lambda r: create(r) if r.method == "POST" else self.find(r))

    def refused(self, request: Request) -> Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.TOKEN}":
            return ok({"status": 401, "serviceErrorCode": 65600, "message": "Invalid access token"}, 401)
        if not re.fullmatch(r"20\d{4}", request.headers.get("LinkedIn-Version", "")):
            return ok({"status": 426, "message": "A version header (LinkedIn-Version: YYYYMM) is required"}, 426)
        if request.headers.get("X-Restli-Protocol-Version") != "2.0.0":
            return ok({"status": 400, "message": "X-Restli-Protocol-Version 2.0.0 is required"}, 400)
        return None

    def create(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        body = request.json()
        for field in ("author", "commentary", "visibility", "distribution", "lifecycleState"):
            if field not in body:
                return ok({"status": 422, "message": f"/{field} is required"}, 422)
        if body["author"] != self.AUTHOR:
            return ok({"status": 403, "message": "Not enough permissions to post as this organisation"}, 403)
        if re.search(r"(?<!\\)[\[\]()<>*_~|]", re.sub(r"\{hashtag\|\\#\|\w+\}|https?://\S+", "", body["commentary"])):
            return ok({"status": 422, "message": "commentary holds unescaped reserved characters"}, 422)
        urn = f"urn:li:share:{7_260_000_000_000_000_000 + next(self.ids)}"
        created = int(self.now().timestamp() * 1000)
        self.posts.insert(0, {"id": urn, "commentary": body["commentary"], "createdAt": created, **body})
        return Response(201, b"", {"x-restli-id": urn})

    def find(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        if request.query.get("q") != "author" or request.query.get("author") != self.AUTHOR:
            return ok({"status": 400, "message": "q=author and author are required"}, 400)
        return ok({"elements": self.posts[: int(request.query.get("count", 10))]})


# Bluesky -----------------------------------------------------------------------------------------


TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")


class FakeBluesky(Fake):
    HANDLE, PASSWORD, DID = "thurrockcouncil.bsky.social", "abcd-efgh-ijkl-mnop", "did:plc:ewvi7nxzyoun6zhxrhs64oiz"

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.records: dict[str, dict[str, Any]] = {}
        self.tokens: set[str] = set()
        self.sessions = 0
        server.route("/xrpc/com.atproto.server.createSession", self.session)
        server.route("/xrpc/com.atproto.repo.getRecord", self.get)
        server.route("/xrpc/com.atproto.repo.createRecord", self.publishing(self.create))

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def session(self, request: Request) -> Response:
        body = request.json()
        if body.get("identifier") != self.HANDLE or body.get("password") != self.PASSWORD:
            return ok({"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, 401)
        self.sessions += 1
        token = f"jwt-{self.sessions}"
        self.tokens.add(token)
        return ok({"accessJwt": token, "refreshJwt": f"r-{token}", "did": self.DID, "handle": self.HANDLE})

    def refused(self, request: Request) -> Response | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer jwt-"):
            return ok({"error": "AuthMissing", "message": "Authentication Required"}, 401)
        if auth.removeprefix("Bearer ") not in self.tokens:
            return ok({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        return None

    def get(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        q = request.query
        uri = f"at://{q.get('repo')}/{q.get('collection')}/{q.get('rkey')}"
        if uri not in self.records:
            return ok({"error": "RecordNotFound", "message": f"Could not locate record: {uri}"}, 400)
        return ok({"uri": uri, "cid": "bafyrei" + q["rkey"], "value": self.records[uri]})

    def create(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        body = request.json()
        record, rkey = body.get("record", {}), body.get("rkey", "")
        if body.get("repo") != self.DID or body.get("collection") != "app.bsky.feed.post":
            return ok({"error": "InvalidRequest", "message": "repo and collection are required"}, 400)
        if not TID.fullmatch(rkey):
            return ok({"error": "InvalidRequest", "message": f"Invalid record key: {rkey}"}, 400)
        if record.get("$type") != "app.bsky.feed.post" or "createdAt" not in record:
            return ok({"error": "InvalidRecord", "message": "Record/$type and createdAt are required"}, 400)
        encoded = record.get("text", "").encode()
        for facet in record.get("facets", []):
            start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
            feature = facet["features"][0]
            shown = encoded[start:end].decode()  # raises if a facet splits a character
            if feature.get("uri") and shown != feature["uri"]:
                return ok({"error": "InvalidRecord", "message": f"facet {shown!r} is not {feature['uri']!r}"}, 400)
        uri = f"at://{self.DID}/app.bsky.feed.post/{rkey}"
        if uri in self.records:
            return ok({"error": "InvalidRequest", "message": f"Record already exists: {uri}"}, 400)
        self.records[uri] = record
        return ok({"uri": uri, "cid": "bafyrei" + rkey})


# Microsoft 365 -----------------------------------------------------------------------------------


class FakeEntra(Fake):
    TENANT, CLIENT, SECRET = "0a1b2c3d-thurrock", "client-1", "s3cret"

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.issued: list[str] = []
        server.route(f"/{self.TENANT}/oauth2/v2.0/token", self.token)

    def token(self, request: Request) -> Response:
        form = request.form()
        if form.get("grant_type") != "client_credentials" or not form.get("scope", "").endswith("/.default"):
            return ok({"error": "invalid_request", "error_description": "AADSTS900144: scope is required"}, 400)
        if form.get("client_id") != self.CLIENT or form.get("client_secret") != self.SECRET:
            description = "AADSTS7000215: Invalid client secret provided."
            return ok({"error": "invalid_client", "error_description": description}, 401)
        token = f"eyJ-{form['scope'].split('/')[2]}-{len(self.issued) + 1}"
        self.issued.append(token)
        return ok({"token_type": "Bearer", "expires_in": 3599, "access_token": token})

    def valid(self, request: Request, audience: str) -> bool:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return token in self.issued and f"-{audience}-" in token


class FakeSharePoint(Fake):
    SITE = "thurrock.sharepoint.com,1f2e3d4c,5b6a7988"

    def __init__(self, server: Server, entra: FakeEntra) -> None:
        super().__init__(server)
        self.entra = entra
        self.pages: dict[str, dict[str, Any]] = {}
        self.create_page = self.publishing(self.create)
        server.route(f"/v1.0/sites/{self.SITE}/pages*", self.handle)

    @property
    def url(self) -> str:
        return self.server.url + "/v1.0"

    def handle(self, request: Request) -> Response:
        if not self.entra.valid(request, "graph.microsoft.com"):
            error = {"code": "InvalidAuthenticationToken", "message": "Access token is empty or invalid."}
            return ok({"error": error}, 401)
        rest = request.path.split("?")[0].removeprefix(f"/v1.0/sites/{self.SITE}/pages")
        if request.method == "POST" and rest == "":
            return self.create_page(request)
        if request.method == "GET" and rest == "/microsoft.graph.sitePage":
            match = re.fullmatch(r"name eq '([^']+)'", request.query.get("$filter", ""))
            return ok({"value": [p for p in self.pages.values() if match and p["name"] == match.group(1)]})
        if request.method == "POST" and (m := re.fullmatch(r"/([^/]+)/microsoft.graph.sitePage/publish", rest)):
            if m.group(1) not in self.pages:
                return ok({"error": {"code": "itemNotFound", "message": "The page does not exist"}}, 404)
            self.pages[m.group(1)]["publishingState"] = {"level": "published", "versionId": "1.0"}
            return Response(204)
        return ok({"error": {"code": "BadRequest", "message": f"no such call {request.method} {rest}"}}, 400)

    def create(self, request: Request) -> Response:
        body = request.json()
        if body.get("@odata.type") != "#microsoft.graph.sitePage" or not body.get("name", "").endswith(".aspx"):
            return ok({"error": {"code": "invalidRequest", "message": "a sitePage with a .aspx name is required"}}, 400)
        if any(p["name"] == body["name"] for p in self.pages.values()):
            return ok({"error": {"code": "nameAlreadyExists", "message": "A page with that name exists"}}, 409)
        page_id = str(uuid.uuid4())
        self.pages[page_id] = {
            "id": page_id,
            "name": body["name"],
            "title": body.get("title"),
            "promotionKind": body.get("promotionKind"),
            "webUrl": f"https://thurrock.sharepoint.com/sites/news/SitePages/{body['name']}",
            "publishingState": {"level": "checkout", "versionId": "0.1"},
            "canvasLayout": body.get("canvasLayout"),
        }
        return ok(self.pages[page_id], 201)

    def published(self) -> int:
        return sum(1 for p in self.pages.values() if p["publishingState"]["level"] == "published")


class FakeVivaEngage(Fake):
    GROUP = "128931546"

    def __init__(self, server: Server, entra: FakeEntra) -> None:
        super().__init__(server)
        self.entra = entra
        self.messages: list[dict[str, Any]] = []
        server.route("/api/v1/messages.json", self.publishing(self.create))
        server.route(f"/api/v1/messages/in_group/{self.GROUP}.json", self.in_group)

    def refused(self, request: Request) -> Response | None:
        if not self.entra.valid(request, "api.yammer.com"):
            return ok({"response": {"message": "Token not found.", "code": 16, "stat": "fail"}}, 401)
        return None

    def create(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        body = request.json()
        if str(body.get("group_id")) != self.GROUP or not body.get("body"):
            return ok({"message": "group_id and body are required"}, 400)
        message_id = 3_100_000_000 + next(self.ids)
        message = {
            "id": message_id,
            "group_id": int(self.GROUP),
            "body": {"plain": body["body"], "parsed": body["body"]},
            "created_at": self.now().strftime("%Y/%m/%d %H:%M:%S +0000"),
            "web_url": f"https://web.yammer.com/threads/{message_id}",
        }
        self.messages.insert(0, message)
        return ok({"messages": [message]}, 201)

    def in_group(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        return ok({"messages": self.messages[: int(request.query.get("limit", 20))]})


# WordPress ---------------------------------------------------------------------------------------


class FakeWordPress(Fake):
    USER, APP_PASSWORD = "comms-bot", "abcd EFGH 1234 ijkl MNOP 5678"

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.posts: list[dict[str, Any]] = []
        create = self.publishing(self.create)
        server.route("/wp-json/wp/v2/posts", lambda r: create(r) if r.method == "POST" else self.list(r))

    def refused(self, request: Request) -> Response | None:
        expected = base64.b64encode(f"{self.USER}:{self.APP_PASSWORD.replace(' ', '')}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            message = "Sorry, you are not allowed to create posts as this user."
            return ok({"code": "rest_cannot_create", "message": message, "data": {"status": 401}}, 401)
        return None

    def create(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        body = request.json()
        if not body.get("title") or not body.get("content"):
            return ok({"code": "empty_content", "message": "Content, title, and excerpt are empty."}, 400)
        wanted = body.get("slug") or str(next(self.ids))
        taken = {p["slug"] for p in self.posts}
        slug, n = wanted, 2
        while slug in taken:  # WordPress quietly makes a clashing slug unique
            slug, n = f"{wanted}-{n}", n + 1
        post = {
            "id": 4000 + len(self.posts) + 1,
            "slug": slug,
            "status": body.get("status", "draft"),
            "title": {"raw": body["title"]},
            "content": {"raw": body["content"]},
            "link": f"https://www.thurrock.gov.uk/news/{slug}/",
        }
        self.posts.append(post)
        return ok(post, 201)

    def list(self, request: Request) -> Response:
        q = request.query
        states = set(q.get("status", "publish").split(","))
        if states - {"publish"} and (refused := self.refused(request)) is not None:
            return refused
        found = [p for p in self.posts if p["status"] in states and (not q.get("slug") or p["slug"] == q["slug"])]
        return ok(found)


# GOV.UK Notify -----------------------------------------------------------------------------------


class FakeNotify(Fake):
    SERVICE, SECRET = "26785a09-ab16-4eb0-8407-a37497a57506", "3d844edf-8d35-48ac-975b-e847b4f122b0"
    API_KEY = f"comms_pipeline-{SERVICE}-{SECRET}"
    TEMPLATE = "f33517ff-2a88-4f6e-b855-c550268ce08a"

    def __init__(
        self, server: Server, template_body: str = "((body))\n\n---\nUnsubscribe: ((unsubscribe_url))"
    ) -> None:
        super().__init__(server)
        self.template_body = template_body
        self.sent: list[dict[str, Any]] = []
        server.route("/v2/notifications/email", self.publishing(self.create))
        server.route("/v2/notifications", self.list)
        server.route(f"/v2/template/{self.TEMPLATE}", self.template)

    def refused(self, request: Request) -> Response | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            header, claims, signature = token.split(".")
            expected = hmac.new(self.SECRET.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
            given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
            payload = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
        except ValueError:
            payload, given, expected = {}, b"", b"x"
        if not hmac.compare_digest(given, expected) or payload.get("iss") != self.SERVICE:
            error = {"error": "AuthError", "message": "Invalid token: API key not found"}
            return ok({"errors": [error], "status_code": 403}, 403)
        if abs(payload.get("iat", 0) - self.now().timestamp()) > 30:
            error = {"error": "AuthError", "message": "Error: Your system clock must be accurate to within 30 seconds"}
            return ok({"errors": [error], "status_code": 403}, 403)
        return None

    def template(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        return ok({"id": self.TEMPLATE, "type": "email", "subject": "((subject))", "body": self.template_body})

    def create(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        body = request.json()
        if body.get("template_id") != self.TEMPLATE:
            error = {"error": "BadRequestError", "message": "Template not found"}
            return ok({"errors": [error], "status_code": 400}, 400)
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", body.get("email_address", "")):
            error = {"error": "ValidationError", "message": "email_address Not a valid email address"}
            return ok({"errors": [error], "status_code": 400}, 400)
        missing = [p for p in ("subject", "body") if p not in body.get("personalisation", {})]
        if missing:
            error = {"error": "BadRequestError", "message": f"Missing personalisation: {', '.join(missing)}"}
            return ok({"errors": [error], "status_code": 400}, 400)
        notification_id = str(uuid.uuid4())
        self.sent.append({"id": notification_id, **body})
        return ok(
            {
                "id": notification_id,
                "reference": body.get("reference"),
                "content": {"subject": body["personalisation"]["subject"], "body": body["personalisation"]["body"]},
                "uri": f"{self.server.url}/v2/notifications/{notification_id}",
                "template": {"id": self.TEMPLATE, "version": 3},
            },
            201,
        )

    def list(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        reference = request.query.get("reference")
        found = [
            {"id": n["id"], "reference": n["reference"], "email_address": n["email_address"], "status": "delivered"}
            for n in self.sent
            if reference is None or n.get("reference") == reference
        ]
        return ok({"notifications": found, "links": {"current": request.path}})
