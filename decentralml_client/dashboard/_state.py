"""What the routes share: the app's reader, data, live-update broadcaster and follower."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from decentralml_client.dashboard._data import DashboardData
from decentralml_client.dashboard._live import Broadcaster, Follower
from decentralml_client.dashboard._reader import Reader


@dataclass
class DashboardState:
    """One dashboard app's moving parts (``app.state.dashboard``)."""

    reader: Reader
    data: DashboardData
    broadcaster: Broadcaster
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    follower: Follower | None = None
    names: Callable[[], Mapping[str, str]] = dict  # address -> name to show (create_app)
    ipfs_api: str = "/ip4/127.0.0.1/tcp/5001/http"  # where adopted models are fetched from


def get_state(request: Request) -> DashboardState:
    state: DashboardState = request.app.state.dashboard
    return state


def get_data(request: Request) -> DashboardData:
    return get_state(request).data


State = Annotated[DashboardState, Depends(get_state)]
Data = Annotated[DashboardData, Depends(get_data)]
