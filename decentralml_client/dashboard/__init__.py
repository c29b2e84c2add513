"""The read-only web dashboard: ``create_app(settings)`` serves pages, ``/api`` and SSE.

Pages and API read the DecentralMl pallet through a short-lived cache; a background thread
follows new blocks and pushes server-sent events so open pages refresh themselves.
"""

from decentralml_client.dashboard.app import create_app

__all__ = ["create_app"]
