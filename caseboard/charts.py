"""Server-side SVG charts for supervisors, drawn from the counter tables.

Two small drawing functions (bars, lines) build the SVG text; every label goes through
markupsafe.escape, so the Markup they return is safe to put in a page as it is.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlmodel import Session, col, select

from caseboard import satisfaction
from caseboard.supervisor_models import DailyCounter

WIDTH, HEIGHT, PAD = 640, 240, 40
COLOURS = ("#0b3d5c", "#d9822b", "#2b9348", "#b5179e", "#5e60ce", "#e63946", "#6c757d",
           "#118ab2", "#8d6e63")


@dataclass(frozen=True)
class Figure:
    title: str
    svg: Markup


def bar_chart(title: str, bars: list[tuple[str, float]], top: float | None = None,
              unit: str = "") -> Markup:
    top = top or max((v for _, v in bars), default=0) or 1
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    step = inner_w / max(len(bars), 1)
    parts = [_open(title)]
    for i, (label, value) in enumerate(bars):
        h = inner_h * value / top
        x = PAD + i * step + step * 0.15
        y = HEIGHT - PAD - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" '
                     f'height="{h:.1f}" fill="{COLOURS[0]}"><title>{escape(label)}: '
                     f'{value:g}{escape(unit)}</title></rect>'
                     f'<text x="{x + step * 0.35:.1f}" y="{y - 3:.1f}" font-size="10" '
                     f'text-anchor="middle">{value:g}{escape(unit)}</text>'
                     f'<text x="{x + step * 0.35:.1f}" y="{HEIGHT - PAD + 12}" font-size="10" '
                     f'text-anchor="middle">{escape(label[:14])}</text>')
    if not bars:
        parts.append(_empty())
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(title: str, labels: list[str], series: dict[str, list[float]]) -> Markup:
    top = max((v for values in series.values() for v in values), default=0) or 1
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    step = inner_w / max(len(labels) - 1, 1)
    parts = [_open(title), f'<text x="4" y="{PAD}" font-size="10">{top:g}</text>']
    for i, label in enumerate(labels):
        if i % max(len(labels) // 8, 1) == 0:
            parts.append(f'<text x="{PAD + i * step:.1f}" y="{HEIGHT - PAD + 12}" '
                         f'font-size="10" text-anchor="middle">{escape(label)}</text>')
    for n, (name, values) in enumerate(sorted(series.items())):
        colour = COLOURS[n % len(COLOURS)]
        points = " ".join(f"{PAD + i * step:.1f},{HEIGHT - PAD - inner_h * v / top:.1f}"
                          for i, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{points}"><title>{escape(name)}</title></polyline>'
                     f'<text x="{WIDTH - PAD + 4}" y="{PAD + 12 * n}" font-size="10" '
                     f'fill="{colour}">{escape(name)}</text>')
    if not series:
        parts.append(_empty())
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH + 60}" '
            f'height="{HEIGHT}" viewBox="0 0 {WIDTH + 60} {HEIGHT}"><title>{escape(title)}'
            f'</title><line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" '
            f'y2="{HEIGHT - PAD}" stroke="#999"/>')


def _empty() -> str:
    return f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no data yet</text>'


# ---------------------------------------------------------------- the supervisors' charts


def contacts_per_hour(session: Session, tz: dt.tzinfo, now: dt.datetime) -> Markup:
    """The last 24 hours, one line per channel."""
    local = now.astimezone(tz).replace(minute=0, second=0, microsecond=0)
    hours = [local - dt.timedelta(hours=23 - i) for i in range(24)]
    index = {(h.date(), h.hour): i for i, h in enumerate(hours)}
    series: dict[str, list[float]] = defaultdict(lambda: [0.0] * 24)
    for day, hour, channel, value in session.execute(
            sa.select(col(DailyCounter.day), col(DailyCounter.hour), col(DailyCounter.channel),
                      col(DailyCounter.value))
            .where(col(DailyCounter.metric) == "contacts", col(DailyCounter.hour) >= 0,
                   col(DailyCounter.day) >= hours[0].date())):
        if (day, hour) in index:
            series[channel][index[(day, hour)]] += value
    return line_chart("Contacts per hour by channel (last 24 hours)",
                      [f"{h:%H}h" for h in hours], dict(series))


def compliance_by_department(session: Session, tz: dt.tzinfo, now: dt.datetime) -> Markup:
    since = now.astimezone(tz).date() - dt.timedelta(days=29)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for department, metric, value in session.execute(
            select(DailyCounter.department_id, DailyCounter.metric,
                   sa.func.sum(DailyCounter.value))
            .where(col(DailyCounter.day) >= since, col(DailyCounter.hour) == -1,
                   col(DailyCounter.metric).in_(("resolved_on_time", "resolved_late")))
            .group_by(col(DailyCounter.department_id), col(DailyCounter.metric))):
        counts[department][metric] = int(value)
    bars = [(d, round(100 * c["resolved_on_time"] / (c["resolved_on_time"] +
                                                     c["resolved_late"]), 1))
            for d, c in sorted(counts.items()) if c["resolved_on_time"] + c["resolved_late"]]
    return bar_chart("Resolved within the time limit, last 30 days", bars, 100, "%")


def backlog_trend(session: Session, tz: dt.tzinfo, now: dt.datetime) -> Markup:
    today = now.astimezone(tz).date()
    days = [today - dt.timedelta(days=29 - i) for i in range(30)]
    values: dict[dt.date, int] = dict(session.execute(
        sa.select(col(DailyCounter.day), col(DailyCounter.value))
        .where(col(DailyCounter.metric) == "backlog", col(DailyCounter.day) >= days[0])
    ).all())
    series: list[float] = []
    last = 0.0
    for day in days:  # a day without changes kept yesterday's backlog
        last = float(values.get(day, last))
        series.append(last)
    return line_chart("Open cases at the end of each day (last 30 days)",
                      [f"{d:%d %b}" for d in days], {"open": series} if values else {})


def satisfaction_by_channel(session: Session) -> Markup:
    rows = satisfaction.scores_by(session, "channel")
    return bar_chart("Average satisfaction by channel (1-5)",
                     [(r["key"], r["average"]) for r in rows], 5)


def all_charts(session: Session, tz: dt.tzinfo, now: dt.datetime) -> list[Figure]:
    return [Figure("Contacts per hour", contacts_per_hour(session, tz, now)),
            Figure("Time-limit compliance", compliance_by_department(session, tz, now)),
            Figure("Backlog", backlog_trend(session, tz, now)),
            Figure("Satisfaction", satisfaction_by_channel(session))]
