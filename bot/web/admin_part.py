"""The admin part of the console: library, learning, routing, dashboard and delivery pages.
Listed in `bot.web.plugins.PARTS` after `bot.web.console_part` (static files, middleware)."""

from __future__ import annotations

from fastapi import FastAPI

from bot.app import Services
from bot.web import admin, admin_dashboard, admin_deliveries, admin_learning, admin_team


async def start(app: FastAPI, services: Services) -> None:
    app.include_router(admin.router)
    app.include_router(admin_learning.router)
    app.include_router(admin_learning.desk_router)
    app.include_router(admin_team.router)
    app.include_router(admin_dashboard.router)
    app.include_router(admin_deliveries.router)
    return None
