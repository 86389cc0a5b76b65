"""`GET /metrics` for Prometheus: the message-path counters (every worker's) and what the database
knows at scrape time.

Who may read it: a request from loopback (Prometheus or its agent on the same host) without a
token, unless METRICS_LOOPBACK_OPEN=false; anyone else only with `Authorization: Bearer
<METRICS_TOKEN>`. A request that came through a proxy (it carries X-Forwarded-For, Forwarded or
X-Real-IP) is never taken for loopback: a reverse proxy on the same host must not open the
metrics to the internet.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from bot.app import Services
from bot.config import Settings
from bot.service import metrics
from bot.service.status_metrics import DatabaseCollector
from bot.web.deps import ServicesDep

PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def from_loopback(request: Request) -> bool:
    if any(header in request.headers for header in PROXY_HEADERS):
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed(request: Request, settings: Settings) -> bool:
    token = settings.metrics_token
    if token:
        given = request.headers.get("authorization") or ""
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
    return settings.metrics_loopback_open and from_loopback(request)


def scrape(services: Services) -> bytes:
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(services.sessions))
    return metrics.exposition() + generate_latest(registry)


async def metrics_endpoint(request: Request, svc: ServicesDep) -> Response:
    """Prometheus text format: counters, histograms and the database's gauges."""
    if not allowed(request, svc.settings):
        hint = "a METRICS_TOKEN" if svc.settings.metrics_token else "loopback (or set METRICS_TOKEN)"
        return JSONResponse(
            {"detail": f"metrics need {hint}"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    body = await asyncio.to_thread(scrape, svc)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI, settings: Settings) -> None:
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)


async def start(app: FastAPI, services: Services) -> None:
    return None
