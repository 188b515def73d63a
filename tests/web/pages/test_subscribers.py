"""The subscribers page: counts for everyone, addresses for admins only; an import previewed with every
problem by line, all or nothing; unsubscribe, erase and the subject access export."""

from __future__ import annotations

import io
import json

from flask.testing import FlaskClient

from pipeline.app import Pipeline
from tests.conftest import EXAMPLE
from tests.web.items.conftest import csrf_token, field_value
from tests.web.pages.conftest import SignIn

KNOWN = "head@gable-hall.example.org"  # in examples/thurrock/subscribers.csv
HEADER = "email,name,organisation,audiences,consent_source,consent_date\n"
GOOD = HEADER + (
    "new.head@school.example.org,Ms New,New School,headteachers,sign-up form,2026-11-01\n"
    f"{KNOWN},Mrs A. Patel,Gable Hall School,headteachers;governors,sign-up form,2025-09-01\n"
)
BAD = HEADER + (
    "ok@school.example.org,Ms Ok,A School,headteachers,sign-up form,2026-11-01\n"
    "typo@school.example.org,Mr Typo,B School,headteacher,sign-up form,2026-11-01\n"
    "a@@b.org,Someone,C School,governors,sign-up form,2026-11-01\n"
)


def _count(team: Pipeline) -> int:
    return len(team.repos.subscribers.all())


def _preview(client: FlaskClient, content: str, name: str = "new.csv") -> tuple[int, str]:
    page = client.get("/subscribers").text
    response = client.post(
        "/subscribers/import/preview",
        data={"csrf_token": csrf_token(page), "file": (io.BytesIO(content.encode()), name)},
        content_type="multipart/form-data",
    )
    return response.status_code, response.text


def test_counts_for_everyone_addresses_for_admins_only(team: Pipeline, signed_in: SignIn) -> None:
    total = _count(team)
    for role in ("viewer", "author", "approver"):
        client = signed_in(role)
        page = client.get("/subscribers").text
        assert f"{total} people are on the list in all" in page
        assert 'data-audience="headteachers"' in page
        assert "@" not in page.replace("@thurrock.gov.uk", ""), f"a {role} sees no subscriber's address"
        assert KNOWN not in client.get(f"/subscribers?email={KNOWN}").text
        assert client.get("/subscribers/export.csv").status_code == 403
        token = csrf_token(page)
        for action in ("/subscribers/unsubscribe", "/subscribers/erase", "/subscribers/access", "/subscribers/import"):
            assert client.post(action, data={"csrf_token": token, "email": KNOWN, "sure": "y"}).status_code == 403
    admin = signed_in("admin").get(f"/subscribers?email={KNOWN}").text
    assert f"<h3>{KNOWN}</h3>" in admin and "Gable Hall School" in admin
    assert _count(team) == total


def test_a_bad_audience_refuses_the_whole_file_with_every_problem_by_line(team: Pipeline, signed_in: SignIn) -> None:
    before = _count(team)
    status, page = _preview(signed_in("admin"), BAD, "autumn.csv")
    assert status == 400
    assert "autumn.csv:3: audiences: &#39;headteacher&#39; is not an audience in strategy.yaml" in page
    assert "did you mean &#39;headteachers&#39;?" in page
    assert "autumn.csv:4: email:" in page, "the address checked as at send"
    assert "autumn.csv was not imported: nothing was changed." in page
    assert _count(team) == before and team.repos.subscribers.find("ok@school.example.org") is None


def test_a_good_file_is_previewed_then_imported(team: Pipeline, signed_in: SignIn) -> None:
    admin = signed_in("admin")
    before = _count(team)
    status, preview = _preview(admin, GOOD)
    assert status == 200 and _count(team) == before, "a preview stores nothing"
    assert "<dt>New people</dt><dd>1</dd>" in preview
    assert "<dt>People already on the list, updated</dt><dd>1</dd>" in preview
    done = admin.post(
        "/subscribers/import",
        data={"csrf_token": field_value(preview, "csrf_token"), "upload": field_value(preview, "upload")},
    )
    assert done.status_code == 302 and _count(team) == before + 1
    person = team.repos.subscribers.find(KNOWN)
    assert person is not None and person.audiences == ("headteachers", "governors")
    assert "Imported: 1 added, 1 updated." in admin.get("/subscribers").text


def test_unsubscribe_export_and_erase_a_person(team: Pipeline, signed_in: SignIn) -> None:
    admin = signed_in("admin")
    token = csrf_token(admin.get(f"/subscribers?email={KNOWN}").text)
    access = admin.post("/subscribers/access", data={"csrf_token": token, "email": KNOWN})
    held = json.loads(access.text)
    assert held["subscriber"]["email"] == KNOWN and held["subscriber"]["organisation"] == "Gable Hall School"
    assert "attachment" in access.headers["Content-Disposition"]
    assert admin.post("/subscribers/unsubscribe", data={"csrf_token": token, "email": KNOWN}).status_code == 302
    person = team.repos.subscribers.find(KNOWN)
    assert person is not None and person.status == "unsubscribed"
    unsure = admin.post("/subscribers/erase", data={"csrf_token": token, "email": KNOWN})
    assert unsure.status_code == 400 and "Confirm that the person" in unsure.text
    assert team.repos.subscribers.find(KNOWN) is not None
    erased = admin.post("/subscribers/erase", data={"csrf_token": token, "email": KNOWN, "sure": "y"})
    assert erased.status_code == 302 and team.repos.subscribers.find(KNOWN) is None
    everyone = admin.get("/subscribers/export.csv")
    assert everyone.mimetype == "text/csv" and KNOWN not in everyone.text
    assert everyone.text.splitlines()[0] == "email,name,organisation,audiences,consent_source,consent_date,status"
    entries, _ = team.repos.audit.entries(action="subscriber", limit=20)
    assert {"subscriber.exported", "subscriber.unsubscribed", "subscriber.erased", "subscribers.exported"} <= {
        e.action for e in entries
    }
    assert all(KNOWN not in f"{e.target} {e.detail}" for e in entries), "the audit log never holds an address"


def test_the_example_file_previews_cleanly(team: Pipeline, signed_in: SignIn) -> None:
    status, preview = _preview(signed_in("admin"), (EXAMPLE / "subscribers.csv").read_text(), "subscribers.csv")
    assert status == 200 and "<dt>New people</dt><dd>0</dd>" in preview
