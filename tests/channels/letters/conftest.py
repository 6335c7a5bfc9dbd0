"""Shared pieces for the letters tests: one OCR engine per session, and letters we generate
(rendered with PIL, then noise, a slight rotation and JPEG artefacts, like a cheap scanner)."""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps

from channels.letters.ocr import OcrEngine, OcrLine, engine_for
from tests.conftest import SHARED_DATA, require_or_skip

SCANS = SHARED_DATA / "scans"
LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


class RememberingEngine:
    """The real engine, loaded once per run; a page already read (the same test on SQLite
    and then PostgreSQL) is answered from memory instead of read again."""

    name = "rapidocr"

    def __init__(self, engine: OcrEngine) -> None:
        self.engine = engine
        self.seen: dict[str, list[OcrLine]] = {}

    def read(self, image: Image.Image) -> list[OcrLine]:
        key = hashlib.sha256(image.tobytes() + repr(image.size).encode()).hexdigest()
        if key not in self.seen:
            self.seen[key] = self.engine.read(image)
        return self.seen[key]


@pytest.fixture(scope="session")
def engine() -> OcrEngine:
    """Loaded once for the whole run (a model load is about a second)."""
    return RememberingEngine(engine_for("rapidocr"))


@pytest.fixture(autouse=True)
def _one_engine_per_run(monkeypatch: pytest.MonkeyPatch, engine: OcrEngine) -> Iterator[None]:
    # Intake paths look the engine up per thread; hand them the session's loaded one.
    import channels.letters.ingest as ingest

    monkeypatch.setattr(ingest, "engine_for", lambda name: engine)
    yield


def letter_image(lines: list[str], *, chinese: bool = False, angle: float = 1.2,
                 seed: int = 7) -> Image.Image:
    """An A4 page at 150 dpi with the lines as a person would type them."""
    font_path = CJK_FONT if chinese else LATIN_FONT
    require_or_skip(font_path.exists(), f"{font_path} is missing: apt-get install "
                    "fonts-dejavu-core fonts-wqy-microhei (as .ci/run does)")
    font = ImageFont.truetype(str(font_path), 30)
    page = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(page)
    y = 120
    for line in lines:
        left, _, right = line.partition(">")  # ">text": right-aligned (the sender's address)
        if right:
            width = draw.textlength(right, font=font)
            draw.text((1240 - 120 - width, y), right, font=font, fill=20)
        if left:
            draw.text((120, y), left, font=font, fill=20)
        y += 46 if line else 40
    rng = random.Random(seed)
    pixels = page.load()
    assert pixels is not None
    for _ in range(6000):  # specks of dust
        pixels[rng.randrange(1240), rng.randrange(1754)] = rng.randrange(0, 200)
    page = page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=250)
    return ImageOps.autocontrast(page)


def as_jpeg(image: Image.Image, quality: int = 55) -> bytes:
    buffer = io.BytesIO()
    image.convert("L").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def english_letter(reference: str = "", name: str = "Margaret Thornton",
                   street: str = "14 Willow Crescent", town: str = "Exampleton",
                   postcode: str = "EX4 7QT", body: str = "",
                   phone: str = "01632 960 123") -> list[str]:
    lines = [f">{name}", f">{street}", f">{town}", f">{postcode}", "", ">3 December 2026", "",
             "City of Example Council", "Town Hall", "1 High Street", "Example EX1 1AA", "",
             "Dear Sir or Madam,", ""]
    if reference:
        lines += [f"Re: your reference {reference}", ""]
    lines += (body or ("There is a large pothole in the road outside my house on "
                       "Willow Crescent.|It is dangerous for cyclists and has damaged "
                       "my car tyre.|Please repair the road surface soon.")).split("|")
    lines += ["", "Yours faithfully,", "", name] + ([f"Tel {phone}"] if phone else [])
    return lines


def chinese_letter(reference: str = "") -> list[str]:
    lines = ["寄信人：王秀英", "地址：示例市人民路88号3单元502室", "邮编：200031",
             "电话：13812345678", "", "尊敬的市政府工作人员：", ""]
    if reference:
        lines += [f"关于编号 {reference} 的问题", ""]
    lines += ["我家楼下的路灯已经坏了两个星期，", "晚上非常黑，老人出门很不安全。",
              "请尽快派人维修。", "", "此致", "敬礼", "", "王秀英", "2026年12月3日"]
    return lines
