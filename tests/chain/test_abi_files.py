"""The pallet interface ships inside the package; the repository's pallet-abi/ is the same file."""

from __future__ import annotations

import json

from decentralml_client.chain import abi


def test_the_client_loads_the_interface_from_its_own_package() -> None:
    assert abi.ABI_FILE.is_relative_to(abi.Path(abi.__file__).resolve().parent)
    recorded = abi.load()
    assert recorded["pallet"] == "DecentralMl" and recorded["calls"] and recorded["errors"]


def test_the_repository_copy_is_the_packaged_file() -> None:
    assert json.loads(abi.REPO_ABI_FILE.read_text()) == abi.load(), (
        "pallet-abi/decentralml.json and the package's copy differ: run `make abi`"
    )
