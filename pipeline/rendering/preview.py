"""`comms preview ENTRY`: the entry's next edition written to files (HTML, text), without storing or
sending anything; with headless Chromium installed, screenshots at 600 px and 375 px too."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from content_calendar.plan import plan
from pipeline.app import Pipeline
from pipeline.errors import CommsError
from pipeline.jobs.compose import EMAIL_KINDS
from pipeline.jobs.freshness import notice
from pipeline.rendering.edition import render_inputs
from pipeline.rendering.personalise import Personaliser, recipient_values

SAMPLE = recipient_values(
    "Sample Reader", "Sample School", "reader@example.org", "https://example.org/unsubscribe?token=preview"
)


def write_preview(
    p: Pipeline, entry_id: str, for_date: str | None, out: Path, notices: list[str] | None = None
) -> list[Path]:
    """The files written; an edition with nothing new adds the approver's notice to `notices`."""
    strategy = p.repos.calendar.strategy()
    entries = [e for e in p.repos.calendar.entries() if e.id == entry_id]
    if strategy is None or not entries:
        raise CommsError(f"no calendar entry {entry_id!r}; run `comms calendar import` and check the id")
    start = date.fromisoformat(for_date) if for_date else datetime.now(UTC).date()
    overrides = p.repos.calendar.overrides()
    upcoming = [
        o for o in plan(strategy, entries, start, start + timedelta(days=400), overrides) if o.status != "skipped"
    ]
    if not upcoming:
        raise CommsError(f"{entry_id} has no occurrence on or after {start}")
    occ, channel = upcoming[0], strategy.channel(upcoming[0].channel)
    composer = p.composer()
    out.mkdir(parents=True, exist_ok=True)
    stem = out / occ.key.replace("@", "-")
    if channel is None or channel.kind not in EMAIL_KINDS:
        text, problems = composer.post_text(strategy, occ, channel, datetime.now(UTC))  # type: ignore[arg-type]
        stem.with_suffix(".txt").write_text(text + ("\n\nProblems: " + "; ".join(problems) if problems else ""))
        return [stem.with_suffix(".txt")]
    inputs = composer.email_inputs(strategy, occ, datetime.now(UTC))
    if notices is not None and (said := notice(inputs["freshness"])):
        notices.append(said)
    html, text, _problems = render_inputs(p.renderer, inputs)
    paths = [stem.with_suffix(".html"), stem.with_suffix(".txt")]
    paths[0].write_text(Personaliser(html, inputs["nonce"]).render(SAMPLE), encoding="utf-8")
    paths[1].write_text(Personaliser(text, inputs["nonce"], escape=False).render(SAMPLE), encoding="utf-8")
    return paths + screenshots(paths[0])


def screenshots(html: Path) -> list[Path]:
    """600 px (desktop) and 375 px (phone) screenshots, when Chromium is installed; else none."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        return []
    shots = []
    for width in (600, 375):
        shot = html.with_name(f"{html.stem}-{width}px.png")
        subprocess.run(  # noqa: S603 - a fixed browser binary and our own file
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                f"--window-size={width},2400",
                f"--screenshot={shot}",
                html.resolve().as_uri(),
            ],
            check=False,
            capture_output=True,
            timeout=60,
        )
        if shot.exists():
            shots.append(shot)
    return shots
