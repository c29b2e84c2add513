"""What a role raises when it cannot go on."""

from __future__ import annotations

from decentralml_client.errors import DecentralMLError


class RoleError(DecentralMLError, RuntimeError):
    """A role cannot go on (task gone, artifacts unavailable, ...)."""

    hint = "check the task with `decentralml task show`; the journal lets the role resume."


class Stopped(DecentralMLError):
    """The role was asked to stop."""

    hint = "run the same command again to resume from the journal."
