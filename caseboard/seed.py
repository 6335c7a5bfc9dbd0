"""Departments and services from config into the database; the demo administration's data."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from caseboard import auth
from caseboard.contacts import InboundContact, Sender
from caseboard.models import Department, ServiceType, User
from settings import Config


def sync_departments(session: Session, config: Config) -> None:
    """Make the department and service tables say what config says (inactive if removed)."""
    wanted = {d.id: d for d in config.departments}
    services = {s.code: s for d in config.departments for s in d.services}
    for department in session.execute(select(Department)).scalars():
        department.active = department.id in wanted
    for service in session.execute(select(ServiceType)).scalars():
        service.active = service.code in services
    for dep in config.departments:
        row = session.get(Department, dep.id) or Department(id=dep.id, name_en="")
        row.name_en, row.name_zh, row.active = dep.name["en"], dep.name.get("zh", ""), True
        session.add(row)
    session.flush()
    for svc in services.values():
        srow = session.get(ServiceType, svc.code) or ServiceType(
            code=svc.code, department_id=svc.department, name_en="")
        srow.department_id, srow.priority, srow.active = svc.department, svc.priority, True
        srow.name_en, srow.name_zh = svc.name["en"], svc.name.get("zh", "")
        session.add(srow)


def has_users(session: Session) -> bool:
    return session.execute(select(User.id).limit(1)).first() is not None


def seed_demo_users(session: Session, config: Config) -> list[str]:
    created = []
    for demo in config.demo_users:
        if session.execute(select(User.id).where(col(User.username) == demo.username)).first():
            continue
        auth.create_user(session, demo.username, demo.role, demo.password,
                         display_name=demo.display_name, departments=demo.departments,
                         languages=demo.languages)
        created.append(demo.username)
    return created


def demo_contacts(now: dt.datetime) -> list[InboundContact]:
    """A morning's contacts at the demo administration, on several channels and languages."""
    hour = dt.timedelta(hours=1)
    return [
        InboundContact("email", "<demo-1@mail.example>", Sender("Maria Lopez",
                       email="maria.lopez@mail.example"), subject="Bins not collected",
                       text="Our bins were not collected on Tuesday on Elm Street again.",
                       language="en", received_at=now - 5 * hour),
        InboundContact("sms", "SMdemo0002", Sender(phone="+447700900123"),
                       text="Huge pothole outside 14 Mill Road, a cyclist nearly fell",
                       language="en", received_at=now - 4 * hour),
        InboundContact("webchat", "chat-demo-3", Sender("王芳", chat_session="demo-session-3"),
                       text="我家楼下的路灯坏了好几天了，晚上很黑", language="zh",
                       received_at=now - 3 * hour),
        InboundContact("letter", "demo-letter-4", Sender("Arthur Dent",
                       address="155 Country Lane, Cottington", postcode="CT1 4AB"),
                       subject="Damp and mould in my council flat",
                       text="Dear Sir or Madam, there is black mould in the bedroom of my flat.",
                       language="en", received_at=now - 2 * hour),
        InboundContact("phone", "CAdemo0005", Sender(phone="+447700900456"),
                       text="water is gushing from a burst main on the high street",
                       language="en", received_at=now - hour),
        InboundContact("walk_in", "desk-demo-6", Sender("Li Wei", email="li.wei@mail.example"),
                       text="I would like to ask about something", language="en",
                       received_at=now - hour / 2),
    ]
