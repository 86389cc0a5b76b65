"""The `triage` command line."""

from __future__ import annotations

import json
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bot.app import Services, build, import_library_files, library_is_empty
from bot.config import PROJECT_ROOT, Settings
from bot.core.types import Direction
from bot.nlu.rasa_format import LibraryFileError, write_library
from bot.service.emergency_eval import CASES_FILE as EMERGENCY_CASES

app = typer.Typer(help="Citizen Q&A triage for public-safety teams.", no_args_is_help=True)
library_app = typer.Typer(help="Import and export the answer library (Rasa YAML).", no_args_is_help=True)
queue_app = typer.Typer(help="The professionals' queue, from the terminal.", no_args_is_help=True)
user_app = typer.Typer(help="Professionals and admins.", no_args_is_help=True)
app.add_typer(library_app, name="library")
app.add_typer(queue_app, name="queue")
app.add_typer(user_app, name="user")
privacy_app = typer.Typer(help="Retention, erasure and subject access (GDPR).", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")

out = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    """The settings, or a plain message naming what is wrong (never a traceback) and exit 2."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"]).upper()
            text = error["msg"].removeprefix("Value error, ")
            problems.append(text if name in text else f"{name}: {text}")
        raise _fail(f"cannot start: {'; '.join(problems)}", code=2) from None


def _services() -> Services:
    return build(_settings())


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


# -- setup --------------------------------------------------------------------------------------


@app.command()
def init(
    admin: Annotated[str, typer.Option(help="Username of the first admin.")] = "admin",
    reimport: Annotated[bool, typer.Option(help="Re-import the library even if one exists.")] = False,
) -> None:
    """Migrate the database, import the library, train, and create the first admin."""
    from bot.service import users
    from bot.service.models_registry import active_model

    services = _services()
    out.print(f"database: {services.settings.db_url.split('@')[-1]}")
    imported = False
    if reimport or library_is_empty(services):
        try:
            counts = import_library_files(services)
        except LibraryFileError as exc:
            raise _fail(str(exc)) from exc
        out.print(f"library imported: {counts}")
        imported = True
    with services.sessions() as session:
        model = active_model(session)
    if imported or model is None:
        _train(services)
    else:
        out.print(f"model {model.version} is active (retrain with `triage train`)")
    with services.sessions.begin() as session:
        if users.find(session, admin) is None:
            password = secrets.token_urlsafe(12)
            users.create(session, admin, password, is_admin=True, display_name="Administrator")
            out.print(
                f"[bold]first admin[/bold] {admin!r}, one-time password: [bold]{password}[/bold] "
                f"(log in within {users.ONE_TIME_HOURS} hours, then choose your own)"
            )
        else:
            out.print(f"admin {admin!r} exists")
    _warn_unstaffed(services)


def _warn_unstaffed(services: Services) -> None:
    """Roles nobody holds: their questions wait for the admins, emergencies included."""
    from bot.store import team

    with services.sessions() as session:
        gaps = team.staffing(session).unstaffed(services.triage.library(session))
    if gaps:
        out.print(
            f"[yellow]warning:[/yellow] nobody is on duty for {len(gaps)} role(s) or area(s): "
            f"{', '.join(gaps)}. Their questions go up the escalation path and, with nobody on it, "
            "to the admins, emergencies included. Add professionals in the console (Team) or with "
            "`triage user add NAME --roles ROLE`."
        )


@library_app.command("import")
def library_import(
    nlu: Annotated[Path, typer.Option(help="Rasa NLU data directory or file.")] = Path("nlu_data"),
    domain: Annotated[Path, typer.Option(help="Rasa domain directory or file.")] = Path("responses"),
    train: Annotated[bool, typer.Option(help="Retrain after importing.")] = True,
) -> None:
    """Replace the library with Rasa NLU data and a domain (the database is unchanged on error)."""
    services = _services()
    try:
        counts = import_library_files(services, nlu, domain)
    except LibraryFileError as exc:
        raise _fail(str(exc)) from exc
    out.print(f"imported: {counts}")
    if train:
        _train(services)


@library_app.command("export")
def library_export(
    nlu: Annotated[Path, typer.Option(help="Directory for the NLU data.")] = Path("nlu_data"),
    domain: Annotated[Path, typer.Option(help="Directory for the domain.")] = Path("responses"),
) -> None:
    """Write the library from the database as Rasa YAML (approved answers only)."""
    from bot.store.library_repo import export_library

    services = _services()
    with services.sessions() as session:
        lib = export_library(session)
    files = write_library(lib, nlu, domain)
    out.print(f"wrote {len(files)} files to {nlu} and {domain}")


@library_app.command("rules")
def library_rules(
    nlu: Annotated[Path, typer.Option(help="Rasa NLU data directory.")] = PROJECT_ROOT / "nlu_data",
    domain: Annotated[Path, typer.Option(help="Rasa domain directory.")] = PROJECT_ROOT / "responses",
) -> None:
    """Regenerate rules.yml (for running Rasa itself) from the files, after adding an intent."""
    from bot.nlu.rasa_project import write_rules

    try:
        target = write_rules(nlu, domain)
    except LibraryFileError as exc:
        raise _fail(str(exc)) from exc
    out.print(f"wrote {target}")


# -- the model ----------------------------------------------------------------------------------


def _train(services: Services, folds: int = 5) -> None:
    from bot.nlu.engine import train as fit
    from bot.nlu.evaluate import cross_validate
    from bot.service.models_registry import train_from_db
    from bot.store.library_repo import training_data

    with services.sessions() as session:
        texts, labels = training_data(session)
    with Progress(console=out, transient=True) as progress:
        task = progress.add_task("cross-validating", total=folds)
        report = cross_validate(
            texts,
            labels,
            lambda t, y: fit(t, y).engine.parse_many,
            "sklearn",
            folds,
            on_fold=lambda _: progress.advance(task),
        )
        progress.add_task("training", total=None)
        with services.sessions.begin() as session:
            trained = train_from_db(
                session,
                services.settings.models_dir,
                metrics={
                    "accuracy": report.accuracy,
                    "macro_f1": report.macro_f1,
                    "coverage": report.coverage,
                },
            )
    r = trained.result
    out.print(
        f"trained model {r.engine.version}: {r.examples} examples, {r.intents} intents, "
        f"{r.seconds:.1f} s; {report.folds}-fold accuracy {report.accuracy:.3f}, "
        f"macro-F1 {report.macro_f1:.3f}"
    )


@app.command()
def train(
    engine: Annotated[str, typer.Option(help="sklearn (embedded) or rasa.")] = "sklearn",
    folds: Annotated[int, typer.Option(help="Cross-validation folds for the printed accuracy.")] = 5,
) -> None:
    """Train the model from the library in the database and activate it."""
    services = _services()
    if engine == "rasa":
        train_rasa(services, out)
        return
    if engine != "sklearn":
        raise _fail("engine must be sklearn or rasa")
    _train(services, folds)


def train_rasa(services: Services, console: Console) -> None:
    """`triage train --engine rasa`: export the library, `rasa train nlu`, activate the model."""
    from bot.nlu.rasa_engine import RasaNotInstalled, RasaSettings, swap_on_server
    from bot.service.rasa_models import train_from_db

    rasa = RasaSettings()
    try:
        rasa.require_venv()
        with console.status("training with Rasa (rasa train nlu)"):
            trained = train_from_db(services, rasa)
    except (RasaNotInstalled, RuntimeError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise SystemExit(1) from exc
    console.print(
        f"trained Rasa model {trained.version}: {trained.examples} examples, "
        f"{trained.intents} intents, {trained.seconds:.1f} s -> {trained.path}"
    )
    if swap_on_server(trained.path, rasa):
        console.print(f"loaded on the running Rasa server at {rasa.base_url}")


@app.command()
def evaluate(
    folds: Annotated[int, typer.Option(help="Number of folds.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    engine: Annotated[str, typer.Option(help="sklearn or rasa.")] = "sklearn",
    emergencies: Annotated[Path, typer.Option(help="A table of emergencies and near misses.")] = (
        EMERGENCY_CASES
    ),
) -> None:
    """k-fold cross-validation of the library: accuracy, macro-F1, per intent, confusions,
    coverage; what the policy does with the held-out messages (wrong auto-answers, role
    accuracy, emergencies); and the emergency rules on a table of emergencies and near misses."""
    from bot.core.types import Parse
    from bot.nlu.engine import train as fit
    from bot.nlu.evaluate import cross_validate
    from bot.service.emergency_eval import evaluate as evaluate_rules
    from bot.service.emergency_eval import read_cases
    from bot.service.policy_eval import evaluate_policy
    from bot.store.library_repo import training_data

    services = _services()
    with services.sessions() as session:
        texts, labels = training_data(session)
        library = services.triage.library(session)
    parses: dict[int, Parse] = {}
    if engine == "rasa":
        from bot.nlu.rasa_engine import RasaSettings
        from bot.nlu.rasa_training import cross_validate_rasa

        rasa = RasaSettings()
        rasa.require_venv()
        report = cross_validate_rasa(services.settings, rasa, texts, labels, folds)
    else:
        report = cross_validate(
            texts,
            labels,
            lambda t, y: fit(t, y).engine.parse_many,
            "sklearn",
            folds,
            on_parse=parses.__setitem__,
        )
    policy = (
        evaluate_policy(
            texts, labels, [parses[i] for i in range(len(texts))], library, services.triage.thresholds
        )
        if len(parses) == len(texts)
        else None
    )
    try:
        rules = evaluate_rules(read_cases(emergencies), services.triage.emergency)
    except LibraryFileError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        print(
            json.dumps(
                {
                    **report.to_dict(),
                    "policy": policy.to_dict() if policy else None,
                    "emergency_rules": rules.to_dict(),
                },
                indent=2,
            )
        )
        return
    out.print(
        f"[bold]{report.engine}[/bold], {report.folds}-fold, {report.examples} examples, "
        f"{report.intents} intents"
    )
    out.print(
        f"accuracy {report.accuracy:.3f}  macro-F1 {report.macro_f1:.3f}  coverage at precision "
        + "  ".join(f"{k}%: {v:.1%}" for k, v in report.coverage.items())
    )
    table = Table("intent", "precision", "recall", "F1", "n")
    for row in sorted(report.per_intent, key=lambda r: r.f1):
        table.add_row(
            row.intent, f"{row.precision:.2f}", f"{row.recall:.2f}", f"{row.f1:.2f}", str(row.support)
        )
    out.print(table)
    confusions = Table("true intent", "predicted as", "count", title="most frequent confusions")
    for true, pred, n in report.confusions:
        confusions.add_row(true, pred, str(n))
    out.print(confusions)
    if policy is not None:
        out.print(
            f"policy on the held-out messages: wrong auto-answers {policy.wrong_answers}/"
            f"{policy.examples} ({policy.wrong_answer_rate:.1%}), role accuracy "
            f"{policy.role_accuracy:.1%}, emergencies caught {policy.emergencies_caught}/"
            f"{policy.emergencies} ({policy.emergency_recall:.1%}), false alarms "
            f"{policy.false_alarms}/{policy.others} ({policy.false_alarm_rate:.1%})"
        )
    out.print(
        f"emergency rules on {emergencies.name}: recall {rules.recall:.1%}, false alarms "
        f"{rules.false_alarm_rate:.1%} ({rules.total.emergencies} emergencies, "
        f"{rules.total.near_misses} near misses)"
    )


@app.command()
def classify(
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="Read JSON lines on stdin, write JSON lines.")
    ] = False,
) -> None:
    """Dry-run classification: {"text", "language"?} per line in, the decision per line out."""
    if not jsonl:
        raise _fail('only --jsonl is supported: echo \'{"text": "..."}\' | triage classify --jsonl', 2)
    from bot.service.dryrun import classify_stream

    services = _services()
    failures = classify_stream(services, sys.stdin, sys.stdout)
    if failures:
        err.print(f"{failures} line(s) could not be read; see the error objects in the output")


@app.command()
def chat(
    sender: Annotated[str, typer.Option(help="Who you are, as a citizen id.")] = "terminal",
    language: Annotated[str | None, typer.Option(help="en or nl (detected when not given).")] = None,
) -> None:
    """A citizen conversation in the terminal, through the full policy and database."""
    from bot.core.language import parse_language
    from bot.core.types import Channel, InboundMessage

    services = _services()
    lang = parse_language(language)
    out.print("Type a question as a citizen would (Ctrl-D or 'quit' to stop).")
    while True:
        try:
            line = input("you> ")
        except (EOFError, KeyboardInterrupt):
            out.print()
            break
        if line.strip().lower() in ("quit", "exit"):
            break
        result = services.triage.handle(InboundMessage(Channel.CLI, sender, line, lang))
        _deliver_in_app(services)
        for reply in result.replies:
            out.print("[cyan]bot>[/cyan] ", end="")
            out.print(reply.text, highlight=False, markup=False)
            if reply.buttons:
                out.print("     [" + " | ".join(b.label for b in reply.buttons) + "]  (answer in words)")
        if result.decision is not None:
            d = result.decision
            ranking = ", ".join(f"{s.name} {s.confidence:.2f}" for s in d.ranking)
            out.print(
                f"[dim]   ({d.action.value}; {ranking}"
                f"{'; question #' + str(result.question_id) if result.question_id else ''})[/dim]"
            )


def _deliver_in_app(services: Services) -> None:
    import asyncio

    asyncio.run(services.dispatcher().run_once())


# -- queue --------------------------------------------------------------------------------------


def _viewer(services: Services, username: str | None):  # type: ignore[no-untyped-def]
    from bot.service import users
    from bot.service.queue import Viewer

    if username is None:
        return Viewer("cli-admin", is_admin=True)
    with services.sessions() as session:
        pro = users.find(session, username)
        if pro is None:
            raise _fail(f"no user {username!r}")
        return Viewer.of(pro)


@queue_app.command("list")
def queue_list(
    user: Annotated[str | None, typer.Option(help="Show the queue as this professional sees it.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include answered and closed questions.")] = False,
) -> None:
    """Open questions, emergencies first, then by priority and due time."""
    from bot.service import queue

    services = _services()
    viewer = _viewer(services, user)
    statuses = ("open", "claimed", "answered", "closed") if all_ else ("open", "claimed")
    with services.sessions() as session:
        rows = queue.list_questions(session, viewer, statuses)
    table = Table("#", "", "status", "role", "area", "due", "channel", "question")
    now = time.time()
    for q in rows:
        due = (q.due_at.timestamp() - now) / 3600
        table.add_row(
            str(q.id),
            "🚨" if q.emergency else "",
            q.status,
            q.role,
            q.area or "-",
            f"{due:+.1f} h",
            q.channel,
            q.text[:60],
        )
    out.print(table)


@queue_app.command("show")
def queue_show(question_id: int, user: Annotated[str | None, typer.Option()] = None) -> None:
    """One question with the citizen's thread and why the bot routed it."""
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from bot.service import queue
    from bot.store import models as m

    services = _services()
    viewer = _viewer(services, user)
    with services.sessions() as session:
        try:
            q = queue.get_question(session, viewer, question_id)
        except queue.QueueError as exc:
            raise _fail(str(exc)) from exc
        out.print(
            f"[bold]#{q.id}[/bold] {q.status} role={q.role} area={q.area or '-'} "
            f"channel={q.channel} language={q.language} "
            f"due={q.due_at.astimezone(ZoneInfo(services.settings.timezone)):%Y-%m-%d %H:%M %Z}"
            + (" (arrived out of hours)" if q.out_of_hours else "")
        )
        decision = session.scalars(
            select(m.DecisionRecord).where(m.DecisionRecord.message_id == q.message_id)
        ).first()
        if decision is not None:
            out.print(
                "why: "
                + "; ".join(decision.reasons)
                + " | top-3: "
                + ", ".join(f"{n} {c:.2f}" for n, c in decision.ranking)
            )
        for msg in queue.thread(session, viewer, q):
            if isinstance(msg, queue.Hidden):
                out.print(f"  ({queue.hidden_label(msg)})")
                continue
            who = "citizen" if msg.direction == Direction.IN else (msg.author or "bot")
            out.print(f"  {msg.created_at:%H:%M} {who}: {msg.text}", markup=False, highlight=False)


@queue_app.command("answer")
def queue_answer(
    question_id: int,
    text: Annotated[str, typer.Argument(help="Your answer to the citizen.")],
    user: Annotated[str | None, typer.Option(help="Answer as this professional.")] = None,
) -> None:
    """Claim (if needed) and answer a question; the reply goes out on the citizen's channel."""
    from bot.service import professional

    services = _services()
    viewer = _viewer(services, user)
    try:
        professional.answer(services, viewer, question_id, text)
    except Exception as exc:
        from bot.service.queue import QueueError

        if isinstance(exc, QueueError):
            raise _fail(str(exc)) from exc
        raise
    _deliver_in_app(services)
    out.print(f"answered question #{question_id}")


# -- users --------------------------------------------------------------------------------------


@user_app.command("add")
def user_add(
    username: str,
    roles: Annotated[str, typer.Option(help="Comma-separated role slugs.")] = "",
    areas: Annotated[str, typer.Option(help="Comma-separated area slugs (empty: all areas).")] = "",
    admin: Annotated[bool, typer.Option(help="Make an admin.")] = False,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
) -> None:
    """Create a professional (or admin) and print a one-time password."""
    from bot.service import users

    services = _services()
    password = secrets.token_urlsafe(12)
    with services.sessions.begin() as session:
        try:
            users.create(
                session, username, password, is_admin=admin, display_name=name, roles=roles, areas=areas
            )
        except users.UserError as exc:
            raise _fail(str(exc)) from exc
    out.print(
        f"created {username!r}; one-time password: [bold]{password}[/bold] "
        f"(log in within {users.ONE_TIME_HOURS} hours, then choose your own)"
    )


@user_app.command("link")
def user_link(username: str) -> None:
    """Print a one-time code that links USERNAME's Telegram account: send /link CODE to the bot."""
    from bot.service import linking, users

    services = _services()
    with services.sessions.begin() as session:
        pro = users.find(session, username.strip().lower())
        if pro is None:
            raise _fail(f"no user {username!r}")
        code = linking.issue_code(session, pro)
    out.print(f"send [bold]/link {code}[/bold] to the Telegram bot within {linking.VALID_MINUTES} minutes")


# -- privacy ------------------------------------------------------------------------------------


def _citizen_id(session, ref: str) -> int:  # type: ignore[no-untyped-def]
    """A citizen by database id ("17") or by channel identity ("telegram:12345")."""
    from sqlalchemy import select

    from bot.store import models as m

    if ref.isdigit() and session.get(m.Citizen, int(ref)) is not None:
        return int(ref)
    channel, _, external = ref.partition(":")
    found = session.scalars(
        select(m.Citizen.id).where(m.Citizen.channel == channel, m.Citizen.external_id == external)
    ).first()
    if found is None:
        raise _fail(f"no citizen {ref!r} (give an id or channel:external_id)")
    return int(found)


@privacy_app.command("purge")
def privacy_purge(
    days: Annotated[int | None, typer.Option(help="Override RETENTION_DAYS for this run.")] = None,
    retrain_now: Annotated[
        bool | None,
        typer.Option("--retrain/--no-retrain", help="When the model learned expired words: retrain now."),
    ] = None,
) -> None:
    """Anonymise citizens' messages and identities older than the retention period."""
    from bot.service import retention

    services = _services()
    report = retention.run(services.sessions, days or services.settings.retention_days)
    out.print(f"older than {report.cutoff:%Y-%m-%d %H:%M} UTC: {report.counts()}")
    _offer_retrain(services, retrain_now)


@privacy_app.command("export")
def privacy_export(
    citizen: Annotated[str, typer.Argument(help="Citizen id, or channel:external_id.")],
    output: Annotated[Path | None, typer.Option("--out", help="Write to this file (default stdout).")] = None,
) -> None:
    """Everything held about one citizen, as JSON (subject access request)."""
    from bot.service.privacy import export_citizen

    services = _services()
    with services.sessions() as session:
        data = export_citizen(session, _citizen_id(session, citizen))
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        out.print(f"wrote {output}")


@privacy_app.command("erase")
def privacy_erase(
    citizen: Annotated[str, typer.Argument(help="Citizen id, or channel:external_id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    retrain_now: Annotated[
        bool | None,
        typer.Option(
            "--retrain/--no-retrain",
            help="When the model learned from this citizen's words: retrain now (default: ask).",
        ),
    ] = None,
) -> None:
    """Erase one citizen's messages, questions' text and the library's copies of their words
    (right to erasure); audited."""
    from bot.service.privacy import erase

    services = _services()
    if not yes:
        typer.confirm(f"Erase everything held about citizen {citizen}?", abort=True)
    with services.sessions() as session:
        cid = _citizen_id(session, citizen)
    counts = erase(services.sessions, cid, "cli")
    out.print(f"erased citizen {cid}: {counts}")
    _offer_retrain(services, retrain_now)


def _offer_retrain(services: Services, retrain_now: bool | None) -> None:
    """Models that learned erased or expired words are replaced when the admin says so."""
    from bot.service import provenance, retrain

    with services.sessions() as session:
        mark = provenance.marked(session)
    if mark is None:
        return
    out.print(f"{len(mark['models'])} model(s) learned from the removed words.")
    if retrain_now is None and sys.stdin.isatty():
        retrain_now = typer.confirm("Retrain now and delete them?", default=False)
    if not retrain_now:
        out.print("Retrain later: `triage privacy purge --retrain`, or Retrain in the console.")
        return
    try:
        retrain.start(services, "cli").join()
    except retrain.RetrainError as exc:
        raise _fail(str(exc)) from exc
    with services.sessions() as session:
        final = retrain.status(session)
    if final.get("state") != "done":
        raise _fail(f"retrain {final.get('state')}: {final.get('error') or final.get('reason')}")
    out.print(f"model {final.get('candidate')} is active: {final.get('reason')}")


# -- backups ------------------------------------------------------------------------------------


@app.command()
def backup(
    output: Annotated[
        Path | None,
        typer.Argument(help="The backup file (default: <TRIAGE_DATA_DIR>/backups/triage-<UTC time>.tar.gz)."),
    ] = None,
) -> None:
    """Back up the database and the models into one file (safe while the service runs)."""
    from bot.service import backup as backups

    settings = Settings()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    destination = output or settings.data_dir / "backups" / f"triage-{stamp}.tar.gz"
    try:
        manifest = backups.create(settings, destination)
    except backups.BackupError as exc:
        raise _fail(str(exc)) from exc
    out.print(
        f"wrote {destination} ({destination.stat().st_size:,} bytes): {manifest.database}, "
        f"schema {', '.join(manifest.revisions)}, {manifest.counts}, folders {manifest.directories}"
    )
    out.print(f"[yellow]{backups.PRIVACY_NOTE}[/yellow]")


@app.command()
def restore(
    source: Annotated[Path, typer.Argument(help="A file written by `triage backup`.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    force: Annotated[bool, typer.Option(help="Restore although other sessions use the database.")] = False,
) -> None:
    """Replace the database and the models with a backup's (stop every instance first)."""
    from bot.service import backup as backups
    from bot.service import retention
    from bot.service.privacy import erase_again

    settings = Settings()
    try:
        manifest = backups.read_manifest(source)
    except backups.BackupError as exc:
        raise _fail(str(exc)) from exc
    out.print(f"backup of {manifest.created_at}: {manifest.database}, {manifest.counts}")
    if not yes:
        typer.confirm(
            f"Replace the database at {settings.db_url.split('@')[-1]} and the models with it?", abort=True
        )
    try:
        erased = backups.erased_since_backup(settings, manifest)
        backups.restore(settings, source, force=force)
    except backups.BackupError as exc:
        raise _fail(str(exc)) from exc
    services = build(settings, migrate_db=False)
    with services.sessions.begin() as session:  # erasures the backup predates: erased again
        again = erase_again(session, erased, actor="restore")
    report = retention.run(services.sessions, settings.retention_days)  # what expired since
    out.print(
        f"restored; erased again since the backup: {len(again)} citizen(s); retention applied "
        f"again (older than {report.cutoff:%Y-%m-%d}): {report.counts()}"
    )


# -- serving ------------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    engine: Annotated[str | None, typer.Option(help="sklearn (default) or rasa.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (use PostgreSQL for more than one).")] = 1,
) -> None:
    """Run the intake API, the outbox dispatcher and (when configured) the console and channels."""
    import os

    import uvicorn

    from bot.logs import uvicorn_log_config
    from bot.service import metrics

    settings = _settings()
    if engine:
        os.environ["ENGINE"] = engine
        settings = _settings()
    if settings.db_url.startswith("sqlite"):
        if workers > 1:
            raise _fail(
                "SQLite serves one process on one host: set DATABASE_URL to PostgreSQL "
                "for --workers above 1 or for several hosts (docs/OPERATIONS.md)"
            )
        out.print(
            "database: SQLite, single instance (one process on one host); for several "
            "workers or hosts use PostgreSQL (docs/OPERATIONS.md)"
        )
    bound_port = port or settings.port
    if workers > 1 or os.environ.get(metrics.MULTIPROC_ENV):  # /metrics adds up every worker's
        metrics.prepare_multiprocess_dir(settings.data_dir / f"prometheus-{bound_port}")
    services = build(settings)
    if library_is_empty(services):
        import_library_files(services)
    services.triage.engine(services.sessions())  # train or load before the first message
    uvicorn.run(
        "bot.web.api:create_app",
        factory=True,
        host=host or settings.host,
        port=bound_port,
        workers=workers,
        # A new worker imports the model's libraries before it can answer the supervisor's ping:
        # seconds on a busy host, and uvicorn's default 5 s killed workers in a loop.
        timeout_worker_healthcheck=60,
        log_level="info",
        log_config=uvicorn_log_config(),  # the access log without citizens' identities
    )


if __name__ == "__main__":
    app()
