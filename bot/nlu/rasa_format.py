"""Read and write the answer library in Rasa 3 formats.

- NLU data (`nlu_data/`): `nlu:` blocks of `intent` + `examples`; `metadata: {language: nl}` on a
  block (or a `nl/` folder) gives the examples' language.
- Domain (`responses/`): `intents`, and `utter_*` responses whose variants carry a slot condition
  on `language` (the unconditioned variant is English).
- `responses/routing.yml` (no Rasa domain keys, so Rasa ignores it): each intent's mode and role,
  and the roles (with their office hours, time zone and extra closed days: `bot.core.calendar`).
  An intent it does not mention is routed to the default role.
- `responses/emergency.yml` (`triage_emergency:`, no Rasa domain keys either): the emergency
  signals, compiled into `EmergencyRules` by `read_emergency`. They are not part of the library in
  the database: the service reads the file itself (`bot.service.knowledge`); an import only checks it.

Files are read with a loader that refuses YAML aliases (no "billion laughs") and oversized files;
every problem is reported with its file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.core.calendar import CalendarError, calendar
from bot.core.emergency import EmergencyRules, EmergencyRulesError
from bot.core.types import Mode

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_EXAMPLE_CHARS = 2000
DOMAIN_KEYS = {"intents", "responses", "slots", "entities", "forms", "actions", "session_config"}
EMERGENCY_FILE = "emergency.yml"
EMERGENCY_KEY = "triage_emergency"
_LANGS = ("en", "nl")


class LibraryFileError(ValueError):
    """A library file that cannot be used; names the file and the line."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


@dataclass
class Example:
    intent: str
    language: str
    text: str
    source_file: str | None = None


@dataclass
class RoleData:
    slug: str
    name_en: str
    name_nl: str
    area_bound: bool = False
    response_hours: float = 24.0
    escalates_to: str | None = None  # the next role up; None: the admins
    office_hours: str | None = None  # "mon-fri 08:30-17:00" (bot.core.calendar); None: always staffed
    time_zone: str | None = None  # None: Europe/Amsterdam
    closed_days: tuple[str, ...] = ()  # extra closed days, ISO dates


@dataclass
class IntentData:
    name: str
    mode: Mode = Mode.ROUTE
    role: str | None = None
    extra: dict[str, Any] | None = None  # domain properties we keep for a lossless export


@dataclass
class LibraryFiles:
    intents: dict[str, IntentData] = field(default_factory=dict)
    examples: list[Example] = field(default_factory=list)
    responses: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> lang -> text
    response_files: dict[str, str] = field(default_factory=dict)  # key -> file it came from
    roles: dict[str, RoleData] = field(default_factory=dict)
    default_role: str = "public_order_officer"
    domain_extra: dict[str, Any] = field(default_factory=dict)  # slots, session_config, ...


class _LineDict(dict):  # type: ignore[type-arg]
    line: int = 0
    key_lines: dict[str, int]  # set by the loader


class _LineList(list):  # type: ignore[type-arg]
    line: int = 0
    item_lines: tuple[int, ...] = ()


