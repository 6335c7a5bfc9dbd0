"""Reports: the per-case CSV (columns, period filter, channels used, outcomes, score) and the
monthly summary page, on both databases."""

from __future__ import annotations

import csv
import datetime as dt
import io

from flask.testing import FlaskClient

from caseboard.contacts import InboundContact, Sender
from caseboard.models import Case
from caseboard.reports import COLUMNS, case_rows
from caseboard.services import Services
from caseboard.supervisor_models import Survey
from tests.caseboard.test_sign_in import sign_in
from tests.caseboard.test_supervisor_dashboard import folder, new_case, staff

__all__ = ["staff"]

OCTOBER = dt.datetime(2026, 10, 15, 10, 0, tzinfo=dt.UTC)
NOVEMBER = dt.datetime(2026, 11, 10, 10, 0, tzinfo=dt.UTC)


def test_csv_has_one_row_per_case_of_the_period(client: FlaskClient, staff: None,
                                                services: Services) -> None:
    october = new_case(services, "housing", received=OCTOBER)
    november = new_case(services, "roads", received=NOVEMBER)
    services.intake.take(InboundContact(  # the citizen follows up by SMS, quoting the reference
        "sms", "sup-report-sms", Sender(phone="+447700900123"),
        text=f"Any news on {november.reference}?",
        received_at=NOVEMBER + dt.timedelta(days=1)))
    with services.database.write() as session:
        session.add(Survey(case_id=november.case_id, channel="email", department_id="roads",
                           score=4, created_at=NOVEMBER, answered_at=NOVEMBER))
    assert sign_in(client, "bob") == 303
    answer = client.get("/supervisor/reports/cases.csv?from=2026-11-01&to=2026-11-30")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.is_streamed
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert list(rows[0]) == list(COLUMNS)
    assert [r["reference"] for r in rows] == [november.reference]
    row = rows[0]
    assert row["channels_used"] == "email sms"
    assert row["department"] == "roads" and row["returns"] == "0"
    assert row["created_at"].startswith("2026-11-10T10:00:00")
    assert row["first_response_outcome"] == "breached"  # never answered, long overdue
    assert row["satisfaction"] == "4"
    both = client.get("/supervisor/reports/cases.csv?from=2026-10-01&to=2026-11-30")
    references = [r["reference"] for r in csv.DictReader(io.StringIO(both.get_data(as_text=True)))]
    assert references == [october.reference, november.reference]
    assert client.get("/supervisor/reports/cases.csv?from=2026-11-30&to=2026-11-01"
                      ).status_code == 400
    assert client.get("/supervisor/reports/cases.csv?from=yesterday").status_code == 400


def test_csv_rows_stream_in_chunks(staff: None, services: Services) -> None:
    made = [new_case(services, "housing", received=NOVEMBER + dt.timedelta(minutes=i))
            for i in range(7)]
    rows = list(case_rows(services.database, NOVEMBER, NOVEMBER + dt.timedelta(days=1),
                          NOVEMBER, chunk=3))
    assert [r[0] for r in rows] == [c.reference for c in made]


def test_monthly_summary_counts_each_month(client: FlaskClient, staff: None,
                                           services: Services) -> None:
    new_case(services, "housing", received=OCTOBER)
    new_case(services, "housing", received=NOVEMBER)
    new_case(services, "housing", received=NOVEMBER + dt.timedelta(days=3))
    folder(services).catch_up()
    assert sign_in(client, "bob") == 303
    page = client.get("/supervisor/reports?month=2026-11").get_data(as_text=True)
    row = page.split('<tr data-department="housing">')[1].split("</tr>")[0]
    assert row.split("</td>")[1].endswith(">2")  # two new cases in November
    october = client.get("/supervisor/reports?month=2026-10").get_data(as_text=True)
    assert october.split('<tr data-department="housing">')[1].split("</td>")[1].endswith(">1")
    assert client.get("/supervisor/reports?month=November").status_code == 400


