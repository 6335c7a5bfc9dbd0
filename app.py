"""The contact centre: create_app() assembles the parts; `python app.py …` is the CLI."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import json
import logging
import os
import secrets
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map
from werkzeug.serving import make_server

from caseboard import (
    api,
    auth,
    board,
    board_case,
    board_queues,
    navigation,
    satisfaction_web,
    supervisor,
    supervisor_actions,
    supervisor_reminders,
    walk_in,
    web_auth,
)
from caseboard.assignment import assign_waiting
from caseboard.db import DatabaseUnavailable
from caseboard.services import Services, build_services, prepare_database, seed_demo
from caseboard.supervisor_workers import supervisor_workers
from caseboard.workers import Worker
from knowledge_base import cli as kb_cli
from knowledge_base import web as kb_web
from routing import route
from settings import MAX_SMTP_PROCESSES, ConfigError, int_argument, load_config

log = logging.getLogger("contact_centre")

# Where channels are registered: one line per channel package. Each module has
# init_channel(app, services), which adds its blueprint, registers its outbound transport with
# caseboard.outbox.register_transport, and appends its servers to services.background.
CHANNEL_MODULES: tuple[str, ...] = ("channels.email", "channels.phone", "channels.letters",
                                   "channels.webchat", "channels.open311")


# Every id column is an INTEGER, which on PostgreSQL holds at most 2**31 - 1: a larger number
# compared with it (SQLAlchemy casts the parameter to INTEGER) fails with "integer out of
# range" even below 2**63. SQLite's integers are wider, but its ids never get that far.
DATABASE_INT_MAX = 2**31 - 1


class DatabaseIntConverter(IntegerConverter):
    """`<int:…>` that matches only numbers a database id can be: a larger one in a URL is
    404 Not Found, rather than an OverflowError (SQLite, beyond 2**63) or
    NumericValueOutOfRange (PostgreSQL) and a 500 from whichever view looks it up."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = None, signed: bool = False) -> None:
        if min is None and signed:
            min = -DATABASE_INT_MAX - 1
        super().__init__(map, fixed_digits, min,
                         DATABASE_INT_MAX if max is None else max, signed)


