"""From a scanned file to upright page images: PDF, TIFF (fax CCITT too), PNG, JPEG.

Anything that cannot be read raises BadScan with a reason a mailroom clerk understands;
the inbox puts the file in quarantine with that reason.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, ImageSequence

PDF_DPI = 200  # enough for 10-point print; higher only slows OCR down
MAX_PIXELS = 60_000_000  # a page larger than this is not a letter (or a decompression bomb)


class BadScan(ValueError):
    """The file is not a readable letter; the message says why."""


def sniff(data: bytes) -> str:
    if data.startswith(b"%PDF"):
        return "pdf"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    raise BadScan("not a PDF, TIFF, PNG or JPEG file")


def load_pages(data: bytes, max_bytes: int, max_pages: int) -> list[Image.Image]:
    """Every page as a greyscale image, upright and deskewed."""
    if not data:
        raise BadScan("the file is empty (0 bytes)")
    if len(data) > max_bytes:
        raise BadScan(f"the file is larger than {max_bytes} bytes")
    kind = sniff(data)
    pages = _pdf_pages(data, max_pages) if kind == "pdf" else _image_pages(data, max_pages)
    if not pages:
        raise BadScan("the file has no pages")
    return [straighten(page) for page in pages]


def _pdf_pages(data: bytes, max_pages: int) -> list[Image.Image]:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        reason = str(error).lower()
        if "password" in reason:
            raise BadScan("the PDF is encrypted (password protected)") from error
        raise BadScan(f"the PDF cannot be read ({error})") from error
    try:
        if len(document) > max_pages:
            raise BadScan(f"the PDF has {len(document)} pages, more than {max_pages}")
        images = []
        for index in range(len(document)):
            page = document[index]
            # render() applies the page's /Rotate, so rotated pages come out as printed.
            bitmap = page.render(scale=PDF_DPI / 72, grayscale=True)
            images.append(bitmap.to_pil().convert("L"))
        return images
    finally:
        document.close()


def _image_pages(data: bytes, max_pages: int) -> list[Image.Image]:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            frames = []
            for number, frame in enumerate(ImageSequence.Iterator(image)):
                if number >= max_pages:
                    raise BadScan(f"the TIFF has more than {max_pages} pages")
                frames.append(_greyscale(frame))
    except BadScan:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as error:
        raise BadScan(f"the image cannot be read ({error})") from error
    return frames


def _greyscale(frame: Image.Image) -> Image.Image:
    frame = ImageOps.exif_transpose(frame) or frame
    if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        background = Image.new("RGBA", frame.size, "white")
        background.alpha_composite(frame.convert("RGBA"))
        frame = background
    return frame.convert("L")


# ------------------------------------------------------------- rotation and skew

def _profile_score(binary: np.ndarray) -> float:
    """Text lines make the row sums alternate sharply between ink and paper."""
    rows = binary.sum(axis=1).astype(np.float64)
    return float(np.square(np.diff(rows)).sum())


def _small_binary(image: Image.Image, angle: float = 0.0) -> np.ndarray:
    rotated = image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False,
                           fillcolor=255) if angle else image
    array = np.asarray(rotated)
    return (array < min(160, int(array.mean()) - 30)).astype(np.uint8)


def skew_angle(image: Image.Image, limit: float = 6.0) -> float:
    """The angle (degrees) that makes the text lines horizontal, by projection profiles."""
    small = image.copy()
    small.thumbnail((900, 900))
    best, best_score = 0.0, _profile_score(_small_binary(small))
    for step, span in ((0.5, limit), (0.1, 0.5)):
        centre = best
        for angle in np.arange(centre - span, centre + span + 1e-9, step):
            score = _profile_score(_small_binary(small, float(angle)))
            if score > best_score * 1.0001:
                best, best_score = float(angle), score
    return round(best, 2)


def straighten(image: Image.Image) -> Image.Image:
    """Deskew. (Pages fed sideways or upside down are caught by reading.py, which turns a
    poorly read page and keeps the reading that is surest.)"""
    # A white margin: the detector misses text that touches the edge of a tight crop.
    image = ImageOps.expand(image, border=max(32, min(image.size) // 30), fill=255)
    if min(image.size) < 300:  # a snippet, not a page: too little to measure a skew on
        return image
    angle = skew_angle(image)
    if abs(angle) >= 0.2:
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True,
                             fillcolor=255)
    return image
