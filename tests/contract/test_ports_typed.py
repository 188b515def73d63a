"""Every adapter, repository and fetcher against its port, checked by mypy (this file is in
`[tool.mypy] files`): each function below returns an implementation as its Protocol, so an adapter
that renames a method or changes a signature fails `mypy`. The tests make sure no implementation is
left out of the list."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable, Sequence
from types import ModuleType

import channels
import pipeline.storage
from channels.bluesky import BlueskyAdapter
from channels.email_smtp import SmtpAdapter
from channels.facebook import FacebookAdapter
from channels.file import FileAdapter
from channels.ga4 import Ga4Measurer
from channels.hootsuite import HootsuiteCsvAdapter
from channels.http import ApiChannel
from channels.linkedin import LinkedInAdapter
from channels.mastodon import MastodonAdapter
from channels.memory import MemoryAdapter
from channels.notify import NotifyAdapter
from channels.port import Measurer
from channels.sharepoint import SharePointNewsAdapter
from channels.viva_engage import VivaEngageAdapter
from channels.wordpress import WordPressAdapter
from channels.x import XAdapter
from pipeline import ports
from pipeline.jobs import collect
from pipeline.settings import Settings
from pipeline.storage.audit_store import AuditStore
from pipeline.storage.base import StoreBase
from pipeline.storage.calendar_store import CalendarStore
from pipeline.storage.control_store import ControlStore
from pipeline.storage.feeds_store import FeedStore
from pipeline.storage.ledger import LedgerStore
from pipeline.storage.measure_store import MeasureStore
from pipeline.storage.metrics_store import MetricsStore
from pipeline.storage.outbox_store import OutboxStore
from pipeline.storage.subscribers_store import SubscriberStore
from pipeline.storage.users_store import UserStore

# Channel adapters ---------------------------------------------------------------------------------


def _smtp(a: SmtpAdapter) -> ports.ChannelAdapter:
    return a


def _notify(a: NotifyAdapter) -> ports.ChannelAdapter:
    return a


def _file(a: FileAdapter) -> ports.ChannelAdapter:
    return a


def _memory(a: MemoryAdapter) -> ports.ChannelAdapter:
    return a


def _hootsuite(a: HootsuiteCsvAdapter) -> ports.ChannelAdapter:
    return a


def _api(a: ApiChannel) -> ports.ChannelAdapter:
    return a


def _mastodon(a: MastodonAdapter) -> ports.ChannelAdapter:
    return a


def _facebook(a: FacebookAdapter) -> ports.ChannelAdapter:
    return a


def _x(a: XAdapter) -> ports.ChannelAdapter:
    return a


def _linkedin(a: LinkedInAdapter) -> ports.ChannelAdapter:
    return a


def _bluesky(a: BlueskyAdapter) -> ports.ChannelAdapter:
    return a


def _sharepoint(a: SharePointNewsAdapter) -> ports.ChannelAdapter:
    return a


def _viva_engage(a: VivaEngageAdapter) -> ports.ChannelAdapter:
    return a


def _wordpress(a: WordPressAdapter) -> ports.ChannelAdapter:
    return a


def _ga4(a: Ga4Measurer) -> ports.ChannelAdapter:
    return a


# Measuring: every adapter that reads figures back is a Measurer (channels.port) ------------------


def _measures_facebook(a: FacebookAdapter) -> Measurer:
    return a


def _measures_x(a: XAdapter) -> Measurer:
    return a


def _measures_linkedin(a: LinkedInAdapter) -> Measurer:
    return a


def _measures_mastodon(a: MastodonAdapter) -> Measurer:
    return a


def _measures_bluesky(a: BlueskyAdapter) -> Measurer:
    return a


def _measures_sharepoint(a: SharePointNewsAdapter) -> Measurer:
    return a


def _measures_ga4(a: Ga4Measurer) -> Measurer:
    return a


MEASURER_CHECKS: list[Callable[..., Measurer]] = [
    _measures_facebook,
    _measures_x,
    _measures_linkedin,
    _measures_mastodon,
    _measures_bluesky,
    _measures_sharepoint,
    _measures_ga4,
]


def _channel_settings(s: Settings) -> ports.ChannelSettings:
    return s


# Feeds ---------------------------------------------------------------------------------------------


def _fetcher(f: collect.HttpFeedFetcher) -> ports.FeedFetcher:
    return f


def _fetch_result(r: collect.FetchResult) -> ports.FetchResult:
    return r


# Repositories -------------------------------------------------------------------------------------


def _calendar(r: CalendarStore) -> ports.CalendarRepository:
    return r


def _control(r: ControlStore) -> ports.ControlRepository:
    return r


def _feeds(r: FeedStore) -> ports.FeedRepository:
    return r


def _ledger(r: LedgerStore) -> ports.LedgerRepository:
    return r


def _metrics(r: MetricsStore) -> ports.MetricsRepository:
    return r


def _measures(r: MeasureStore) -> ports.MeasureRepository:
    return r


def _outbox(r: OutboxStore) -> ports.OutboxRepository:
    return r


def _subscribers(r: SubscriberStore) -> ports.SubscriberRepository:
    return r


def _users(r: UserStore) -> ports.UserRepository:
    return r


def _audit(r: AuditStore) -> ports.AuditRepository:
    return r


ADAPTER_CHECKS: list[Callable[..., ports.ChannelAdapter]] = [
    _smtp,
    _notify,
    _file,
    _memory,
    _hootsuite,
    _api,
    _mastodon,
    _facebook,
    _x,
    _linkedin,
    _bluesky,
    _sharepoint,
    _viva_engage,
    _wordpress,
    _ga4,
]
REPOSITORY_CHECKS: list[Callable[..., object]] = [
    _calendar,
    _control,
    _feeds,
    _ledger,
    _metrics,
    _measures,
    _outbox,
    _subscribers,
    _users,
    _audit,
]


def _checked(checks: Sequence[Callable[..., object]]) -> set[type]:
    return {next(iter(typing.get_type_hints(check).values())) for check in checks}


def _classes(package: ModuleType) -> set[type]:
    found: set[type] = set()
    for info in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
        module = importlib.import_module(info.name)
        found |= {c for _, c in inspect.getmembers(module, inspect.isclass) if c.__module__ == module.__name__}
    return found


def test_every_channel_adapter_is_checked_against_the_port() -> None:
    adapters = {
        c
        for c in _classes(channels)
        if all(callable(getattr(c, m, None)) for m in ("check", "validate", "send", "close")) and hasattr(c, "kind")
    }
    assert SmtpAdapter in adapters and XAdapter in adapters
    assert adapters - _checked(ADAPTER_CHECKS) == set()


def test_every_measuring_adapter_is_checked_against_the_measure_port() -> None:
    measuring = {c for c in _classes(channels) if callable(getattr(c, "measure", None)) and hasattr(c, "kind")}
    assert XAdapter in measuring and Ga4Measurer in measuring
    assert measuring - _checked(MEASURER_CHECKS) == set()


def test_every_repository_is_checked_against_its_port() -> None:
    stores = {c for c in _classes(pipeline.storage) if issubclass(c, StoreBase) and c is not StoreBase}
    assert CalendarStore in stores and OutboxStore in stores and LedgerStore in stores
    assert stores - _checked(REPOSITORY_CHECKS) == set()


def test_the_old_one_store_port_is_gone() -> None:
    assert not hasattr(ports, "Store")
