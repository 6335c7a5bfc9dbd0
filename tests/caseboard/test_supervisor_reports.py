"""Reports: the per-case CSV (columns, period filter, channels used, outcomes, score) and the
monthly summary page, on both databases."""

from __future__ import annotations

import csv
import datetime as dt
import io

from flask.testing import FlaskClient

from caseboard.contacts import InboundContact, Sender
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
