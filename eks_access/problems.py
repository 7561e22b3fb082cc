"""A mistake in the config, with where it is and what to do about it; and the error that
carries every mistake found at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One mistake in the config: where it is and what to do about it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(Exception):
    """The config is invalid; ``problems`` lists every mistake found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def count(self) -> str:
        """ "1 problem", "3 problems"."""
        n = len(self.problems)
        return f"{n} problem{'' if n == 1 else 's'}"
