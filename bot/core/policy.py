"""The triage policy: emergency first, then smalltalk, a library answer, or a route to a human.

Pure: it takes the message, the engine's parse and the library (with its emergency rules), and
returns a Decision with its reasons. Storage, channels and engines live elsewhere.
"""

from __future__ import annotations

from dataclasses import replace

from bot.core.emergency import detect_emergency, is_hypothetical
from bot.core.library import Library
from bot.core.types import Action, Decision, IntentScore, Language, Mode, Parse, Thresholds


def decide(
    text: str,
    language: Language,
    parse: Parse,
    library: Library,
    thresholds: Thresholds,
    area_known: bool = False,
) -> Decision:
    ranking = parse.top_k(3)
    top = parse.top
    intent = top.name if top else None
    confidence = top.confidence if top else 0.0

    def make(action: Action, role: str | None, reasons: list[str], **extra: object) -> Decision:
        return Decision(
            action=action,
            language=language,
            intent=intent,
            confidence=confidence,
            role=role,
            ranking=ranking,
            reasons=tuple(reasons),
            thresholds=thresholds,
            **extra,  # type: ignore[arg-type]
        )

    # 1. Emergency first: the rules or the classifier, unless clearly hypothetical.
    signal = detect_emergency(text, library.emergency)
    top_mode = library.mode(intent)
    if signal.is_emergency:
        return make(Action.EMERGENCY, _emergency_role(library), [signal.reason])
    if top_mode is Mode.EMERGENCY and not is_hypothetical(text, library.emergency):
        return make(
            Action.EMERGENCY,
            _emergency_role(library),
            [f"classifier: {intent} {confidence:.2f}"],
        )

    confident, why = _is_confident(ranking, thresholds)
    reasons = [why]

    # 2. Smalltalk.
    if top_mode is Mode.SMALLTALK and confident:
        return make(Action.SMALLTALK, None, reasons + ["smalltalk intent"])

    # 3. A library answer.
    if top_mode is Mode.ANSWER and confident and intent is not None:
        if library.answer(intent, language) is not None:
            return make(Action.ANSWER, None, reasons + ["approved answer"], answer_intent=intent)
        reasons.append(f"no approved {language.value} answer for {intent}")

    # 4. Route: the intent's role when we are sure of the intent; unsure of the intent, the role
    # that holds enough of the ranking; the default role otherwise.
    spec = library.spec(intent)
    roles = role_ranking(parse, library)
    if confident and spec is not None and spec.role and top_mode is not Mode.EMERGENCY:
        role = spec.role
        reasons.append(f"route intent -> {role}" if top_mode is Mode.ROUTE else f"-> {role}")
    elif roles and roles[0].confidence >= thresholds.role_threshold and top_mode is not Mode.EMERGENCY:
        role = roles[0].name
        reasons.append(f"role-level: {role} holds {roles[0].confidence:.2f} of the ranking "
                       f">= {thresholds.role_threshold:.2f}")
    else:
        role = library.default_role
        if top_mode is Mode.SMALLTALK or top_mode is Mode.EMERGENCY:
            reasons.append(f"unsure {top_mode.value}: to a person")
        reasons.append(f"default role {role}")
    ask_area = library.role(role).area_bound and not area_known
    if ask_area:
        reasons.append("area-bound role, area unknown: ask once")
    return make(Action.ROUTE, role, reasons, ask_area=ask_area, roles=roles[:3])


def role_ranking(parse: Parse, library: Library) -> tuple[IntentScore, ...]:
    """The parse's confidence summed per role (each intent counts for the role that owns it;
    smalltalk, out-of-scope and emergency intents for none), best first."""
    owners = library.owners
    mass: dict[str, float] = {}
    for score in parse.ranking:
        role = owners.get(score.name)
        if role is not None:
            mass[role] = mass.get(role, 0.0) + score.confidence
    return tuple(IntentScore(role, round(total, 4))
                 for role, total in sorted(mass.items(), key=lambda kv: (-kv[1], kv[0])))


def honour(decision: Decision, requested: Action, library: Library, by: str) -> Decision:
    """The decision for a message an outside assistant (`by`: Rasa's rules) asked us to handle
    as `requested`. Our policy keeps the last word where safety is concerned: our emergency
    rules escalate any message, and an answer the library does not have in the citizen's
    language becomes a route. The outside assistant runs its own dialogue, so we never ask for
    the area."""
    reason = f"{by}: action_{requested.value}"
    if requested is Action.EMERGENCY and decision.action is not Action.EMERGENCY:
        decision = replace(
            decision, action=Action.EMERGENCY, role=_emergency_role(library), answer_intent=None
        )
    elif requested is Action.ROUTE and decision.action not in (Action.EMERGENCY, Action.ROUTE):
        decision = replace(decision, action=Action.ROUTE, role=library.default_role, answer_intent=None)
    return replace(decision, ask_area=False, reasons=(reason, *decision.reasons))


def _emergency_role(library: Library) -> str:
    for spec in library.intents.values():
        if spec.mode is Mode.EMERGENCY and spec.role:
            return spec.role
    return library.default_role


def _is_confident(ranking: tuple[IntentScore, ...], thresholds: Thresholds) -> tuple[bool, str]:
    if not ranking:
        return False, "nothing predicted"
    top = ranking[0]
    if top.confidence < thresholds.threshold:
        return False, f"low confidence {top.confidence:.2f} < {thresholds.threshold:.2f}"
    if len(ranking) > 1:
        margin = top.confidence - ranking[1].confidence
        if margin < thresholds.ambiguity_threshold:
            return False, (
                f"ambiguous: {top.name} vs {ranking[1].name} margin {margin:.2f} "
                f"< {thresholds.ambiguity_threshold:.2f}"
            )
    return True, f"confident {top.name} {top.confidence:.2f}"
