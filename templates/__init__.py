"""Packaged templates: email (Jinja2 -> MJML), plain text, posts and reports. A team overrides any of
them by name from its own folder (COMMS_WORKSPACE/templates)."""
