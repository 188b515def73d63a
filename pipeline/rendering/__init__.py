"""Rendering: Jinja2 + MJML editions, personalisation, sanitising, accessibility checks, previews."""
