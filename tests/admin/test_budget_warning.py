"""The admin dashboard warns while X's 24-hour DM budget is spent, and says when it resets."""

from datetime import UTC, datetime

from bot.core.throttle import SpentBudget
from tests.web.conftest import login, make_user


def test_the_dashboard_warns_while_xs_daily_budget_is_spent(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "ada", admin=True)
    login(app_client, "ada")
    assert 'id="spent-budgets"' not in app_client.get("/admin/dashboard").text
    resets = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    services.spent_budgets["x"] = SpentBudget("x", "24 hours", resets)
    page = app_client.get("/admin/dashboard").text
    assert 'id="spent-budgets"' in page and "X: the message limit is used up" in page
    assert f'datetime="{resets.isoformat(timespec="seconds")}"' in page
    assert "10:30" in page  # when it resets, in the staff's time zone (Europe/Amsterdam)
    del services.spent_budgets["x"]  # a DM went out again
    assert 'id="spent-budgets"' not in app_client.get("/admin/dashboard").text
