"""Plain text as the HTML that web and intranet destinations want."""

from __future__ import annotations

import html

from channels.limits import URL


def text_to_html(text: str) -> str:
    """Plain text as safe HTML paragraphs, with links made clickable."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]

    def linked(part: str) -> str:
        out, last = [], 0
        for m in URL.finditer(part):
            out.append(html.escape(part[last : m.start()]))
            url = html.escape(m.group(0), quote=True)
            out.append(f'<a href="{url}">{url}</a>')
            last = m.end()
        out.append(html.escape(part[last:]))
        return "".join(out).replace("\n", "<br>")

    return "".join(f"<p>{linked(p)}</p>" for p in paragraphs)
