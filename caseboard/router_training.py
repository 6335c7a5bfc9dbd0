"""Teaching the router from history: labelled examples out of the database (or a CSV file),
training off the intake path, saving the model atomically and swapping it in.

Labelled examples come from the database as it is, no table of their own:
- a resolved or closed case: its first inbound message (subject and text) → the case's final
  department and service;
- a correction: a dispatcher's dispatch or transfer, or a department's return, tells us where
  the case should have gone. Such cases weigh CORRECTION_WEIGHT times more; a case that was
  moved by hand and is not resolved yet is labelled with the department it was moved to.

The router itself (routing/) stays pure: it gets plain (text, label, weight) tuples and gives
back a model object; this module does the reading, writing and scheduling.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import logging
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from caseboard.db import Database
from caseboard.models import AuditEvent, Case, CaseStatus, Message, table_of, utcnow
from routing import RoutingRules, TextModel, TrainingError, train
from settings import Config

log = logging.getLogger(__name__)

MODEL_FILE = "router-model.json"
CORRECTION_WEIGHT = 3.0
CORRECTION_ACTIONS = ("dispatch", "transfer", "return")
# Events after which there may be something new to learn from.
_LEARNING_ACTIONS = ("resolve", "close", *CORRECTION_ACTIONS)
_AUTOMATIC_ACTORS = ("system", "citizen")
_MAX_UNKNOWN_SHOWN = 5


def model_path(config: Config) -> Path:
    return config.data_dir / MODEL_FILE


# ---------------------------------------------------------------- the live router


class RouterHolder:
    """The rules (and model) intake routes with now. Swapping replaces one immutable
    RoutingRules object by another: a contact is routed wholly by the old or the new one,
    and nobody waits for training."""

    def __init__(self, rules: RoutingRules) -> None:
        self._rules = rules

    @property
    def current(self) -> RoutingRules:
        return self._rules

    def swap_model(self, model: TextModel | None) -> None:
        self._rules = self._rules.with_model(model)


# ---------------------------------------------------------------- model files


def load_model(path: Path) -> TextModel | None:
    """The saved model, or None when there is none or it cannot be read (logged)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return TextModel.from_dict(data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("router model %s not used: %s", path, error)
        return None


def save_model(path: Path, model: TextModel) -> None:
    """Write the model so that readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".router-model-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(model.to_dict(), stream, ensure_ascii=False, separators=(",", ":"))
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- labelled examples


Example = tuple[str, str, float]

_case = table_of(Case)
_message = table_of(Message)
_audit = table_of(AuditEvent)
_FIRST_INBOUND = (
    sa.select(_message.c.case_id, sa.func.min(_message.c.id).label("message_id"))
    .where(_message.c.direction == "in").group_by(_message.c.case_id).subquery()
)
_CASES_WITH_TEXT = (
    sa.select(_case.c.id, _case.c.status, _case.c.department_id, _case.c.service_code,
              _message.c.subject, _message.c.text)
    .join(_FIRST_INBOUND, _FIRST_INBOUND.c.case_id == _case.c.id)
    .join(_message, _message.c.id == _FIRST_INBOUND.c.message_id)
)
_CORRECTIONS = (
    sa.select(_audit.c.case_id, _audit.c.action, _audit.c.details)
    .where(_audit.c.action.in_(CORRECTION_ACTIONS), _audit.c.actor.not_in(_AUTOMATIC_ACTORS))
    .order_by(_audit.c.id)
)
_LAST_LEARNING_EVENT = sa.select(sa.func.max(_audit.c.id)).where(
    _audit.c.action.in_(_LEARNING_ACTIONS), _audit.c.actor.not_in(_AUTOMATIC_ACTORS))


def labelled_examples(session: Session, config: Config) -> list[Example]:
    """(subject + text of the first inbound message, label, weight) for every case the
    database can teach something (see the module's docstring)."""
    services_of = {d.id: {s.code for s in d.services} for d in config.departments}
    corrected: dict[int, str | None] = {}  # case → department moved to by hand (None: return)
    for case_id, action, details in session.execute(_CORRECTIONS):
        target = (details or {}).get("to_department")
        if action == "return":
            corrected.setdefault(case_id, None)
        elif isinstance(target, str):
            corrected[case_id] = target
    finished = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)
    examples: list[Example] = []
    for case_id, status, department, service, subject, text in session.execute(
            _CASES_WITH_TEXT):
        if status not in finished:
            department = corrected.get(case_id)
            if department is None:
                continue
        if department not in services_of:
            continue  # a department removed from the configuration since
        label = department if service not in services_of[department] else \
            f"{department}/{service}"
        weight = CORRECTION_WEIGHT if case_id in corrected else 1.0
        examples.append((f"{subject or ''}\n{text or ''}", label, weight))
    return examples


def learning_mark(session: Session) -> int:
    """The id of the last event that may teach the router something (0 if none)."""
    return int(session.execute(_LAST_LEARNING_EVENT).scalar() or 0)


def read_csv_examples(path: Path, text_column: str, label_column: str) -> list[Example]:
    """(text, label, 1.0) from a UTF-8 CSV file; TrainingError naming what is wrong."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames
            if not columns:
                raise TrainingError(f"{path}: the file is empty")
            missing = [c for c in (text_column, label_column) if c not in columns]
            if missing:
                raise TrainingError(f"{path}: no column {missing[0]!r} "
                                    f"(columns: {', '.join(columns)})")
            rows = [(row.get(text_column) or "", (row.get(label_column) or "").strip(), 1.0)
                    for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise TrainingError(f"{path}: cannot read the CSV file: {error}") from None
    if not rows:
        raise TrainingError(f"{path}: no rows under the header")
    return rows


def check_labels(examples: Sequence[Example], config: Config) -> None:
    """TrainingError if a label is not a configured department or department/service."""
    services_of = {d.id: {s.code for s in d.services} for d in config.departments}
    unknown: Counter[str] = Counter()
    for _, label, _ in examples:
        department, _, service = label.partition("/")
        if department not in services_of or (service and service not in services_of[department]):
            unknown[label] += 1
    if unknown:
        shown = ", ".join(repr(label) for label, _ in unknown.most_common(_MAX_UNKNOWN_SHOWN))
        raise TrainingError(f"{sum(unknown.values())} examples have labels that are not a "
                            f"configured department or department/service: {shown}")


# ---------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainingSummary:
    source: str
    path: Path
    model: TextModel

    def lines(self) -> list[str]:
        info: Mapping[str, Any] = self.model.info
        held_out = info.get("held_out_accuracy")
        labels = info.get("labels", {})
        return [
            f"trained the router from {self.source}: {info.get('examples')} examples, "
            f"{len(labels)} labels, {info.get('features')} features",
            "held-out accuracy: " + (f"{held_out:.3f}" if held_out is not None
                                     else "n/a (too few examples)"),
            f"calibration temperature: {self.model.temperature}",
            f"saved to {self.path}",
        ]


def train_and_save(examples: Iterable[Example], config: Config, source: str,
                   path: Path | None = None, mark: int | None = None) -> TrainingSummary:
    """Check, train and save; on any error the saved model is left as it was."""
    examples = list(examples)
    if not examples:
        raise TrainingError(f"no labelled examples in {source}")
    check_labels(examples, config)
    model = train(examples)
    if mark is not None:
        model = dataclasses.replace(model, info={**model.info, "learning_mark": mark,
                                                 "trained_at": utcnow().isoformat()})
    path = path or model_path(config)
    save_model(path, model)
    return TrainingSummary(source, path, model)


def train_from_database(database: Database, config: Config,
                        path: Path | None = None) -> TrainingSummary:
    with database.read() as session:
        mark = learning_mark(session)
        examples = labelled_examples(session, config)
    return train_and_save(examples, config, "the database", path, mark)


class Retrainer:
    """A background service of `serve`: every `routing.retrain_minutes`, if cases were
    resolved or corrected since the model was trained, train a new model on this thread and
    swap it in. Intake keeps routing with the old model meanwhile."""

    name = "router-training"

    def __init__(self, database: Database, config: Config, holder: RouterHolder) -> None:
        self.database = database
        self.config = config
        self.holder = holder
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> bool:
        """Retrain if there is something new; True when a new model was swapped in."""
        model = self.holder.current.model
        trained_mark = int(model.info.get("learning_mark", -1)) if model is not None else -1
        with self.database.read() as session:
            mark = learning_mark(session)
        if mark == 0 or mark == trained_mark:
            return False
        try:
            summary = train_from_database(self.database, self.config)
        except TrainingError as error:
            log.info("router not retrained: %s", error)
            return False
        self.holder.swap_model(summary.model)
        log.info("router retrained: %s", "; ".join(summary.lines()))
        return True

    def _run(self) -> None:
        interval = 60.0 * self.config["routing.retrain_minutes"]
        while not self._stop.wait(interval):
            try:
                self.step()
            except Exception:  # keep retraining alive; the old model stays in place
                log.exception("router retraining failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


# ---------------------------------------------------------------- returns for supervisors


def returns_by_department(session: Session, config: Config,
                          now: dt.datetime | None = None) -> dict[str, dict[str, int]]:
    """Cases each department returned to triage: {"today": n, "last_30_days": n}, today
    being the administration's local day."""
    now = now or utcnow()
    local_midnight = now.astimezone(config.timezone).replace(hour=0, minute=0, second=0,
                                                             microsecond=0)
    since = now - dt.timedelta(days=30)
    rows = session.execute(sa.select(_audit.c.at, _audit.c.details).where(
        _audit.c.action == "return", _audit.c.at >= since))
    counts: dict[str, dict[str, int]] = {}
    for at, details in rows:
        department = (details or {}).get("from_department")
        if not isinstance(department, str):
            continue
        entry = counts.setdefault(department, {"today": 0, "last_30_days": 0})
        entry["last_30_days"] += 1
        if at.replace(tzinfo=dt.UTC) >= local_midnight:
            entry["today"] += 1
    return dict(sorted(counts.items()))
