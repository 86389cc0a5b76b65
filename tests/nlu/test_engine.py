from pathlib import Path

from bot.nlu.engine import SklearnEngine, normalise, train


def test_trains_saves_and_loads_the_same_model(tmp_path: Path) -> None:
    texts = ["smoke alarm beeping", "rookmelder piept", "hello", "hoi", "loud neighbours", "geluidsoverlast"]
    labels = ["beep", "beep", "greet", "greet", "noise", "noise"]
    result = train(texts, labels)
    path = result.engine.save(tmp_path)
    loaded = SklearnEngine.load(path)
    assert loaded.version == result.engine.version
    parse = loaded.parse("my smoke alarm is beeping")
    assert parse.top is not None and parse.top.name == "beep"
    assert abs(sum(s.confidence for s in parse.ranking) - 1.0) < 1e-6
    assert parse.engine == "sklearn" and parse.model_version == result.engine.version


def test_normalise_folds_case_and_accents() -> None:
    assert normalise("Wijkcoördinator  BELLEN") == "wijkcoordinator bellen"


def test_the_library_model_understands_typical_messages(trained_engine) -> None:  # type: ignore[no-untyped-def]
    cases = {
        "my smoke detector keeps chirping": "fire_alarm_beeping",
        "rookmelder piept elke minuut": "fire_alarm_beeping",
        "how can I stop my bike from getting stolen": "bike_theft_prevention",
        "hoe beveilig ik mijn huis tegen inbrekers": "burglary_prevention",
        "my neighbours play loud music every night": "noise_nuisance",
        "i want to speak to a real person": "human_request",
        "hallo": "greet",
        "hoe blus ik een vlam in de pan": "pan_fire",
        "my passport is lost, where do i report it": "lost_identity_document",
        "wanneer is de sirenetest": "nl_alert_sirens",
        "i want to make a complaint about a rude police officer": "complaint_about_service",
        "ik wil weten hoe het staat met mijn aangifte": "own_case_follow_up",
        "the oil in my pan is burning right now and the flames are getting bigger": "emergency",
    }
    for text, intent in cases.items():
        top = trained_engine.parse(text).top
        assert top is not None and top.name == intent, (text, trained_engine.parse(text).top_k(3))
