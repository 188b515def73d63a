"""The root of every error this project raises, and the file/line problems planning reports."""

from __future__ import annotations

from dataclasses import dataclass


class CommsError(Exception):
    """Root of every error the project raises on purpose. Catch this at the entry points."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, in the form `FILE:LINE: field: message`."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class CalendarError(CommsError):
    """One or more problems in the team's strategy or calendar files. Nothing was applied."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
