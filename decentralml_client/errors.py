"""The one exception hierarchy: every error DecentralML raises derives from DecentralMLError.

Each error carries a ``hint``: what the user can do about it. Subclasses set a default hint as a
class attribute; a raise site may give a more precise one (``raise KeyNotFound(msg, hint=...)``).
The CLI prints the message and the hint, never a traceback (see ``cli/_common.errors_to_exit``).
"""

from __future__ import annotations


class DecentralMLError(Exception):
    """Base class of every error the package raises on purpose."""

    hint: str = "see the message above; `decentralml --help` lists the commands."

    def __init__(self, *args: object, hint: str | None = None) -> None:
        super().__init__(*args)
        if hint is not None:
            self.hint = hint