def _at(day: int, hour: int, minute: int = 0, month: int = 11, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def test_csv_service_times_and_time_limit_outcomes(client: FlaskClient, staff: None,
                                                   services: Services) -> None:
    """Hand-built clocks: answered and resolved in time, both late, still running, no limit,
    and closed (without a resolution) in time."""
    plans: dict[str, dict[str, object]] = {
        "in_time": dict(created_at=_at(2, 9), first_response_due=_at(2, 17),
                        first_response_at=_at(2, 10, 30), resolution_due=_at(9, 17),
                        resolved_at=_at(5, 12), status="resolved"),
        "late": dict(created_at=_at(3, 9), first_response_due=_at(3, 12),
                     first_response_at=_at(3, 15, 45), resolution_due=_at(4, 17),
                     resolved_at=_at(6, 8), status="resolved", return_count=2),
        "running": dict(created_at=_at(20, 9), first_response_due=_at(20, 17),
                        first_response_at=_at(20, 9, 5), resolution_due=_at(10, 17, 0, 1, 2027),
                        resolved_at=None, status="in_progress"),
        "no_limit": dict(created_at=_at(21, 9), first_response_due=None,
                         first_response_at=None, resolution_due=None, resolved_at=None),
        "closed": dict(created_at=_at(22, 9), first_response_due=_at(22, 17),
                       first_response_at=_at(22, 11), resolution_due=_at(29, 17),
                       resolved_at=None, closed_at=_at(23, 10), status="closed"),
    }
    references = {}
    for name, plan in plans.items():
        created = plan["created_at"]
        assert isinstance(created, dt.datetime)
        made = services.intake.take(InboundContact(
            "email", f"csv-{name}", Sender(email=f"{name}@mail.example"),
            text="My kitchen ceiling leaks", subject="Repair", explicit_department="housing",
            explicit_service="housing-repair", received_at=created))
        references[name] = made.reference
        with services.database.write() as session:
            case = session.get(Case, made.case_id)
            assert case is not None
            for field, value in plan.items():
                setattr(case, field, value)
            session.add(case)
    assert sign_in(client, "bob") == 303
    answer = client.get("/supervisor/reports/cases.csv?from=2026-11-01&to=2026-11-30")
    rows = {r["reference"]: r for r in csv.DictReader(io.StringIO(answer.get_data(as_text=True)))}
    got = {name: rows[reference] for name, reference in references.items()}
    assert {r["service"] for r in got.values()} == {"housing-repair"}
    assert (got["in_time"]["first_response_at"], got["in_time"]["resolved_at"]) \
        == ("2026-11-02T10:30:00+00:00", "2026-11-05T12:00:00+00:00")
    assert (got["in_time"]["first_response_due"], got["in_time"]["resolution_due"]) \
        == ("2026-11-02T17:00:00+00:00", "2026-11-09T17:00:00+00:00")
    outcomes = {name: (r["first_response_outcome"], r["resolution_outcome"])
                for name, r in got.items()}
    assert outcomes == {"in_time": ("met", "met"), "late": ("breached", "breached"),
                        "running": ("met", "open"), "no_limit": ("", ""),
                        "closed": ("met", "met")}
    assert got["late"]["returns"] == "2" and got["late"]["status"] == "resolved"
    assert got["closed"]["closed_at"] == "2026-11-23T10:00:00+00:00"
    assert got["closed"]["resolved_at"] == "" and got["no_limit"]["resolution_due"] == ""


def test_reports_out_of_calendar_range_are_refused_clearly(client: FlaskClient,
                                                           staff: None) -> None:
    assert sign_in(client, "bob") == 303
    for month in ("9999-12", "0001-01", "1899-12", "3000-01"):
        answer = client.get(f"/supervisor/reports?month={month}")
        assert answer.status_code == 400, month
        assert "The month must be between 1900-01 and 2999-12." in answer.get_data(as_text=True)
    for month in ("2026-13", "2026-11-01", "26-11", ""):
        answer = client.get(f"/supervisor/reports?month={month}x")
        assert answer.status_code == 400, month
        assert "The month must look like 2026-11." in answer.get_data(as_text=True)
    assert client.get("/supervisor/reports?month=2999-12").status_code == 200
    for period in ("from=9999-12-01&to=9999-12-31", "from=0001-01-01&to=0001-01-31",
                   "from=2026-01-01&to=9999-12-31"):
        answer = client.get(f"/supervisor/reports/cases.csv?{period}")
        assert answer.status_code == 400, period
        assert "Dates must be between 1900-01-01 and 2999-12-31." in answer.get_data(
            as_text=True)
    answer = client.get("/supervisor/reports/cases.csv?from=2026-11-01&to=2026-11-31")
    assert answer.status_code == 400
    assert "Dates must look like 2026-11-30." in answer.get_data(as_text=True)
    assert client.get("/supervisor/reports/cases.csv?from=2999-12-01&to=2999-12-31"
                      ).status_code == 200
