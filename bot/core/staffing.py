"""Who is on duty, and where a question goes when nobody of its role can answer it.

Each role has an escalation path (`Role.escalates_to`, ending with the admins). A question for a
role with no active member (for an area-bound role: none for the question's area) goes up the path
at once, and says why; an emergency nobody claims goes up one step each time its minutes run out
(`bot.service.escalation`). Pure: the service builds `Staffing` from the team.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.core.library import Library


@dataclass(frozen=True, slots=True)
class Member:
    """An active professional as staffing sees them: their roles and areas (none: every area)."""

    roles: frozenset[str]
    areas: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Staffing:
    """For each role, the areas its active members cover; None when one of them covers all."""

    covered: Mapping[str, frozenset[str] | None]

    @classmethod
    def of(cls, members: Iterable[Member]) -> Staffing:
        covered: dict[str, frozenset[str] | None] = {}
        for member in members:
            for role in member.roles:
                if not member.areas or covered.get(role, frozenset()) is None:
                    covered[role] = None
                else:
                    covered[role] = (covered.get(role) or frozenset()) | member.areas
        return cls(covered)

    def serves(self, role: str, area: str | None, area_bound: bool) -> bool:
        """Whether someone of `role` can take a question (for `area`, when the role is area-bound
        and the area is known)."""
        if role not in self.covered:
            return False
        areas = self.covered[role]
        return not area_bound or area is None or areas is None or area in areas

    def unstaffed(self, library: Library) -> list[str]:
        """Roles nobody holds, and "role:area" for an area-bound role's uncovered areas."""
        gaps: list[str] = []
        for slug, role in sorted(library.roles.items()):
            if slug not in self.covered:
                gaps.append(slug)
            elif role.area_bound and self.covered[slug] is not None:
                covered = self.covered[slug] or frozenset()
                gaps += [f"{slug}:{a.slug}" for a in library.areas if a.slug not in covered]
        return gaps


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a question lands: the role, whether it is the admins' now, and why."""

    role: str
    for_admins: bool = False
    reasons: tuple[str, ...] = ()

    @property
    def moved(self) -> bool:
        return bool(self.reasons)


def path(role: str, library: Library) -> list[str]:
    """`role` and the roles above it, in order (a cycle in the settings ends the path)."""
    steps = [role]
    while (up := library.role(steps[-1]).escalates_to) and up in library.roles and up not in steps:
        steps.append(up)
    return steps


def place(role: str, area: str | None, library: Library, staffing: Staffing, skip: int = 0) -> Placement:
    """The first role from `role` up its path (after `skip` steps) with someone on duty. When
    there is none, the question stays with `role` (whoever joins it will see it) and is the
    admins' until then."""
    steps = path(role, library)
    reasons: list[str] = []
    for index, slug in enumerate(steps):
        if index < skip:
            continue
        if staffing.serves(slug, area, library.role(slug).area_bound):
            return Placement(slug, False, tuple(reasons))
        where = f" for area {area}" if area and library.role(slug).area_bound else ""
        reasons.append(f"nobody on duty as {slug}{where}: up the escalation path")
    return Placement(role, True, (*reasons, "nobody on duty on the whole path: for the admins"))


def next_up(role: str, area: str | None, library: Library, staffing: Staffing) -> Placement:
    """An emergency nobody claimed in time: the next role up with someone on duty, or the
    admins."""
    steps = path(role, library)
    if len(steps) == 1:
        return Placement(role, True, (f"unclaimed emergency: no role above {role}; for the admins",))
    placed = place(role, area, library, staffing, skip=1)
    reason = f"unclaimed emergency: up from {role}"
    return Placement(placed.role, placed.for_admins, (reason, *placed.reasons))