class _SafeLineLoader(yaml.SafeLoader):
    """SafeLoader that remembers line numbers and refuses aliases."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise LibraryFileError(
                self.name, event.start_mark.line + 1, "YAML aliases are not allowed in library files"
            )
        return super().compose_node(parent, index)


def _construct_map(loader: _SafeLineLoader, node: yaml.MappingNode):  # type: ignore[no-untyped-def]
    data = _LineDict()
    data.line = node.start_mark.line + 1
    keys = (k for k, _ in node.value if isinstance(k, yaml.ScalarNode))
    data.key_lines = {str(k.value): k.start_mark.line + 1 for k in keys}
    yield data
    data.update(loader.construct_mapping(node))


def _construct_seq(loader: _SafeLineLoader, node: yaml.SequenceNode):  # type: ignore[no-untyped-def]
    data = _LineList()
    data.line = node.start_mark.line + 1
    data.item_lines = tuple(item.start_mark.line + 1 for item in node.value)
    yield data
    data.extend(loader.construct_sequence(node))


_SafeLineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_SafeLineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def load_yaml(path: Path) -> Any:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise LibraryFileError(path, None, f"file is {size} bytes, more than {MAX_FILE_BYTES}")
    try:
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LibraryFileError(path, None, f"not valid UTF-8 ({exc.reason})") from exc
    loader = _SafeLineLoader(raw)
    loader.name = str(path)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise LibraryFileError(path, mark.line + 1 if mark else None, str(exc.problem)) from exc
    except yaml.YAMLError as exc:
        raise LibraryFileError(path, None, str(exc)) from exc
    except RecursionError as exc:  # "[[[[..." thousands deep: PyYAML composes recursively
        raise LibraryFileError(path, None, "nested too deeply") from exc
    finally:
        loader.dispose()


def _yaml_files(directory: Path) -> Iterator[Path]:
    if directory.is_file():
        yield directory
        return
    if not directory.is_dir():
        raise LibraryFileError(directory, None, "no such directory")
    yield from sorted(p for p in directory.rglob("*") if p.suffix in (".yml", ".yaml"))


def _line(node: Any) -> int | None:
    return getattr(node, "line", None)


def _language_of(path: Path, root: Path, metadata: Any) -> str:
    if isinstance(metadata, dict) and str(metadata.get("language", "")).lower() in _LANGS:
        return str(metadata["language"]).lower()
    for part in path.relative_to(root).parts[:-1] if root.is_dir() else ():
        if part.lower() in _LANGS:
            return part.lower()
    return ""  # unknown: detected from the text by the importer


_EXAMPLE_LINE = re.compile(r"^\s*-\s?(.*)$")


def parse_examples(block: str) -> list[str]:
    out = []
    for raw in block.splitlines():
        match = _EXAMPLE_LINE.match(raw)
        if match and match.group(1).strip():
            out.append(match.group(1).strip())
    return out


def read_nlu(directory: Path, lib: LibraryFiles) -> None:
    for path in _yaml_files(directory):
        data = load_yaml(path)
        if data is None:
            continue
        if not isinstance(data, dict):
            raise LibraryFileError(path, 1, "expected a mapping with an 'nlu:' key")
        blocks = data.get("nlu")
        if blocks is None:
            continue  # stories or rules files live here too
        if not isinstance(blocks, list):
            raise LibraryFileError(path, _line(data), "'nlu' must be a list of blocks")
        rel = str(path.relative_to(directory)) if directory.is_dir() else path.name
        for block in blocks:
            if not isinstance(block, dict):
                raise LibraryFileError(path, _line(data), "each nlu item must be a mapping")
            if "intent" not in block:
                continue  # synonyms, regexes, lookups: not used by the embedded engine
            intent = block["intent"]
            if not isinstance(intent, str) or not re.fullmatch(r"[A-Za-z0-9_/\-]{1,100}", intent):
                raise LibraryFileError(path, _line(block), f"invalid intent name {intent!r}")
            examples = block.get("examples", "")
            if not isinstance(examples, str):
                raise LibraryFileError(path, _line(block), f"examples of {intent} must be a text block")
            language = _language_of(path, directory, block.get("metadata"))
            lib.intents.setdefault(intent, IntentData(intent))
            for text in parse_examples(examples):
                if len(text) > MAX_EXAMPLE_CHARS:
                    raise LibraryFileError(path, _line(block), f"an example of {intent} is too long")
                lib.examples.append(Example(intent, language, text, rel))


def _variant_language(variant: dict[str, Any]) -> str:
    for cond in variant.get("condition") or []:
        if isinstance(cond, dict) and cond.get("name") == "language":
            return str(cond.get("value", "en")).lower()
    return "en"


def read_domain(directory: Path, lib: LibraryFiles) -> None:
    for path in _yaml_files(directory):
        data = load_yaml(path)
        if data is None:
            continue
        if not isinstance(data, dict):
            raise LibraryFileError(path, 1, "expected a mapping")
        rel = str(path.relative_to(directory)) if directory.is_dir() else path.name
        if "triage" in data:
            _read_routing(path, data["triage"], lib)
        if EMERGENCY_KEY in data:  # not stored by an import, but never imported broken
            _emergency_rules(path, data)
        if not DOMAIN_KEYS & set(data):
            continue
        for item in data.get("intents") or []:
            if isinstance(item, str):
                lib.intents.setdefault(item, IntentData(item))
            elif isinstance(item, dict) and len(item) == 1:
                name, props = next(iter(item.items()))
                lib.intents.setdefault(name, IntentData(name)).extra = dict(props or {})
            else:
                raise LibraryFileError(path, _line(data), f"invalid intent entry {item!r}")
        responses = data.get("responses") or {}
        if not isinstance(responses, dict):
            raise LibraryFileError(path, _line(data), "'responses' must be a mapping")
        for key, variants in responses.items():
            if not isinstance(variants, list):
                raise LibraryFileError(path, _line(responses), f"response {key} must be a list")
            texts = lib.responses.setdefault(str(key), {})
            lib.response_files[str(key)] = rel
            for variant in variants:
                if not isinstance(variant, dict) or not isinstance(variant.get("text"), str):
                    raise LibraryFileError(
                        path, _line(variant) or _line(responses), f"response {key}: each variant needs a text"
                    )
                texts.setdefault(_variant_language(variant), variant["text"])
        for key in ("slots", "session_config", "entities", "actions", "forms"):
            if key in data:
                lib.domain_extra[key] = _plain(data[key])


def _calendar(path: Path, slug: str, spec: Any) -> tuple[str | None, str | None, tuple[str, ...]]:
    """A role's office hours, time zone and closed days, checked (`bot.core.calendar`)."""
    always = spec.get("always_staffed") is True
    office = None if always else (str(spec["office_hours"]) if spec.get("office_hours") else None)
    zone = str(spec["time_zone"]) if spec.get("time_zone") else None
    raw = spec.get("closed_days") or []
    if not isinstance(raw, list):
        raw = str(raw).split(",")
    closed = tuple(sorted(str(day).strip() for day in raw if str(day).strip()))
    try:
        parsed = calendar(office, zone, closed)
    except CalendarError as exc:
        raise LibraryFileError(path, _line(spec), f"role {slug}: {exc}") from exc
    return (None if parsed.always else parsed.spec), zone, closed


