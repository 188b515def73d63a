"""Templates: Jinja2 producing MJML (compiled with mjml-python) for email, text for posts and the
plain-text part, HTML for reports. A team's own folder overrides any packaged template by name."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
import markdown as md
from markupsafe import Markup
from mjml import mjml2html

from pipeline.errors import TemplateError
from pipeline.rendering.sanitise import html_to_text, sanitise_html


def package_templates() -> Path:
    """The templates shipped with the package (works from a wheel as well as a checkout)."""
    return Path(str(files("templates")))


def _markdown(text: str) -> Markup:
    return Markup(sanitise_html(md.markdown(text or "", extensions=["sane_lists"])))  # noqa: S704 - sanitised


def _template_line(exc: BaseException) -> int | None:
    line = getattr(exc, "lineno", None)
    if line:
        return int(line)
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".j2"):
            return frame.lineno
    return None


class Renderer:
    def __init__(self, overrides: Sequence[Path] = ()) -> None:
        folders = [str(p) for p in overrides if p.is_dir()] + [str(package_templates())]
        loader = jinja2.FileSystemLoader(folders)
        common: dict[str, Any] = {
            "loader": loader,
            "undefined": jinja2.StrictUndefined,
            "trim_blocks": True,
            "lstrip_blocks": True,
            "keep_trailing_newline": True,
        }
        self.markup = jinja2.Environment(autoescape=True, **common)
        self.text = jinja2.Environment(autoescape=False, **common)  # noqa: S701 - plain text, never HTML
        for env in (self.markup, self.text):
            env.filters["markdown"] = _markdown
            env.filters["as_text"] = html_to_text
            env.filters["longdate"] = lambda d: f"{d:%A} {d.day} {d:%B %Y}"
            env.filters["monthyear"] = lambda d: f"{d:%B %Y}"

    def exists(self, name: str) -> bool:
        try:
            self.markup.get_template(name)
        except jinja2.TemplateNotFound:
            return False
        return True

    def _render(self, env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
        try:
            return env.get_template(name).render(**context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(name, None, f"template not found ({exc.name})") from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(exc.name or name, exc.lineno, f"syntax error: {exc.message}") from None
        except (jinja2.TemplateError, TypeError, ValueError, KeyError, AttributeError) as exc:
            raise TemplateError(name, _template_line(exc), f"{type(exc).__name__}: {exc}") from None

    def markup_page(self, name: str, context: dict[str, Any]) -> str:
        return self._render(self.markup, name, context)

    def text_page(self, name: str, context: dict[str, Any]) -> str:
        return self._render(self.text, name, context)

    def email(self, template: str, context: dict[str, Any]) -> tuple[str, str, str]:
        """(mjml, html, text) for an email template: email/NAME.mjml.j2 and email/NAME.txt.j2."""
        mjml = self.markup_page(f"email/{template}.mjml.j2", context)
        try:
            html = mjml2html(mjml)
        except (ValueError, RuntimeError) as exc:
            raise TemplateError(f"email/{template}.mjml.j2", None, f"MJML error: {exc}") from None
        return mjml, html, self.text_page(f"email/{template}.txt.j2", context)
