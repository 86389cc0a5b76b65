"""The Rasa engine's HTTP contract, against a fake Rasa (httpx.MockTransport): fast, no Rasa."""

from __future__ import annotations

import json

import httpx
import pytest

from bot.nlu.engine import EngineUnavailable
from bot.nlu.rasa_engine import RasaEngine, parse_from_rasa

PARSED = {
    "text": "hmm",
    "intent": {"name": "nlu_fallback", "confidence": 0.45},
    "intent_ranking": [
        {"name": "nlu_fallback", "confidence": 0.45},
        {"name": "noise_nuisance", "confidence": 0.31},
        {"name": "greet", "confidence": 0.12},
    ],
}


def fake_rasa(requests: list[httpx.Request], status: int = 200) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if status != 200:
            return httpx.Response(status, json={"message": "No agent loaded."})
        if request.url.path == "/status":
            return httpx.Response(200, json={"model_file": "/m/nlu-20250101-abc.tar.gz",
                                             "model_id": "x"})
        if request.url.path == "/model":
            return httpx.Response(204)
        return httpx.Response(200, json=PARSED)

    return httpx.MockTransport(handler)


def test_fallback_is_dropped_so_the_policy_sees_the_real_ranking() -> None:
    parse = parse_from_rasa(PARSED, "v1")
    assert [s.name for s in parse.ranking] == ["noise_nuisance", "greet"]
    assert parse.top is not None and parse.top.confidence == pytest.approx(0.31)
    assert (parse.engine, parse.model_version) == ("rasa", "v1")


def test_parse_posts_the_text_with_the_token_and_names_the_model() -> None:
    seen: list[httpx.Request] = []
    engine = RasaEngine("http://rasa.test", "secret", transport=fake_rasa(seen))
    parse = engine.parse("hmm")
    parse_request = next(r for r in seen if r.url.path == "/model/parse")
    assert parse_request.method == "POST"
    assert parse_request.url.params["token"] == "secret"
    assert json.loads(parse_request.content) == {"text": "hmm"}
    assert parse.model_version == "nlu-20250101-abc"


def test_model_swap_puts_the_model_file() -> None:
    seen: list[httpx.Request] = []
    engine = RasaEngine("http://rasa.test", "secret", transport=fake_rasa(seen))
    engine.load_model("/m/new.tar.gz")  # type: ignore[arg-type]
    put = next(r for r in seen if r.method == "PUT")
    assert put.url.path == "/model" and json.loads(put.content) == {"model_file": "/m/new.tar.gz"}


@pytest.mark.parametrize("status", [409, 500, 503, 401])
def test_a_server_without_model_or_failing_is_unavailable(status: int) -> None:
    engine = RasaEngine("http://rasa.test", "secret", transport=fake_rasa([], status))
    with pytest.raises(EngineUnavailable):
        engine.parse("hello")


def test_an_unreachable_server_is_unavailable() -> None:
    from tests.rasa.conftest import free_port

    engine = RasaEngine(f"http://127.0.0.1:{free_port()}", "secret", timeout=2)
    with pytest.raises(EngineUnavailable):
        engine.parse("hello")
