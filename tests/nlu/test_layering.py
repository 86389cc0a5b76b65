"""bot/nlu/ (the engines) imports only bot.core, bot.config and itself, never the service built on
it (bot.app and its Services, bot.service, bot.store, bot.web, bot.channels): no import cycle, and
the engines stay usable without a database. Every import counts, including those inside
functions, `if TYPE_CHECKING:` blocks and `importlib.import_module("...")` calls."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT

NLU = PROJECT_ROOT / "bot" / "nlu"
ALLOWED = ("bot.core", "bot.config", "bot.nlu")
MODULES = sorted(NLU.rglob("*.py"))


def imported_names(source: str, package: str) -> list[str]:
    """Every module (or module.name) the source imports, anywhere in the file, relative imports
    resolved against `package`."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            found += [f"{base}.{alias.name}" for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(node.args[0].value)
    return found


def forbidden(names: list[str]) -> list[str]:
    return [
        n
        for n in names
        if (n == "bot" or n.startswith("bot.")) and not any(n == a or n.startswith(a + ".") for a in ALLOWED)
    ]


def package_of(path: Path) -> str:
    return ".".join(path.relative_to(PROJECT_ROOT).parent.parts)


def test_the_check_sees_every_kind_of_import() -> None:
    source = """
import json
import bot.app
from bot.nlu.engine import train
from bot.core.types import Parse
from bot import service
from .. import web
from ..channels.telegram import part
from . import evaluate
if TYPE_CHECKING:
    from bot.app import Services
def later():
    from bot.service import retrain
    importlib.import_module("bot.store.models")
"""
    assert forbidden(imported_names(source, "bot.nlu")) == [
        "bot.app",
        "bot.service",
        "bot.web",
        "bot.channels.telegram.part",
        "bot.app.Services",
        "bot.service.retrain",
        "bot.store.models",
    ]
    assert len(MODULES) >= 10  # the glob found the package


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(NLU)))
def test_nlu_imports_only_core_config_and_itself(path: Path) -> None:
    names = imported_names(path.read_text(encoding="utf-8"), package_of(path))
    assert forbidden(names) == [], f"{path.name} reaches outside bot.core, bot.config and bot.nlu"
