"""The running system's parts, built once from config and shared by the app, CLI and workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from caseboard import seed
from caseboard.db import Database, migrate
from caseboard.files import FileStore
from caseboard.intake import Intake
from caseboard.models import utcnow
from caseboard.outbox import Dispatcher
from caseboard.router_training import Retrainer, RouterHolder, load_model, model_path
from caseboard.timelimits import BusinessCalendar
from knowledge_base.service import KnowledgeBase, catalogue_from
from routing import RoutingRules
from settings import Config


class BackgroundService(Protocol):
    """A long-running part of `serve` besides the web server (an SMTP server, a folder watcher)."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Services:
    config: Config
    database: Database
    files: FileStore
    router: RouterHolder  # the current rules and learned model, swapped when retrained
    calendar: BusinessCalendar
    intake: Intake
    dispatcher: Dispatcher
    kb: KnowledgeBase
    background: list[BackgroundService] = field(default_factory=list)

    @property
    def rules(self) -> RoutingRules:
        return self.router.current


def build_services(config: Config) -> Services:
    database = Database(config.database_url, config["database.sqlite_synchronous"])
    # Files are as durable as the database rows that point at them.
    files = FileStore(config.data_dir / "files",
                      durable=config["database.sqlite_synchronous"] == "full",
                      engine=database.engine, inline_max_bytes=config["data.inline_max_bytes"])
    router = RouterHolder(RoutingRules.from_config(config).with_model(
        load_model(model_path(config))))
    calendar = BusinessCalendar.from_config(config)
    background: list[BackgroundService] = []
    if config["routing.retrain_minutes"] > 0:
        background.append(Retrainer(database, config, router))
    return Services(
        config=config, database=database, files=files, router=router, calendar=calendar,
        intake=Intake(config, database, router, calendar, files),
        dispatcher=Dispatcher(database, config["outbox.max_attempts"], calendar=calendar),
        kb=KnowledgeBase(database, catalogue_from(config.departments)),
        background=background,
    )


def prepare_database(services: Services) -> bool:
    """Migrate, mirror departments from config, and seed the demo on a first start.

    Returns True when the demo administration was seeded now.
    """
    migrate(services.database)
    with services.database.write() as session:
        seed.sync_departments(session, services.config)
        first_start = not seed.has_users(session)
    if first_start and services.config["demo.enabled"]:
        seed_demo(services)
        return True
    return False


def seed_demo(services: Services) -> list[str]:
    """Create the demo users and the demo cases; running it again adds nothing twice."""
    with services.database.write() as session:
        created = seed.seed_demo_users(session, services.config)
    for contact in seed.demo_contacts(utcnow()):
        services.intake.take(contact)
    services.kb.load_demo()
    return created


def current_services() -> Services:
    """The running system's parts, from inside a request (create_app stores them)."""
    from flask import current_app

    services: Services = current_app.extensions["contact_centre"]
    return services
