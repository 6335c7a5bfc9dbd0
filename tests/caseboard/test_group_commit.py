"""Group commit on both databases: shared transactions, each result only after its commit,
and one bad contact never costs the others."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from caseboard.contacts import InboundContact, Sender
from caseboard.group_commit import GroupCommit
from caseboard.models import Citizen, Message
from caseboard.services import Services


def add_citizen(name: str, release: threading.Event | None = None
                ) -> Callable[[Session], str]:
    def work(session: Session) -> str:
        if release is not None:
            release.wait(10)  # hold the transaction open so that others queue behind it
        if name == "bad":
            raise ValueError("this contact is malformed")
        session.add(Citizen(name=name))
        session.flush()
        return name

    return work


def names_in_database(services: Services) -> set[str]:
    with services.database.read() as session:
        return set(session.execute(select(Citizen.name)).scalars())


def test_callers_arriving_together_share_transactions_and_a_bad_one_fails_alone(
        services: Services) -> None:
    group = GroupCommit(services.database)
    release = threading.Event()
    results: dict[str, object] = {}

    def call(name: str, gate: threading.Event | None = None) -> None:
        try:
            results[name] = group.run(add_citizen(name, gate))
        except ValueError as error:
            results[name] = error

    first = threading.Thread(target=call, args=("first", release))
    first.start()
    time.sleep(0.2)  # "first" now holds the write; the others queue behind it
    others = [threading.Thread(target=call, args=(n,)) for n in ("a", "b", "bad", "c", "d")]
    for thread in others:
        thread.start()
    time.sleep(0.2)
    release.set()
    for thread in (first, *others):
        thread.join(20)
    assert isinstance(results.pop("bad"), ValueError)
    assert results == {n: n for n in ("first", "a", "b", "c", "d")}
    assert names_in_database(services) == {"first", "a", "b", "c", "d"}
    # one transaction for "first", then the five queued ones together (failed and re-run
    # alone because of "bad"): far fewer shared transactions than callers
    assert group.transactions <= 2


def test_a_result_is_returned_only_once_committed(services: Services) -> None:
    group = GroupCommit(services.database)
    assert group.run(add_citizen("durable")) == "durable"
    assert "durable" in names_in_database(services)  # seen from another connection


def test_a_transaction_that_cannot_start_fails_its_callers_instead_of_hanging(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    group = GroupCommit(services.database)

    def no_lock() -> None:
        raise OSError("the writer lock file is on a full disk")

    monkeypatch.setattr(services.database._writer_lock, "held", no_lock)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            group.run(add_citizen("never"))
        except OSError as error:
            outcome.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    caller.join(10)
    assert not caller.is_alive() and len(outcome) == 1
    monkeypatch.undo()
    assert group.run(add_citizen("later")) == "later"  # the group is not left stuck
    assert names_in_database(services) == {"later"}


def test_many_concurrent_intakes_each_get_their_own_committed_case(services: Services) -> None:
    references: dict[int, str] = {}

    def take(index: int) -> None:
        references[index] = services.intake.take(InboundContact(
            "sms", f"SMg{index}", Sender(phone=f"+4477009{index:05d}"),
            "Pothole outside the school")).reference

    threads = [threading.Thread(target=take, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(set(references.values())) == 24
    with services.database.read() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Message)).scalar_one() == 24
    assert services.intake.group.transactions <= 24


@pytest.mark.parametrize("count", [1, 3])
def test_sequential_callers_each_commit(services: Services, count: int) -> None:
    group = GroupCommit(services.database)
    for index in range(count):
        group.run(add_citizen(f"n{index}"))
    assert group.transactions == count
