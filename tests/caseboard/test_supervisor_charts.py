"""Charts: server-side SVG drawn from the counters, labels escaped."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient

from caseboard.charts import bar_chart, line_chart
from caseboard.services import Services
from tests.caseboard.test_sign_in import sign_in
from tests.caseboard.test_supervisor_dashboard import act, folder, give, new_case, staff

__all__ = ["staff"]


def test_svg_labels_are_escaped() -> None:
    svg = str(bar_chart("<b>title</b>", [("<script>x</script>", 3.0)]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.startswith("<svg") and svg.count("<rect") == 1
    line = str(line_chart("t", ["a", "b"], {"email": [1.0, 2.0]}))
    assert line.count("<polyline") == 1


def test_chart_page_draws_contacts_compliance_backlog_and_satisfaction(
        client: FlaskClient, staff: None, services: Services) -> None:
    late = new_case(services, "housing", age=dt.timedelta(days=40))
    new_case(services, "housing", "sms")
    give(services, late.case_id, "alice")
    for action in ("accept", "start", "resolve"):
        act(services, late.case_id, action)  # resolved long after its deadline
    folder(services).catch_up()
    assert sign_in(client, "bob") == 303
    page = client.get("/supervisor/charts").get_data(as_text=True)
    assert page.count("<svg") == 4
    assert "Contacts per hour by channel" in page and ">sms</text>" in page
    compliance = page.split("Resolved within the time limit")[1].split("</svg>")[0]
    assert "<title>housing: 0%</title>" in compliance  # the only resolution was late
    backlog = page.split("Open cases at the end of each day")[1].split("</svg>")[0]
    assert "<polyline" in backlog
