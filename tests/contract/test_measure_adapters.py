"""Every measuring adapter against a local stand-in of its API (tests/measure_fakes.py): it reads the
figures of the posts it published, in the API's batches, says which were deleted at the source, and
records each fault (an expired token, a rate limit, an HTML answer, an answer that ends early) as a
problem without raising."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from channels.base import Post
from channels.bluesky import BlueskyAdapter
from channels.entra import EntraToken
from channels.facebook import FacebookAdapter
from channels.linkedin import LinkedInAdapter
from channels.mastodon import MastodonAdapter
from channels.measure import Measurement, Patience
from channels.port import Measurer
from channels.registry import IMPORT_ONLY, measures
from channels.sharepoint import SharePointNewsAdapter
from channels.x import XAdapter
from tests.fakes import FakeEntra, ok
from tests.httpserver import Response, Server, http_server
from tests.measure_fakes import (
    HTML,
    Gate,
    MeasuringBluesky,
    MeasuringFacebook,
    MeasuringLinkedIn,
    MeasuringMastodon,
    MeasuringSharePoint,
    MeasuringX,
    figures_of,
)

NOW = datetime(2026, 11, 22, 6, 30, tzinfo=UTC)


@dataclass
class Rig:
    adapter: Any
    fake: Any
    refuse: Callable[[], None]  # make the token stop working
    delete: Callable[[str], None]


def _facebook(server: Server) -> Rig:
    fake = MeasuringFacebook(server)
    adapter = FacebookAdapter("facebook", fake.PAGE, fake.TOKEN, fake.url)
    return Rig(adapter, fake, lambda: setattr(fake, "TOKEN", "rotated"), fake.deleted.add)


def _x(server: Server) -> Rig:
    fake = MeasuringX(server)
    return Rig(XAdapter("x", fake.TOKEN, server.url), fake, lambda: setattr(fake, "TOKEN", "no"), fake.deleted.add)


def _mastodon(server: Server) -> Rig:
    fake = MeasuringMastodon(server)
    adapter = MastodonAdapter("mastodon", server.url, fake.TOKEN)
    return Rig(adapter, fake, lambda: setattr(fake, "TOKEN", "no"), fake.deleted.add)


def _bluesky(server: Server) -> Rig:
    fake = MeasuringBluesky(server)
    adapter = BlueskyAdapter("bluesky", fake.HANDLE, fake.PASSWORD, server.url)

    def refuse() -> None:
        fake.expire_tokens()
        fake.PASSWORD = "revoked"

    return Rig(adapter, fake, refuse, fake.delete)


def _linkedin(server: Server) -> Rig:
    fake = MeasuringLinkedIn(server)
    adapter = LinkedInAdapter("linkedin", fake.TOKEN, fake.AUTHOR, server.url, "202411")
    return Rig(adapter, fake, lambda: setattr(fake, "TOKEN", "no"), fake.deleted.add)


def _sharepoint(server: Server) -> Rig:
    entra = FakeEntra(server)
    fake = MeasuringSharePoint(server, entra)
    session = requests.Session()
    token = EntraToken(
        "sharepoint",
        session,
        login_url=server.url,
        tenant_id=entra.TENANT,
        client_id=entra.CLIENT,
        client_secret=entra.SECRET,
        scope="https://graph.microsoft.com/.default",
    )
    adapter = SharePointNewsAdapter("sharepoint", fake.SITE, token, fake.url, session=session)

    def refuse() -> None:
        entra.issued.clear()  # every token now refused; the adapter still holds one

    return Rig(adapter, fake, refuse, fake.deleted.add)


RIGS = {
    "facebook": _facebook,
    "x": _x,
    "mastodon": _mastodon,
    "bluesky": _bluesky,
    "linkedin": _linkedin,
    "sharepoint": _sharepoint,
}


@pytest.fixture(params=sorted(RIGS))
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    with http_server() as server:
        built = RIGS[request.param](server)
        yield built
        built.adapter.close()


def publish(rig: Rig, count: int) -> list[str]:
    ids = []
    for n in range(count):
        post = Post(rig.adapter.channel, rig.adapter.kind, f"Prevent update number {n}", due_at=NOW - timedelta(days=1))
        ids.append(rig.adapter.send(post, f"key-{n}").external_id)
    return ids


def pull(rig: Rig, ids: list[str], sleeps: list[float] | None = None, max_wait: float = 120) -> Measurement:
    waits = sleeps if sleeps is not None else []
    return rig.adapter.measure(ids, NOW, Patience(sleep=waits.append, max_wait=max_wait))


def test_each_adapter_can_measure_and_says_so_in_the_registry(rig: Rig) -> None:
    assert isinstance(rig.adapter, Measurer)
    assert measures(rig.adapter.kind) != IMPORT_ONLY
    assert measures("viva-engage") == IMPORT_ONLY and measures("wordpress") == IMPORT_ONLY


def test_figures_of_each_post_and_the_deleted_ones(rig: Rig) -> None:
    ids = publish(rig, 3)
    rig.delete(ids[1])
    result = pull(rig, ids)
    assert result.problems == () and not result.fatal
    by_id = {r.external_id: r for r in result.results}
    assert set(by_id) == set(ids)
    assert by_id[ids[1]].gone and not by_id[ids[1]].figures
    seen = by_id[ids[0]].figures
    assert seen and all(v >= 0 for v in seen.values())
    expected = figures_of(ids[0])
    if rig.adapter.kind in ("facebook", "x", "linkedin"):
        assert seen["impressions"] == expected["impressions"]
    if rig.adapter.kind in ("x", "mastodon", "bluesky", "linkedin"):
        assert seen["reactions"] == expected["likes"]
    if rig.adapter.kind == "sharepoint":
        assert seen == {"page_views": expected["impressions"]}


def test_an_expired_token_ends_the_pull_with_a_clear_message(rig: Rig) -> None:
    ids = publish(rig, 2)
    rig.refuse()
    result = pull(rig, ids)
    assert result.fatal and result.results == ()
    [problem] = result.problems
    assert problem.startswith(f"{rig.adapter.channel}: ")
    assert any(word in problem for word in ("401", "token", "Token", "credentials", "refused", "Invalid"))


def test_a_429_is_waited_out_as_the_api_asks(rig: Rig) -> None:
    ids = publish(rig, 2)
    gate: Gate = rig.fake
    gate.fault_next(ok({"error": "Too many requests"}, 429, {"Retry-After": "7"}))
    sleeps: list[float] = []
    result = pull(rig, ids, sleeps)
    assert sleeps == [7.0]
    assert not result.fatal and {r.external_id for r in result.results} == set(ids)


def test_a_rate_limit_longer_than_a_pull_waits_is_said_and_nothing_is_lost(rig: Rig) -> None:
    ids = publish(rig, 2)
    rig.fake.fault_next(ok({"error": "Too many requests"}, 429, {"Retry-After": "3600"}))
    result = pull(rig, ids, max_wait=60)
    assert result.fatal and result.results == ()
    assert "3600 s" in result.problems[0] and "next pull" in result.problems[0]


def test_an_html_answer_is_named_as_such(rig: Rig) -> None:
    ids = publish(rig, 2)
    for _ in range(4):
        rig.fake.fault_next(HTML)
    result = pull(rig, ids)
    assert result.fatal
    assert "HTML page instead of JSON" in result.problems[0]


def test_one_html_answer_is_tried_again(rig: Rig) -> None:
    ids = publish(rig, 2)
    rig.fake.fault_next(Response(502, "<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"}))
    result = pull(rig, ids)
    assert not result.fatal and len(result.results) == 2


# batches and what only some APIs do ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "count", "calls"), [("facebook", 60, 2), ("x", 120, 2), ("bluesky", 30, 2)])
def test_posts_are_asked_for_in_the_apis_batches(name: str, count: int, calls: int) -> None:
    with http_server() as server:
        rig = RIGS[name](server)
        ids = publish(rig, count)
        rig.fake.calls = 0
        result = pull(rig, ids)
        assert len(result.results) == count and not result.problems
        assert rig.fake.calls == calls


def test_x_leaves_impressions_out_where_the_access_level_does_not_give_them() -> None:
    with http_server() as server:
        rig = _x(server)
        ids = publish(rig, 1)
        rig.fake.basic_access = True
        [result] = pull(rig, ids).results
        assert "impressions" not in result.figures and result.figures["reactions"] == figures_of(ids[0])["likes"]


def test_an_answer_that_ends_early_leaves_those_posts_for_the_next_pull() -> None:
    with http_server() as server:
        rig = _x(server)
        ids = publish(rig, 4)
        rig.fake.cut_short = True
        result = pull(rig, ids)
        assert len(result.results) == 2 and not any(r.gone for r in result.results)
        assert not result.fatal and "ended before the figures of 2 post(s)" in result.problems[0]


def test_facebook_asks_again_without_the_posts_graph_says_do_not_exist() -> None:
    with http_server() as server:
        rig = _facebook(server)
        ids = publish(rig, 3)
        rig.delete(ids[0])
        rig.delete(ids[2])
        result = pull(rig, ids)
        assert {r.external_id for r in result.results if r.gone} == {ids[0], ids[2]}
        assert rig.fake.calls == 2  # one refused naming the two, one for the rest


def test_facebook_says_which_permission_a_revoked_token_lacks() -> None:
    with http_server() as server:
        rig = _facebook(server)
        ids = publish(rig, 1)
        rig.fake.revoked = True
        result = pull(rig, ids)
        assert result.fatal and "pages_read_engagement" in result.problems[0]


def test_sharepoint_says_when_the_tenant_does_not_allow_analytics() -> None:
    with http_server() as server:
        rig = _sharepoint(server)
        ids = publish(rig, 1)
        rig.fake.forbidden = True
        result = pull(rig, ids)
        assert result.fatal and "Sites.Read.All" in result.problems[0]