def create_app(config: Any = None, services: Services | None = None) -> Flask:
    """Build the web app. `config` is a settings.Config (default: load_config())."""
    config = config or load_config()
    services = services or build_services(config)
    prepare_database(services)
    app = Flask(__name__)
    # Before any blueprint adds a rule: each rule takes its converter when it is added.
    app.url_map.converters["int"] = DatabaseIntConverter
    app.config.update(
        SECRET_KEY=config["web.secret_key"] or _stored_secret_key(config),
        MAX_CONTENT_LENGTH=config["web.max_body_bytes"],
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config["web.secure_cookies"],
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    app.extensions["contact_centre"] = services
    csrf = CSRFProtect(app)  # every form POST needs its token...
    csrf.exempt(api.bp)  # ...but the API authenticates with bearer tokens, not cookies
    app.register_blueprint(api.bp)
    app.register_blueprint(web_auth.bp)
    app.register_blueprint(board.bp)
    app.register_blueprint(board_queues.bp)  # /board: my cases, queues, live events
    app.register_blueprint(board_case.bp)  # /board/case/<reference>: the case page
    app.register_blueprint(walk_in.bp)  # /board/walk-in: the walk-in desk
    app.register_blueprint(supervisor.bp)  # /supervisor: dashboard, reports, charts
    app.register_blueprint(supervisor_actions.bp)  # /supervisor: reassign, agents, extensions
    app.register_blueprint(supervisor_actions.agent_bp)  # /board/extension: agents ask for time
    app.register_blueprint(satisfaction_web.bp)  # /satisfaction/<token>: public survey answer
    kb_web.init_app(app, services.kb)
    navigation.init_app(app)  # the board's menu; channels add their pages to it
    navigation.add_link(app, "Walk-in desk", "walk_in.desk")
    navigation.add_link(app, "Supervisor", "supervisor.dashboard", role="supervisor")
    supervisor_reminders.init_app(app)  # /board/reminders: an agent's time-limit reminders
    for module_name in CHANNEL_MODULES:
        importlib.import_module(module_name).init_channel(app, services)

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        return jsonify(status="ok")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        # The API speaks JSON, errors included; pages keep Flask's HTML errors.
        if request.path.startswith("/api/"):
            return jsonify(error=error.name, message=error.description), error.code or 500
        return error

    return app


def _stored_secret_key(config: Any) -> str:
    """A random key made once and kept in the data folder, so sessions survive restarts and
    every web process of one installation signs cookies alike."""
    path = config.data_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


# ---------------------------------------------------------------- serve


def serve(config: Any) -> int:
    services = build_services(config)
    app = create_app(config, services)
    stop = threading.Event()
    poll = config["outbox.poll_seconds"]
    workers = [
        Worker("outbox", services.dispatcher.send_one, poll, stop),
        # Push departments: no case waits while a qualified agent has room.
        Worker("assigner", lambda: bool(assign_waiting(services.database, config)), poll, stop),
        *supervisor_workers(services, poll, stop),  # counters, time-limit monitor, surveys
    ]
    server = make_server(config["web.host"], config["web.port"], app, threaded=True)

    def shutdown(signum: int, _frame: Any) -> None:
        log.info("signal %s: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    web = threading.Thread(target=server.serve_forever, name="web", daemon=True)
    web.start()
    for worker in workers:
        worker.start()
    for background in services.background:
        background.start()
        log.info("started %s", background.name)
    print(f"contact centre on http://{config['web.host']}:{server.port} "
          f"(database {services.database.engine.url.render_as_string(hide_password=True)})",
          flush=True)
    stop.wait()
    server.shutdown()
    for background in reversed(services.background):
        background.stop()
    for worker in workers:
        worker.join(timeout=10)
    services.database.dispose()
    print("stopped", flush=True)
    return 0


# ---------------------------------------------------------------- other commands


def cmd_route(config: Any, args: argparse.Namespace) -> int:
    from caseboard.router_training import load_model, model_path
    from routing import RoutingRules

    rules = RoutingRules.from_config(config).with_model(load_model(model_path(config)))
    texts: Sequence[str] = (sys.stdin.read().splitlines() if args.text == "-" else [args.text])
    for text in texts:
        decision = route(text, rules)
        if args.json:
            print(json.dumps(decision.as_dict(), ensure_ascii=False), flush=True)
        else:
            print(f"{decision.department}/{decision.service or '-'} "
                  f"({decision.confidence:.2f}, {decision.priority}): "
                  + "; ".join(decision.reasons))
    return 0


def cmd_train_router(config: Any, args: argparse.Namespace) -> int:
    from caseboard import router_training

    if args.csv:
        examples = router_training.read_csv_examples(Path(args.csv), args.text_column,
                                                     args.label_column)
        summary = router_training.train_and_save(examples, config, args.csv)
    else:
        services = build_services(config)
        prepare_database(services)
        try:
            summary = router_training.train_from_database(services.database, config)
        finally:
            services.database.dispose()
    print("\n".join(summary.lines()))
    return 0


def cmd_create_user(config: Any, args: argparse.Namespace) -> int:
    services = build_services(config)
    prepare_database(services)
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else ""
    if not password:
        raise auth.AuthError("give the password on standard input with --password-stdin")
    with services.database.write() as session:
        auth.create_user(session, args.name, args.role, password,
                         departments=tuple(args.department or ()))
    print(f"created {args.role} {args.name}")
    return 0


def cmd_create_token(config: Any, args: argparse.Namespace) -> int:
    import datetime as dt

    services = build_services(config)
    prepare_database(services)
    # Without --expires-days the token does not expire; the parser only lets 1..3650 through.
    expires = dt.timedelta(days=args.expires_days) if args.expires_days is not None else None
    with services.database.write() as session:
        token = auth.create_token(session, args.name, args.role, expires, user=args.user)
    print(token)
    return 0


def cmd_seed_demo(config: Any, args: argparse.Namespace) -> int:
    services = build_services(config)
    prepare_database(services)
    created = seed_demo(services)
    print(f"demo administration ready (new users: {', '.join(created) or 'none'})")
    return 0


def cmd_migrate(config: Any, args: argparse.Namespace) -> int:
    services = build_services(config)
    prepare_database(services)
    print("database is up to date")
    return 0


def cmd_ingest_letter(config: Any, args: argparse.Namespace) -> int:
    from channels.letters.cli import run_ingest

    return run_ingest(config, args.paths)


def cmd_smtp(config: Any, args: argparse.Namespace) -> int:
    from channels.email.cli import run_smtp

    return run_smtp(config, args.processes)


MAX_TOKEN_DAYS = 3650


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="app.py", description="Public-service contact centre")
    main.add_argument("--config", help="configuration file (default: CC_CONFIG or config.toml)")
    sub = main.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run web, channels and workers in one process")
    p = sub.add_parser("route", help="show where a text would be routed")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("text", help="the text, or - to read one text per line from stdin")
    p = sub.add_parser("create-user", help="create an agent, supervisor or admin")
    p.add_argument("name")
    p.add_argument("--role", required=True)
    p.add_argument("--department", action="append", help="may be given several times")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p = sub.add_parser("create-token", help="create an API token (printed once)")
    p.add_argument("name")
    p.add_argument("--role", required=True)
    p.add_argument("--user", help="the username the token acts for (see README)")
    p.add_argument("--expires-days", type=int_argument(1, MAX_TOKEN_DAYS),
                   help=f"days the token is valid, 1 to {MAX_TOKEN_DAYS} "
                        "(default: it does not expire)")
    sub.add_parser("seed-demo", help="create the demo users and cases")
    sub.add_parser("migrate", help="bring the database schema up to date")
    p = sub.add_parser("smtp", help="run only the SMTP intake (for more intake nodes)")
    p.add_argument("--processes", type=int_argument(1, MAX_SMTP_PROCESSES),
                   help="processes on the port (smtp.processes)")
    p = sub.add_parser("ingest-letter", help="read scanned letters (files or folders)")
    p.add_argument("paths", nargs="+", help="PDF, TIFF, PNG or JPEG files, or folders")
    p = sub.add_parser("train-router",
                       help="train the router from resolved and corrected cases, or a CSV")
    p.add_argument("--csv", help="train from this UTF-8 CSV file instead of the database")
    p.add_argument("--text-column", default="text", help="CSV column with the text")
    p.add_argument("--label-column", default="label",
                   help="CSV column with 'department' or 'department/service'")
    kb_cli.add_parsers(sub)
    return main


COMMANDS: dict[str, Callable[[Any, argparse.Namespace], int]] = {
    "route": cmd_route, "create-user": cmd_create_user, "create-token": cmd_create_token,
    "seed-demo": cmd_seed_demo, "migrate": cmd_migrate, "smtp": cmd_smtp,
    "train-router": cmd_train_router, "ingest-letter": cmd_ingest_letter,
}


def _with_kb(run: Callable[[Any, argparse.Namespace], int]
             ) -> Callable[[Any, argparse.Namespace], int]:
    def command(config: Any, args: argparse.Namespace) -> int:
        services = build_services(config)
        prepare_database(services)
        try:
            return run(services.kb, args)
        finally:
            services.database.dispose()
    return command


COMMANDS.update({name: _with_kb(run) for name, run in kb_cli.COMMANDS.items()})


def check_folders(config: Any, command: str) -> None:
    """A data folder that cannot be used stops a command with one line naming data.dir,
    before anything is written, rather than with a traceback from the first part that
    writes a file. `route` only reads from it, so it need not exist for that. The letters'
    own folders, when set, are checked for the commands that use them."""
    folder = config.data_dir
    if command == "route":
        if folder.exists() and not folder.is_dir():
            raise ConfigError("data.dir", f"cannot use {folder} as the data folder: "
                                          "it is a file, not a folder")
        return
    _check_folder("data.dir", folder, "the data folder")
    if command in ("serve", "ingest-letter"):
        for key in ("letters.inbox_dir", "letters.quarantine_dir"):
            if config[key]:
                _check_folder(key, Path(config[key]).expanduser(), "a folder")


def _check_folder(key: str, folder: Path, what: str) -> None:
    missing = [path for path in (folder, *folder.parents) if not path.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):  # can we write there?
            pass
    except OSError as error:
        reason = "it is a file, not a folder" if isinstance(error, FileExistsError) \
            else error.strerror or str(error)
        raise ConfigError(key, f"cannot use {folder} as {what}: {reason}") from None
    finally:
        # A check leaves nothing behind: a command stopped later by another bad setting
        # (a TLS certificate, say) has written nothing. The parts that use it create it.
        for path in missing:  # the deepest first
            with contextlib.suppress(OSError):
                path.rmdir()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    try:
        check_folders(config, args.command)
        if args.command == "serve":
            return serve(config)
        return COMMANDS[args.command](config, args)
    except ConfigError as error:  # found while starting a part (e.g. a TLS certificate)
        print(f"config error: {error}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as error:  # its message hides any password in the URL
        key = "database.url" if config["database.url"] else "data.dir"
        print(f"config error: {key}: {error}", file=sys.stderr)
        return 2
    except (auth.AuthError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
