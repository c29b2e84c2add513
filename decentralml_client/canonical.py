"""The project's canonical JSON: the bytes that are hashed and signed.

Sorted keys, compact separators, UTF-8 and finite numbers only (NaN and ±Inf are refused, so
two parties serialising the same value always produce the same bytes).
"""

from __future__ import annotations

import json
from typing import Any


def canonical_json(obj: Any, *, ensure_ascii: bool = False) -> bytes:
    """``obj`` as canonical JSON bytes; raises ``ValueError`` on NaN or ±Inf.

    ``ensure_ascii=True`` escapes non-ASCII characters (``\\u00e9``): the safetensors header
    of :mod:`decentralml_client.ml.codec` is written that way.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=ensure_ascii,
                      allow_nan=False).encode("utf-8")
