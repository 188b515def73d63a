"""One address check at import and at send: email-validator's verdict, with a fast path for the common
shape that never accepts what the library refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.addresses import _SURE, address_problem, valid_address
from channels.base import Post
from channels.email_smtp import SmtpAdapter, SmtpConfig
from content_calendar.errors import CalendarError
from pipeline.workspace import read_subscribers

# Accepted by the hand-written check this replaced, refused by email-validator (and so by both faces now).
SLIPPED_THROUGH = ["head@-school.example.org", "head@school.local", "dsl@school.123", '"head"@school.example.org']


def _library(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False, allow_smtputf8=False, allow_quoted_local=False)
    except EmailNotValidError:
        return False
    return address.isascii()


ATOMS = st.from_regex(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}", fullmatch=True)
LABELS = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,20}[A-Za-z0-9])?", fullmatch=True)
SHAPED = st.builds(
    lambda local, labels, tld: ".".join(local) + "@" + ".".join([*labels, tld]),
    st.lists(ATOMS, min_size=1, max_size=4),
    st.lists(LABELS, min_size=1, max_size=3),
    st.from_regex(r"[A-Za-z]{2,8}", fullmatch=True) | st.sampled_from(["local", "test", "invalid", "onion"]),
)


@settings(max_examples=500, deadline=None)
@given(SHAPED)
def test_the_fast_path_accepts_only_what_the_library_accepts(address: str) -> None:
    assert _SURE.fullmatch(address) or len(address.partition("@")[0]) > 64
    assert valid_address(address) == _library(address)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab.-_+@'\"[]1 é", min_size=1, max_size=30))
def test_any_text_gets_the_library_verdict(address: str) -> None:
    assert valid_address(address) == _library(address)


def test_addresses_the_old_check_let_through_are_refused_at_import_by_line(tmp_path: Path) -> None:
    path = tmp_path / "subscribers.csv"
    path.write_text(
        "email,audiences,consent_source,consent_date\nfine@school.example.org,headteachers,form,2025-09-01\n"
    )
    assert [s.email for s in read_subscribers(path)] == ["fine@school.example.org"]
    lines = [f'"{a.replace(chr(34), chr(34) * 2)}",headteachers,form,2025-09-01' for a in SLIPPED_THROUGH]
    path.write_text("email,audiences,consent_source,consent_date\n" + "\n".join(lines) + "\n")
    with pytest.raises(CalendarError) as caught:
        read_subscribers(path)
    assert [(p.line, p.field) for p in caught.value.problems] == [
        (2, "email"),
        (3, "email"),
        (4, "email"),
        (5, "email"),
    ]
    assert "cannot have a hyphen immediately after the @-sign" in str(caught.value.problems[0])


@pytest.mark.parametrize("address", SLIPPED_THROUGH)
def test_the_send_refuses_them_with_the_same_reason(address: str) -> None:
    adapter = SmtpAdapter("headteacher-bulletin", SmtpConfig(host="127.0.0.1", port=9))
    post = Post(channel="headteacher-bulletin", kind="email", text="t", subject="s", html="<p>t</p>", recipient=address)
    (problem,) = adapter.validate(post)
    assert problem.endswith(str(address_problem(address))) and "is not an email address" in problem
