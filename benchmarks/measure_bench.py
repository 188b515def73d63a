"""Pulling a year of figures: 2,000 posts over 7 posting channels (two Facebook Pages, X, LinkedIn,
Mastodon, Bluesky, SharePoint news) and the web page's GA4 property, 8 channels in all, measured by
`pipeline.jobs.measure` against the local stand-ins of each API (tests/measure_fakes.py), each with a
rate limit the pull must honour.

    python -m benchmarks.measure_bench [--posts 2000] [--limit 4] [--window 0.5] [--repeat 3]

Each stand-in allows `--limit` requests per `--window` seconds and answers beyond that with 429 and
Retry-After, which the pull waits out (really sleeping). Printed per channel: posts, the calls the APIs
need at least (their largest batch: ceil(posts / batch), plus the sign-in and listing calls the API
cannot do without), the calls made (every request the stand-in saw, 429s included), and the 429s; then
the time of the whole pull (median of `--repeat`), and a second pull's (which replaces every figure:
the row count is unchanged).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from content_calendar.models import Channel
from content_calendar.strategy import load_strategy
from pipeline.app import make_pipeline
from pipeline.jobs.measure import measure
from pipeline.records import MEASURED
from pipeline.settings import load_settings
from pipeline.storage.tables import DeliveryRow, OutboxRow
from tests.conftest import EXAMPLE
from tests.fakes import FakeEntra
from tests.httpserver import http_server
from tests.measure_fakes import (
    FakeGoogle,
    MeasuringBluesky,
    MeasuringFacebook,
    MeasuringLinkedIn,
    MeasuringMastodon,
    MeasuringSharePoint,
    MeasuringX,
)

NOW = datetime(2026, 11, 22, 6, 30, tzinfo=UTC)
# channel code -> (kind, the API's largest batch, calls it cannot do without besides the batches)
CHANNELS = {
    "facebook": ("facebook", 50, 0),
    "facebook-partners": ("facebook", 50, 0),
    "x": ("x", 100, 0),
    "linkedin": ("linkedin", 20, 0),
    "mastodon": ("mastodon", 20, 0),
    "bluesky": ("bluesky", 25, 1),  # createSession
    "sharepoint": ("sharepoint", 20, 3),  # an Entra token, the site's lists (2 pages)
}


def _strategy() -> Any:
    base = load_strategy(EXAMPLE / "strategy.yaml")
    extra = [Channel(code, code.title(), kind) for code, (kind, _b, _x) in CHANNELS.items()]
    kept = [c for c in base.channels if c.code not in CHANNELS and c.kind != "viva-engage"]
    return replace(base, channels=tuple(kept + extra))


def _external_id(code: str, n: int, fakes: dict[str, Any]) -> str:
    if code.startswith("facebook"):
        return f"{MeasuringFacebook.PAGE}_{n}"
    if code == "x":
        return str(1_860_000_000_000_000_000 + n)
    if code == "linkedin":
        return f"urn:li:share:{7_260_000_000_000_000_000 + n}"
    if code == "mastodon":
        return str(110_000_000 + n)
    if code == "bluesky":
        return f"at://{MeasuringBluesky.DID}/app.bsky.feed.post/3l{n:011d}"
    return f"6967cfed-0000-0000-0000-{n:012d}"


def _seed(p: Any, fakes: dict[str, Any], posts: int) -> dict[str, int]:
    """`posts` sent posts spread over the channels and the year, in the database and in each stand-in."""
    codes = list(CHANNELS)
    per: dict[str, int] = dict.fromkeys(codes, 0)
    with p.repos.engine.begin() as conn:
        for n in range(posts):
            code = codes[n % len(codes)]
            per[code] += 1
            ext = _external_id(code, n, fakes)
            due = NOW - timedelta(days=365 * n / posts + 1)
            result = conn.execute(
                OutboxRow.__table__.insert().values(  # type: ignore[attr-defined]
                    occurrence_key=f"bench-{n}@{due:%Y-%m-%d}",
                    entry_id=f"bench-{n}",
                    channel=code,
                    kind="post",
                    title=f"Post {n}",
                    body="",
                    html="",
                    audiences=["residents"],
                    objectives=["1", "3"],
                    due_at=due,
                    status="sent",
                    content_hash="x",
                    created_at=due,
                    updated_at=due,
                )
            )
            item_id = result.inserted_primary_key[0]
            conn.execute(
                DeliveryRow.__table__.insert().values(  # type: ignore[attr-defined]
                    outbox_id=item_id, recipient="-", audience="residents", status="sent", external_id=ext, sent_at=due
                )
            )
            _known(fakes, code, ext)
    return per


def _known(fakes: dict[str, Any], code: str, ext: str) -> None:
    if code.startswith("facebook"):
        fakes["facebook"].posts.append({"id": ext})
    elif code == "x":
        fakes["x"].tweets.append({"id": ext})
    elif code == "linkedin":
        fakes["linkedin"].posts.append({"id": ext})
    elif code == "mastodon":
        fakes["mastodon"].statuses[ext] = {"id": ext, "url": "", "content": ""}
    elif code == "bluesky":
        fakes["bluesky"].records[ext] = {"text": ""}
    else:
        fakes["sharepoint"].pages[ext] = {"id": ext}


def _settings(tmp: Path, url: str, entra: FakeEntra, key_file: Path) -> Any:
    return load_settings(
        environ={"COMMS_CHANNEL__FACEBOOK_PARTNERS__FACEBOOK_PAGE_ID": "5550001112"},
        env_file=None,
        database_url=f"sqlite:///{tmp / 'bench.db'}",
        workspace=EXAMPLE,
        secret_key="bench",
        facebook_page_id=MeasuringFacebook.PAGE,
        facebook_page_token=MeasuringFacebook.TOKEN,
        facebook_graph_url=url + "/v21.0",
        x_token=MeasuringX.TOKEN,
        x_api_url=url,
        linkedin_token=MeasuringLinkedIn.TOKEN,
        linkedin_author=MeasuringLinkedIn.AUTHOR,
        linkedin_api_url=url,
        mastodon_base_url=url,
        mastodon_token=MeasuringMastodon.TOKEN,
        bluesky_handle=MeasuringBluesky.HANDLE,
        bluesky_app_password=MeasuringBluesky.PASSWORD,
        bluesky_pds_url=url,
        microsoft_tenant_id=entra.TENANT,
        microsoft_client_id=entra.CLIENT,
        microsoft_client_secret=entra.SECRET,
        microsoft_login_url=url,
        graph_url=url + "/v1.0",
        sharepoint_site_id=MeasuringSharePoint.SITE,
        ga4_property_id=FakeGoogle.PROPERTY,
        ga4_page_paths=("/prevent",),
        ga4_credentials_file=str(key_file),
        ga4_token_url=url + "/token",
        ga4_api_url=url,
        ga4_objective="4",
    )


def _key(tmp: Path) -> tuple[Path, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = tmp / "key.json"
    path.write_text(json.dumps({"client_email": FakeGoogle.EMAIL, "private_key": pem.decode()}))
    return path, key.public_key()


def run(posts: int, limit: int, window: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch, http_server() as server:
        tmp = Path(scratch)
        key_file, public = _key(tmp)
        entra = FakeEntra(server)
        fakes: dict[str, Any] = {
            "facebook": MeasuringFacebook(server),
            "x": MeasuringX(server),
            "linkedin": MeasuringLinkedIn(server),
            "mastodon": MeasuringMastodon(server),
            "bluesky": MeasuringBluesky(server),
            "sharepoint": MeasuringSharePoint(server, entra),
            "ga4": FakeGoogle(server, public),
        }
        fakes["ga4"].rows = {(f"2026{m:02d}", "/prevent", "page_view"): 100 * m for m in range(1, 12)}
        fakes["ga4"].page_size = 10_000  # GA4's own page (the tests make it small to test paging)
        for fake in fakes.values():
            fake.limit(limit, window)
        p = make_pipeline(_settings(tmp, server.url, entra, key_file))
        p.repos.calendar.import_plan(_strategy(), [], NOW)
        per = _seed(p, fakes, posts)
        before = len(server.requests)
        started = time.perf_counter()
        outcome = measure(p, NOW)
        first = time.perf_counter() - started
        seen = _calls(server.requests[before:])
        limited = {name: fake.limited for name, fake in fakes.items()}  # the first pull's 429s
        rows = len(p.repos.metrics.figures(source=MEASURED))
        started = time.perf_counter()
        again = measure(p, NOW + timedelta(days=1))
        second = time.perf_counter() - started
        assert len(p.repos.metrics.figures(source=MEASURED)) == rows, "a second pull replaces, never adds"
        p.close()
    return {
        "first_s": first,
        "second_s": second,
        "outcome": outcome.summary(),
        "failures": list(outcome.failures) + list(again.failures),
        "per": per,
        "calls": seen,
        "limited": limited,
        "rows": rows,
    }


def _calls(requests: list[Any]) -> dict[str, int]:
    """Requests by API, from the paths the stand-ins saw."""
    out: dict[str, int] = {}
    for r in requests:
        path = r.path.split("?")[0]
        name = (
            "facebook"
            if path.startswith("/v21.0")
            else "x"
            if path.startswith("/2/")
            else "linkedin"
            if path.startswith("/rest/")
            else "mastodon"
            if path.startswith("/api/v1/")
            else "bluesky"
            if path.startswith("/xrpc/")
            else "sharepoint"
            if path.startswith(("/v1.0", "/0a1b2c3d"))
            else "ga4"
        )
        out[name] = out.get(name, 0) + 1
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.measure_bench", description=__doc__)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=4, help="requests each stand-in allows per window")
    parser.add_argument("--window", type=float, default=0.5, help="the rate limit's window, in seconds")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    runs = [run(args.posts, args.limit, args.window) for _ in range(args.repeat)]
    last = runs[-1]
    limit = f"each API {args.limit} requests per {args.window:g} s"
    print(f"{args.posts} posts over {len(CHANNELS)} posting channels + GA4; {limit}")
    print(f"first pull: {last['outcome']}; failures: {last['failures'] or 'none'}; {last['rows']} figures stored")
    print("| API | posts | least calls | calls made | 429s | calls per post | least per post |")
    print("|---|---|---|---|---|---|---|")
    total_posts = total_least = total_made = 0
    for api in ("facebook", "x", "linkedin", "mastodon", "bluesky", "sharepoint"):
        codes = [c for c in CHANNELS if CHANNELS[c][0] == api]
        n = sum(last["per"][c] for c in codes)
        least = sum(math.ceil(last["per"][c] / CHANNELS[c][1]) + CHANNELS[c][2] for c in codes)
        made = last["calls"].get(api, 0)
        total_posts, total_least, total_made = total_posts + n, total_least + least, total_made + made
        print(f"| {api} | {n} | {least} | {made} | {last['limited'][api]} | {made / n:.3f} | {least / n:.3f} |")
    print(f"| ga4 (the months) | - | 2 | {last['calls'].get('ga4', 0)} | {last['limited']['ga4']} | - | - |")
    shares = f"{total_made / total_posts:.3f} | {total_least / total_posts:.3f}"
    print(f"| all posts | {total_posts} | {total_least} | {total_made} | | {shares} |")
    firsts = [r["first_s"] for r in runs]
    seconds = [r["second_s"] for r in runs]
    print(f"time of a pull: median {statistics.median(firsts):.2f} s (runs {', '.join(f'{t:.2f}' for t in firsts)});")
    print(f"a second pull (replacing every figure): median {statistics.median(seconds):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
