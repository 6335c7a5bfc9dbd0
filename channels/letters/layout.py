"""Reading order of a page's OCR lines: rows top to bottom, and columns one after the other.

Boxes whose middles line up form a row, read left to right. Where a run of rows is split by
a vertical gutter that no box crosses, with text on both sides in several rows (newspaper
columns, a deposition's line-number margin, two address blocks side by side), the left
column is read to its end before the right one; the rows above and below the run stay
rows. This is a recursive XY cut on line boxes, cutting the tallest column band first.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from channels.letters.ocr import OcrLine, join_pieces

MIN_SIDE_BY_SIDE_ROWS = 5  # fewer are a table or phrases set apart by wide spaces
MIN_GUTTER = 0.5  # of the median line height: a gutter is wider than a space between words
BLOCK_GAP = 0.9  # of the line height: a wider gap between rows ends a block
WORDY = 3  # letters or digits a column's piece of a row has (mostly): "Q." is a label

Row = list[OcrLine]


@dataclass(frozen=True)
class _Band:
    start: int  # first row of the run (index into the rows)
    end: int  # one past its last row
    x: float  # where the gutter runs
    side_by_side: int  # rows in the run with text on both sides


def _middle(line: OcrLine) -> float:
    return (line.top + line.bottom) / 2


def rows_of(lines: Iterable[OcrLine], row_height: float) -> list[Row]:
    rows: list[Row] = []
    for line in sorted(lines, key=_middle):
        if rows:
            last = rows[-1]
            last_middle = sum(_middle(ln) for ln in last) / len(last)
            if abs(_middle(line) - last_middle) < row_height * 0.5:
                last.append(line)
                continue
        rows.append([line])
    return [sorted(row, key=lambda ln: ln.left) for row in rows]


def _has_text(lines: Iterable[OcrLine]) -> bool:
    # A column of ':' (a court caption) or dashes is a rule, not a column of text.
    return any(ch.isalnum() for line in lines for ch in line.text)


def _gutters(row: Row, min_gap: float) -> list[float]:
    """Middles of the gaps in a row wide enough to be a gutter between columns."""
    out = []
    reach = row[0].right
    for line in row[1:]:
        if line.left - reach >= min_gap:
            out.append((reach + line.left) / 2)
        reach = max(reach, line.right)
    return out


def _gap(upper: Row, lower: Row) -> float:
    return min(ln.top for ln in lower) - max(ln.bottom for ln in upper)


def _band_at(rows: list[Row], x: float, seed: int, row_height: float) -> _Band:
    """The run of rows around rows[seed] that no box crosses at x, from the first to the
    last row with text on both sides, plus the rows that carry one column on without a
    break (a column longer than its neighbour)."""
    def free(row: Row) -> bool:
        return all(ln.right <= x or ln.left >= x for ln in row)

    first, last = seed, seed + 1
    while first > 0 and free(rows[first - 1]):
        first -= 1
    while last < len(rows) and free(rows[last]):
        last += 1
    both = [i for i in range(first, last)
            if _has_text(ln for ln in rows[i] if ln.right <= x)
            and _has_text(ln for ln in rows[i] if ln.left >= x)]
    if not both:
        return _Band(seed, seed + 1, x, 0)
    start, end = both[0], both[-1] + 1
    while end < last and _gap(rows[end - 1], rows[end]) <= BLOCK_GAP * row_height:
        end += 1
    while start > first and _gap(rows[start - 1], rows[start]) <= BLOCK_GAP * row_height:
        start -= 1
    return _Band(start, end, x, len(both))


def _alnum(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


def _is_column(pieces: list[str]) -> bool:
    """Words in most rows (a column of text), or a margin numbering the lines 1, 2, 3…"""
    if sum(_alnum(piece) >= WORDY for piece in pieces) * 2 >= len(pieces):
        return True
    numbers = [piece.strip() for piece in pieces]
    return (all(n.isdigit() for n in numbers)
            and all(int(a) < int(b) for a, b in zip(numbers, numbers[1:], strict=False)))


def _columns(rows: list[Row], band: _Band) -> bool:
    left, right = [], []
    for row in rows[band.start:band.end]:
        left.append(join_pieces(ln.text for ln in row if ln.right <= band.x))
        right.append(join_pieces(ln.text for ln in row if ln.left >= band.x))
    return (_is_column([t for t in left if t.strip()])
            and _is_column([t for t in right if t.strip()]))


def _tallest_band(rows: list[Row], row_height: float) -> _Band | None:
    best: _Band | None = None
    seen: set[tuple[int, int, int]] = set()
    for index, row in enumerate(rows):
        for x in _gutters(row, MIN_GUTTER * row_height):
            band = _band_at(rows, x, index, row_height)
            if ((band.start, band.end, round(x)) in seen
                    or band.side_by_side < MIN_SIDE_BY_SIDE_ROWS):
                continue
            seen.add((band.start, band.end, round(x)))
            if (best is None or band.side_by_side > best.side_by_side) and _columns(rows, band):
                best = band
    return best


def reading_order(lines: list[OcrLine], row_height: float) -> list[Row]:
    """Rows in reading order; a column band becomes its left column's rows, then its right
    column's (each read the same way, so three columns work too)."""
    rows = rows_of(lines, row_height)
    band = _tallest_band(rows, row_height)
    if band is None:
        return rows
    inside = [ln for row in rows[band.start:band.end] for ln in row]
    left = [ln for ln in inside if ln.right <= band.x]
    right = [ln for ln in inside if ln.left >= band.x]
    above = [ln for row in rows[:band.start] for ln in row]
    below = [ln for row in rows[band.end:] for ln in row]
    return [row for part in (above, left, right, below) if part
            for row in reading_order(part, row_height)]


def page_text(lines: list[OcrLine]) -> str:
    """The page as text in reading order; a blank line where a block ends."""
    if not lines:
        return ""
    row_height = statistics.median([ln.height for ln in lines if ln.height > 0] or [1.0])
    out: list[str] = []
    previous_bottom: float | None = None
    for row in reading_order(lines, row_height):
        top = min(ln.top for ln in row)
        # A wide gap, or a jump back up the page to the next column, ends a block.
        gap = 0.0 if previous_bottom is None else top - previous_bottom
        if gap > row_height * BLOCK_GAP or gap < -row_height * 2:
            out.append("")
        out.append(join_pieces(ln.text for ln in row))
        previous_bottom = max(ln.bottom for ln in row)
    return "\n".join(out)
