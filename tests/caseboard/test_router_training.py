"""Teaching the router from the database and from CSV files, on both databases."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from caseboard import router_training, workflow
from caseboard.contacts import InboundContact, Sender
from caseboard.models import Case
from caseboard.services import Services
from routing import TrainingError
from settings import Config
from tests.test_cli import cli_env, run

# Texts the demo keywords do not know: only a model learned from these cases places them.
ROADS = ["the tarmac has crumbled outside the bakery", "crumbling tarmac near the roundabout",
         "tarmac crumbled and a cyclist fell", "crater in the tarmac on Elm Lane",
         "tarmac broken up by the bus lane", "the tarmac is breaking apart"]
HOUSING = ["the radiator in my flat does not warm up", "radiator leaking onto the carpet",
           "the radiator is stone cold again", "radiator valve snapped off",
           "my radiator makes a banging sound", "radiator came off the wall"]


def take(services: Services, text: str, n: int) -> int:
    return services.intake.take(InboundContact(
        "email", f"<{n}@test>", Sender(email=f"c{n}@mail.example"), text,
        subject="")).case_id


def act(services: Services, case_id: int, *actions: str, department: str | None = None,
        reason: str = "", reason_code: str = "") -> None:
    with services.database.write() as session:
        case = session.get(Case, case_id)
        assert case is not None
        for action in actions:
            workflow.apply(session, case, action, "alice", calendar=services.calendar,
                           channel="board", department=department, reason=reason,
                           reason_code=reason_code)


def resolve(services: Services, case_id: int, department: str) -> None:
    """Dispatch (from triage) or transfer to `department`, then work it to resolved."""
    with services.database.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        status, current = case.status, case.department_id
    if status == "new":
        act(services, case_id, "dispatch", department=department)
    elif current != department:
        act(services, case_id, "transfer", department=department, reason="misrouted")
    act(services, case_id, "accept", "start", "answer", "resolve")


@pytest.fixture
def history(services: Services) -> dict[str, int]:
    """Six resolved roads cases and six housing cases, each placed by hand."""
    ids = {}
    for n, text in enumerate(ROADS + HOUSING):
        case_id = take(services, text, n)
        resolve(services, case_id, "roads" if text in ROADS else "housing")
        ids[text] = case_id
    return ids


def examples_of(services: Services) -> list[tuple[str, str, float]]:
    with services.database.read() as session:
        return router_training.labelled_examples(session, services.config)


def test_resolved_and_corrected_cases_become_weighted_examples(services: Services) -> None:
    plain = take(services, "There's a huge pothole on Mill Road", 1)  # auto-dispatched
    act(services, plain, "accept", "start", "answer", "resolve", "close")
    moved = take(services, "Pothole outside the school", 2)
    act(services, moved, "transfer", department="parks", reason="it is in the park")
    returned = take(services, "Loud music at the pothole party", 3)
    act(services, returned, "return", reason="not ours", reason_code="not_our_service")
    take(services, "streetlight out", 4)  # open and never corrected: teaches nothing
    examples = sorted(examples_of(services))
    assert examples == sorted([
        ("\nThere's a huge pothole on Mill Road", "roads/pothole", 1.0),
        ("\nPothole outside the school", "parks", 3.0),
    ])


def test_training_from_the_database_swaps_the_model_into_intake(
        services: Services, history: dict[str, int]) -> None:
    assert services.rules.model is None
    retrainer = router_training.Retrainer(services.database, services.config,
                                          services.router)
    assert retrainer.step() is True
    model = services.rules.model
    assert model is not None and model.info["examples"] == 12
    assert router_training.model_path(services.config).is_file()
    assert retrainer.step() is False  # nothing new since
    case_id = take(services, "the tarmac by the library is crumbling", 99)
    with services.database.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert case.department_id == "roads"
        assert any(r.startswith("model: ") for r in case.routing_reasons)
    # A restart loads the saved model.
    again = router_training.load_model(router_training.model_path(services.config))
    assert again is not None and again.labels == model.labels


def test_a_retrainer_with_nothing_to_learn_keeps_the_rules(services: Services) -> None:
    retrainer = router_training.Retrainer(services.database, services.config,
                                          services.router)
    assert retrainer.step() is False
    take(services, "streetlight out", 1)
    assert retrainer.step() is False
    assert services.rules.model is None


def test_too_little_history_is_a_clear_error_and_keeps_the_old_model(
        services: Services) -> None:
    path = router_training.model_path(services.config)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("previous", encoding="utf-8")
    case_id = take(services, "There's a huge pothole on Mill Road", 1)
    act(services, case_id, "accept", "start", "answer", "resolve")
    with pytest.raises(TrainingError, match="at least"):
        router_training.train_from_database(services.database, services.config)
    assert path.read_text(encoding="utf-8") == "previous"


def test_a_damaged_model_file_is_ignored_with_a_warning(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    path = tmp_path / "router-model.json"
    assert router_training.load_model(path) is None
    path.write_text("{not json", encoding="utf-8")
    assert router_training.load_model(path) is None
    path.write_text(json.dumps({"format": "other"}), encoding="utf-8")
    assert router_training.load_model(path) is None
    assert "not used" in caplog.text


def test_returns_are_counted_per_department_for_supervisors(services: Services,
                                                            config: Config) -> None:
    now = dt.datetime.now(dt.UTC)
    for n in range(3):
        case_id = take(services, f"There's a huge pothole number {n}", n)
        act(services, case_id, "return", reason="not ours", reason_code="not_our_service")
    case_id = take(services, "Loud music every night", 10)
    act(services, case_id, "return", reason="wrong department", reason_code="not_our_service")
    with services.database.read() as session:
        counts = router_training.returns_by_department(session, config, now)
        later = router_training.returns_by_department(session, config,
                                                      now + dt.timedelta(days=40))
    assert counts == {"environment": {"today": 1, "last_30_days": 1},
                      "roads": {"today": 3, "last_30_days": 3}}
    assert later == {}




GOOD_CSV = "text,label\n" + "".join(
    f'"{t}",roads/pothole\n' for t in ROADS) + "".join(f'"{t}",housing\n' for t in HOUSING)


@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    ("text,department\nhello,roads\n", "no column 'label'"),
    ("text,label\n", "no rows"),
    (GOOD_CSV + "pothole again,highways\n", "'highways'"),
    (GOOD_CSV + "pothole again,roads/rent\n", "'roads/rent'"),
    ("text,label\n" + "😀🙏,roads\n🔥,housing\n" * 10, "readable text"),
])
def test_train_router_refuses_bad_csv_files_and_keeps_the_old_model(
        tmp_path: Path, db_url: str, content: str, message: str) -> None:
    env = cli_env(tmp_path, db_url)
    model = tmp_path / "data" / "router-model.json"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"old model")
    data = tmp_path / "labelled.csv"
    data.write_text(content, encoding="utf-8")
    result = run(["train-router", "--csv", str(data)], env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert model.read_bytes() == b"old model"


def test_train_router_from_a_csv_then_route_uses_the_model(tmp_path: Path,
                                                         db_url: str) -> None:
    env = cli_env(tmp_path, db_url)
    data = tmp_path / "labelled.csv"
    long_text = "crumbling tarmac " + "x" * 100_000
    data.write_text(GOOD_CSV + f'"{long_text}",roads\n', encoding="utf-8")
    result = run(["train-router", "--csv", str(data)], env)
    assert result.returncode == 0, result.stderr
    assert "13 examples, 3 labels" in result.stdout
    assert (tmp_path / "data" / "router-model.json").is_file()
    routed = run(["route", "--json", "-"], env, stdin="the tarmac crumbled\nradiator cold\n")
    first, second = (json.loads(line) for line in routed.stdout.splitlines())
    assert (first["department"], second["department"]) == ("roads", "housing")
    assert any(r.startswith("model: ") for r in first["reasons"])
    assert first["suggestions"] and set(first["suggestions"][0]) == {
        "department", "service", "score"}


def test_the_other_column_names_can_be_given(tmp_path: Path, db_url: str) -> None:
    env = cli_env(tmp_path, db_url)
    data = tmp_path / "labelled.csv"
    data.write_text(GOOD_CSV.replace("text,label", "message,where"), encoding="utf-8")
    result = run(["train-router", "--csv", str(data), "--text-column", "message",
                  "--label-column", "where"], env)
    assert result.returncode == 0, result.stderr