def _read_routing(path: Path, triage: Any, lib: LibraryFiles) -> None:
    if not isinstance(triage, dict):
        raise LibraryFileError(path, 1, "'triage' must be a mapping")
    if "default_role" in triage:
        lib.default_role = str(triage["default_role"])
    for key in ("roles", "intents"):
        if not isinstance(triage.get(key) or {}, dict):
            raise LibraryFileError(path, _line(triage), f"'triage.{key}' must be a mapping")
    for slug, spec in (triage.get("roles") or {}).items():
        if not isinstance(spec, dict):
            raise LibraryFileError(path, _line(triage), f"role {slug} must be a mapping")
        names = spec.get("name") or {}
        if not isinstance(names, dict):
            raise LibraryFileError(path, _line(spec), f"role {slug}: name must map en/nl to text")
        try:
            hours = float(spec.get("response_hours", 24))
        except (TypeError, ValueError) as exc:
            message = f"role {slug}: response_hours must be a number"
            raise LibraryFileError(path, _line(spec), message) from exc
        office, zone, closed = _calendar(path, str(slug), spec)
        lib.roles[str(slug)] = RoleData(
            slug=str(slug),
            name_en=str(names.get("en") or slug),
            name_nl=str(names.get("nl") or names.get("en") or slug),
            area_bound=bool(spec.get("area_bound", False)),
            response_hours=hours,
            escalates_to=str(spec["escalates_to"]) if spec.get("escalates_to") else None,
            office_hours=office,
            time_zone=zone,
            closed_days=closed,
        )
    for name, spec in (triage.get("intents") or {}).items():
        if not isinstance(spec, dict):
            raise LibraryFileError(path, _line(triage), f"intent {name} must be a mapping")
        try:
            mode = Mode(str(spec.get("mode", "route")))
        except ValueError as exc:
            message = f"intent {name}: unknown mode {spec.get('mode')!r}"
            raise LibraryFileError(path, _line(spec), message) from exc
        data = lib.intents.setdefault(str(name), IntentData(str(name)))
        data.mode = mode
        data.role = str(spec["role"]) if spec.get("role") else None


def read_emergency(path: Path) -> EmergencyRules:
    """The emergency rules in `path` (a file, or a domain directory holding emergency.yml).
    Raises LibraryFileError naming the file, the line and the entry of any problem."""
    if path.is_dir():
        path = path / EMERGENCY_FILE
    if not path.is_file():
        raise LibraryFileError(path, None, "no such file: the emergency rules are required")
    data = load_yaml(path)
    if not isinstance(data, dict) or EMERGENCY_KEY not in data:
        raise LibraryFileError(path, 1, f"expected a mapping with a '{EMERGENCY_KEY}:' key")
    return _emergency_rules(path, data)


def _emergency_rules(path: Path, data: dict[str, Any]) -> EmergencyRules:
    rules = data[EMERGENCY_KEY]
    if not isinstance(rules, dict):
        raise LibraryFileError(path, _line(data), f"'{EMERGENCY_KEY}' must be a mapping")
    try:
        return EmergencyRules.from_data(rules)
    except EmergencyRulesError as exc:
        where = f"{EMERGENCY_KEY}.{exc.where}" if exc.entry else EMERGENCY_KEY
        raise LibraryFileError(path, _entry_line(rules, exc.entry), f"{where}: {exc.problem}") from exc


def _entry_line(node: Any, entry: tuple[str | int, ...]) -> int | None:
    """The line of the deepest part of `entry` the file has: a key's line, or a list item's."""
    line = _line(node)
    for part in entry:
        if isinstance(node, _LineList) and isinstance(part, int) and part < len(node.item_lines):
            return node.item_lines[part]
        if not isinstance(node, _LineDict) or part not in node:
            break
        line = node.key_lines.get(str(part), line)
        node = node[part]
    return line


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def read_library(nlu_dir: Path, domain_dir: Path) -> LibraryFiles:
    """Read a whole library; raises LibraryFileError naming the file and line of any problem."""
    lib = LibraryFiles()
    read_domain(domain_dir, lib)
    read_nlu(nlu_dir, lib)
    for name, intent in lib.intents.items():
        if intent.role and intent.role not in lib.roles:
            raise LibraryFileError(domain_dir, None, f"intent {name} names unknown role {intent.role}")
    for role in lib.roles.values():
        if role.escalates_to and role.escalates_to not in lib.roles:
            message = f"role {role.slug} escalates to unknown role {role.escalates_to}"
            raise LibraryFileError(domain_dir, None, message)
    return lib


