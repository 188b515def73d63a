"""An edition rendered from its stored inputs: the JSON-safe dict composing wrote, possibly edited.

Composing, the preview, and an edit of an edition's blocks all render through here, so an edit
re-renders every part (HTML and plain text) exactly as composing would.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from markupsafe import Markup

from pipeline.rendering.accessibility import check_edition
from pipeline.rendering.personalise import sentinel
from pipeline.rendering.render import Renderer
from pipeline.rendering.sanitise import html_to_text

EDITABLE_BLOCKS = ("subject", "preheader", "intro", "key_messages")
"""What a person may change in an edition. Stories and national messages come from their sources."""


def template_context(renderer: Renderer, inputs: dict[str, Any]) -> dict[str, Any]:
    nonce = inputs["nonce"]
    context = dict(inputs)
    context["issue_date"] = date.fromisoformat(inputs["issue_date"])
    context["slot"] = lambda name: Markup(sentinel(nonce, name))  # noqa: S704 - a fixed ASCII sentinel
    context["national"] = [
        dict(m, published=date.fromisoformat(m["published"]) if m["published"] else None) for m in inputs["national"]
    ]
    markdown = renderer.markup.filters["markdown"]
    context["stories"] = [
        dict(s, html=(html := markdown(s["markdown"])), text=html_to_text(str(html))) for s in inputs["stories"]
    ]
    return context


def render_inputs(renderer: Renderer, inputs: dict[str, Any]) -> tuple[str, str, list[str]]:
    """The edition's HTML and plain text, and the accessibility check's problems (none: fine).
    Raises TemplateError when a template fails."""
    _mjml, html, text = renderer.email(inputs["template"], template_context(renderer, inputs))
    return html, text, check_edition(inputs["subject"], html, text)
