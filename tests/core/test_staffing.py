"""Who is on duty, and where a question goes when nobody of its role is (pure)."""

from __future__ import annotations

from bot.core.library import Area, Library
from bot.core.staffing import Member, Staffing, next_up, path, place
from bot.core.types import Role
from tests.helpers.emergency import SHIPPED_RULES

ROLES = {
    "wijkagent": Role("wijkagent", {}, area_bound=True, escalates_to="oov"),
    "coordinator": Role("coordinator", {}, area_bound=True, escalates_to="wijkagent"),
    "brandweer": Role("brandweer", {}, escalates_to="oov"),
    "oov": Role("oov", {}),
    "loop_a": Role("loop_a", {}, escalates_to="loop_b"),
    "loop_b": Role("loop_b", {}, escalates_to="loop_a"),
}
AREAS = (Area("centrum", "Centrum", ((1011, 1018),)), Area("noord", "Noord", ((1020, 1039),)))
LIB = Library(intents={}, roles=ROLES, default_role="oov", areas=AREAS, emergency=SHIPPED_RULES)


def test_members_cover_their_roles_and_areas() -> None:
    staffing = Staffing.of(
        [Member(frozenset({"wijkagent"}), frozenset({"centrum"})), Member(frozenset({"brandweer"}))]
    )
    assert staffing.serves("wijkagent", "centrum", True)
    assert not staffing.serves("wijkagent", "noord", True)
    assert staffing.serves("wijkagent", None, True)  # area unknown yet: someone of the role
    assert staffing.serves("brandweer", "noord", False)
    assert not staffing.serves("oov", None, False)
    assert staffing.unstaffed(LIB) == ["coordinator", "loop_a", "loop_b", "oov", "wijkagent:noord"]
    everywhere = Staffing.of(
        [Member(frozenset({"wijkagent"}), frozenset({"centrum"})), Member(frozenset({"wijkagent"}))]
    )
    assert everywhere.serves("wijkagent", "noord", True)


def test_a_question_goes_up_the_path_past_roles_nobody_holds() -> None:
    staffing = Staffing.of([Member(frozenset({"oov"}))])
    placed = place("coordinator", "noord", LIB, staffing)
    assert placed.role == "oov" and not placed.for_admins
    assert len(placed.reasons) == 2 and "coordinator for area noord" in placed.reasons[0]
    assert place("oov", None, LIB, staffing).moved is False


def test_nobody_on_the_path_leaves_it_with_its_role_for_the_admins() -> None:
    placed = place("brandweer", None, LIB, Staffing.of([]))
    assert placed.role == "brandweer" and placed.for_admins
    assert placed.reasons[-1] == "nobody on duty on the whole path: for the admins"


def test_an_area_bound_role_is_staffed_per_area() -> None:
    staffing = Staffing.of(
        [Member(frozenset({"wijkagent"}), frozenset({"centrum"})), Member(frozenset({"oov"}))]
    )
    assert place("wijkagent", "centrum", LIB, staffing).role == "wijkagent"
    assert place("wijkagent", "noord", LIB, staffing).role == "oov"


def test_a_cycle_in_the_settings_ends_the_path() -> None:
    assert path("loop_a", LIB) == ["loop_a", "loop_b"]
    assert place("loop_a", None, LIB, Staffing.of([])).for_admins


def test_an_unclaimed_emergency_moves_one_step_at_a_time_to_the_admins() -> None:
    staffing = Staffing.of([Member(frozenset({"wijkagent", "oov", "coordinator"}))])
    first = next_up("coordinator", None, LIB, staffing)
    assert first.role == "wijkagent" and not first.for_admins
    second = next_up("wijkagent", None, LIB, staffing)
    assert second.role == "oov" and not second.for_admins
    last = next_up("oov", None, LIB, staffing)
    assert last.role == "oov" and last.for_admins
