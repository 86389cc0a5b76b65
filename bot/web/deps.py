"""Typed dependencies: a handler declares what it needs in its signature.

    ServicesDep      the `Services`: settings, sessions, triage, senders, channel health
    DispatcherDep    the outbox dispatcher; `.wakeup.set()` sends a reply enqueued outside the intake
    BroadcasterDep   the console's live updates (server-sent events)

The lifespan (`bot.web.api.create_app`) puts the services and the dispatcher on `app.state`, the
console part (`bot.web.console_part`) the broadcaster; this module is the one place that reads them.
Code without a handler's signature uses `services_of(request)` (the auth helpers behind `render`)
or, in a part, which has the app but no request, `dispatcher_of(app)`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from bot.app import Services
from bot.service.outbox import Dispatcher
from bot.web.events import Broadcaster


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def dispatcher_of(app: FastAPI) -> Dispatcher:
    """The dispatcher the lifespan starts before the parts (`bot.web.plugins.start`)."""
    dispatcher: Dispatcher = app.state.dispatcher
    return dispatcher


# `async def`: FastAPI would run a plain `def` dependency in its thread pool, and these only read.


async def get_services(request: Request) -> Services:
    return services_of(request)


async def get_dispatcher(request: Request) -> Dispatcher:
    return dispatcher_of(request.app)


async def get_broadcaster(request: Request) -> Broadcaster:
    broadcaster: Broadcaster = request.app.state.broadcaster
    return broadcaster


ServicesDep = Annotated[Services, Depends(get_services)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
BroadcasterDep = Annotated[Broadcaster, Depends(get_broadcaster)]