# ---------------------------------------------------------------------------------------------
# Writing


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


def _examples_block(texts: list[str]) -> str:
    return "".join(f"- {t}\n" for t in texts)


def write_library(lib: LibraryFiles, nlu_dir: Path, domain_dir: Path) -> list[Path]:
    """Write the library as Rasa files; returns the files written."""
    written: list[Path] = []
    by_file: dict[str, dict[tuple[str, str], list[str]]] = {}
    for ex in lib.examples:
        rel = ex.source_file or f"{ex.language or 'en'}/nlu.yml"
        by_file.setdefault(rel, {}).setdefault((ex.intent, ex.language), []).append(ex.text)
    for rel, groups in by_file.items():
        blocks = []
        for (intent, language), texts in groups.items():
            block: dict[str, Any] = {"intent": intent}
            if language:
                block["metadata"] = {"language": language}
            block["examples"] = _examples_block(texts)
            blocks.append(block)
        written.append(_write(_inside(nlu_dir, rel), {"version": "3.1", "nlu": blocks}))

    intents: list[Any] = [{i.name: i.extra} if i.extra else i.name for i in lib.intents.values()]
    domain: dict[str, Any] = {"version": "3.1", "intents": intents}
    domain.update(lib.domain_extra)
    written.append(_write(domain_dir / "domain.yml", domain))

    files: dict[str, dict[str, Any]] = {}
    for key, by_language in lib.responses.items():
        rel = lib.response_files.get(key) or "answers.yml"
        if rel == "domain.yml" or rel == "routing.yml":
            rel = "answers.yml"
        variants: list[dict[str, Any]] = []
        for language, text in sorted(by_language.items(), key=lambda kv: kv[0] != "en"):
            variant: dict[str, Any] = {"text": text}
            if language != "en":
                variant["condition"] = [{"type": "slot", "name": "language", "value": language}]
            variants.append(variant)
        files.setdefault(rel, {})[key] = variants
    for rel, responses in files.items():
        written.append(_write(_inside(domain_dir, rel), {"version": "3.1", "responses": responses}))

    routing = {
        "triage": {
            "default_role": lib.default_role,
            "roles": {
                r.slug: {
                    "name": {"en": r.name_en, "nl": r.name_nl},
                    "area_bound": r.area_bound,
                    "response_hours": r.response_hours,
                    **({"escalates_to": r.escalates_to} if r.escalates_to else {}),
                    **({"office_hours": r.office_hours} if r.office_hours else {"always_staffed": True}),
                    **({"time_zone": r.time_zone} if r.time_zone else {}),
                    **({"closed_days": list(r.closed_days)} if r.closed_days else {}),
                }
                for r in lib.roles.values()
            },
            "intents": {
                i.name: ({"mode": i.mode.value, "role": i.role} if i.role else {"mode": i.mode.value})
                for i in lib.intents.values()
            },
        }
    }
    header = (
        "# Triage routing: which intents are answered from the library and which go to a\n"
        "# professional. Rasa ignores this file (no domain keys); the triage service reads it.\n"
    )
    path = domain_dir / "routing.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + _dump(routing), encoding="utf-8")
    written.append(path)
    return written


def _inside(base: Path, rel: str) -> Path:
    """`base / rel`, refusing a stored file name that would leave `base` ("../", "/etc/...")."""
    if Path(rel).is_absolute() or ".." in Path(rel).parts:
        raise LibraryFileError(Path(rel), None, "refusing to write outside the export directory")
    return base / rel


def _write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_dump(data), encoding="utf-8")
    return path


def read_thresholds(config_file: Path) -> tuple[float, float, float]:
    """The FallbackClassifier's threshold and ambiguity_threshold from config.yml, and the role
    threshold beside them (`triage: role_threshold:`, a key Rasa does not read)."""
    data = load_yaml(config_file) if config_file.exists() else None
    triage = (data or {}).get("triage") or {}
    role = float(triage.get("role_threshold", 0.6)) if isinstance(triage, dict) else 0.6
    for component in (data or {}).get("pipeline") or []:
        if isinstance(component, dict) and component.get("name") == "FallbackClassifier":
            return (
                float(component.get("threshold", 0.5)),
                float(component.get("ambiguity_threshold", 0.1)),
                role,
            )
    return 0.5, 0.1, role
