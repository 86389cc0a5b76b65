"""The console fixtures (app client, users, live server, browser) from tests/web."""

from tests.web.conftest import (  # noqa: F401
    app_client,
    browser,
    live_server,
)
