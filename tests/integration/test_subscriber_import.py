"""A subscriber import is checked against the imported strategy's audiences, all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.app import Pipeline
from pipeline.errors import CalendarError
from pipeline.services.actor import Actor
from pipeline.services.subscribers import SubscriberService


def test_an_audience_typo_refuses_the_whole_file(pipeline: Pipeline, tmp_path: Path) -> None:
    pipeline.import_plan(now=datetime(2026, 11, 1, tzinfo=UTC))
    path = tmp_path / "subscribers.csv"
    path.write_text(
        "email,name,audiences,consent_source,consent_date\n"
        "head@gable-hall.example.org,Mrs A. Patel,headteachers,form,2025-09-01\n"
        "head@harris.example.org,Ms R. Green,headteacher,form,2025-09-03\n"
    )
    with pytest.raises(CalendarError, match=r"subscribers.csv:3: audiences: 'headteacher' .* 'headteachers'\?"):
        SubscriberService.of(pipeline).import_file(Actor.cli("ops"), path)
    assert pipeline.repos.subscribers.all() == [], "nothing applied"


def test_a_repeated_address_or_a_row_with_no_audience_refuses_the_file_by_line(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    pipeline.import_plan(now=datetime(2026, 11, 1, tzinfo=UTC))
    path = tmp_path / "subscribers.csv"
    path.write_text(
        "email,name,audiences,consent_source,consent_date\n"
        "head@gable-hall.example.org,Mrs A. Patel,headteachers,form,2025-09-01\n"
        "dsl@gable-hall.example.org,Mr J. Okafor,,form,2025-09-01\n"
        "Head@Gable-Hall.example.org,Mrs A. Patel,governors,form,2025-09-01\n"
    )
    with pytest.raises(CalendarError) as caught:
        SubscriberService.of(pipeline).import_file(Actor.cli("ops"), path)
    assert [str(p).removeprefix(f"{path}:") for p in caught.value.problems] == [
        "3: audiences: name at least one audience (else nothing is ever sent to this address)",
        "4: email: already on line 2: one row per address",
    ]
    assert pipeline.repos.subscribers.all() == [], "nothing applied"
