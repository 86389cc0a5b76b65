"""A long-lived helper that runs under `.venv-rasa` (Python 3.10): trains and parses in one process.

The service never imports this module (nor Rasa); `bot.nlu.rasa_training.RasaWorker` starts it as
`.venv-rasa/bin/python bot/nlu/rasa_worker.py` and talks JSON lines over stdin/stdout. Rasa is
imported once, so k-fold cross-validation does not pay Rasa's ~10 s start-up per fold.

Requests and answers, one JSON object a line:
  {"op": "train", "config": path, "nlu": path, "out": dir, "name": str}
                                          -> {"ok": true, "model": path, "seconds": float}
  {"op": "load", "model": path, "key"?: str}   -> {"ok": true}
  {"op": "parse", "texts": [...], "key"?: str}
                                          -> {"ok": true, "results": [<Rasa parse result>, ...]}
(`key` names one of several loaded models; default "default".)
Errors answer {"ok": false, "error": "..."}.
"""

import asyncio
import json
import logging
import os
import sys
import time
import traceback


def main() -> None:
    # Rasa prints to stdout while training: keep the protocol on a private copy of stdout.
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    loop = asyncio.new_event_loop()
    agents = {}
    protocol.write(json.dumps({"ok": True, "ready": True}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            op = request.get("op")
            if op == "train":
                start = time.perf_counter()
                model = train_nlu(
                    request["config"], request["nlu"], request["out"], fixed_model_name=request.get("name")
                )
                if not model:
                    raise RuntimeError("Rasa trained no model")
                answer = {"ok": True, "model": str(model), "seconds": time.perf_counter() - start}
            elif op == "load":
                agents[request.get("key", "default")] = Agent.load(request["model"])
                answer = {"ok": True}
            elif op == "parse":
                agent = agents.get(request.get("key", "default"))
                if agent is None:
                    raise RuntimeError("no model loaded")
                texts = request["texts"]
                results = [loop.run_until_complete(agent.parse_message(t)) for t in texts]
                answer = {"ok": True, "results": results}
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception as exc:  # report and keep serving
            traceback.print_exc()
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        protocol.write(json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    main()
