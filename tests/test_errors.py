"""The one exception hierarchy: every error the package defines derives from DecentralMLError
and carries a hint that says what to do."""

from __future__ import annotations

import importlib
import pkgutil

import decentralml_client
from decentralml_client.errors import DecentralMLError
from decentralml_client.ml.errors import MLError


def test_every_error_the_package_raises_has_one_base_and_a_hint() -> None:
    modules = [importlib.import_module(info.name) for info in
               pkgutil.walk_packages(decentralml_client.__path__, "decentralml_client.")]
    raised = [v for m in modules for v in vars(m).values()
              if isinstance(v, type) and issubclass(v, BaseException)
              and v.__module__ == m.__name__ and not v.__name__.startswith("_")]
    assert len(raised) > 20
    for cls in raised:
        assert issubclass(cls, DecentralMLError), cls
        assert cls.hint and cls.hint.endswith("."), cls
    assert issubclass(MLError, ValueError)


def test_a_raise_site_may_give_a_more_precise_hint() -> None:
    class Failed(DecentralMLError):
        hint = "the default."

    assert Failed("x").hint == "the default."
    assert Failed("x", hint="this one.").hint == "this one."
    assert str(Failed("what happened")) == "what happened"
