"""Render the unsigned one-page A4 letter with reportlab, the CJK font embedded as a subset.

Font: WenQuanYi Micro Hei (Debian package `fonts-wqy-microhei`, Apache-2.0 / GPLv3 with font
exception), a TrueType-outline CJK font reportlab can subset-embed; `GATEWAY_LETTER_FONT` may point to
another TrueType/TTC file. See signing/README.md for why.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Final

import qrcode
from reportlab.lib import colors
from reportlab.lib.enums import TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, Table, TableStyle

from contracts.capitals import amount_in_capitals
from signing.errors import FontUnavailableError
from signing.letter.model import LetterData, chinese_date, yuan_figures

FONT_NAME: Final = "GwLetterCJK"
FONT_CANDIDATES: Final = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
_font_lock = threading.Lock()
# The QR mask is fixed instead of searched: qrcode's search builds the symbol with all eight masks and
# scores each (ISO/IEC 18004 7.8.3's penalty rules), ~80% of the QR's cost. Every mask gives a valid
# symbol (the mask number is in the format information every reader decodes first); the search only
# picks the easiest to scan. For verify URLs like ours, mask 2 scored lowest in 56 of 60 random samples
# and at most 75 penalty points (~9%) above the best in the others (measured 2026-11-22).
QR_MASK: Final = 2


def font_path() -> Path:
    override = os.environ.get("GATEWAY_LETTER_FONT")
    for candidate in ([override] if override else []) + list(FONT_CANDIDATES):
        if Path(candidate).is_file():
            return Path(candidate)
    raise FontUnavailableError(
        "no CJK font for the letter: install the Debian package fonts-wqy-microhei "
        "or set GATEWAY_LETTER_FONT to a TrueType font file"
    )


def _register_font() -> None:
    with _font_lock:
        if FONT_NAME in pdfmetrics.getRegisteredFontNames():
            return
        path = font_path()
        try:
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))
        except Exception as exc:  # reportlab raises its own TTFError and plain errors alike
            raise FontUnavailableError(f"cannot load font {path}: {exc}") from exc


def _style(size: float, *, leading: float | None = None, align: int = TA_JUSTIFY) -> ParagraphStyle:
    return ParagraphStyle(
        "letter",
        fontName=FONT_NAME,
        fontSize=size,
        leading=leading or size * 1.65,
        alignment=align,
        wordWrap="CJK",
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _draw_qr(pdf: canvas.Canvas, text: str, x: float, y: float, size: float) -> None:
    """Vector QR code, so no raster and no extra font.

    One path of integer rectangles in module units (one per horizontal run of dark modules) under a
    scaling transform, filled once: the same picture as a filled square per module, with a fraction
    of the operators (and of reportlab's per-number formatting, which dominated the render).
    """
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, mask_pattern=QR_MASK)
    code.add_data(text)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    count = len(matrix)
    runs: list[str] = []
    for row_index, row in enumerate(matrix):
        bottom = count - 1 - row_index
        column = 0
        while column < count:
            if not row[column]:
                column += 1
                continue
            start = column
            while column < count and row[column]:
                column += 1
            runs.append(f"{start} {bottom} {column - start} 1 re")
    module = size / count
    pdf.setFillColor(colors.black)
    pdf.saveState()
    pdf.transform(module, 0, 0, module, x, y)
    pdf.addLiteral("\n".join(runs) + "\nf")
    pdf.restoreState()


def render_letter(data: LetterData) -> bytes:
    """The unsigned PDF (one A4 page)."""
    _register_font()
    buffer = io.BytesIO()
    width, height = A4
    margin = 22 * mm
    text_width = width - 2 * margin
    pdf = canvas.Canvas(
        buffer, pagesize=A4, pageCompression=1, invariant=1, initialFontName=FONT_NAME, initialFontSize=11
    )
    pdf.setTitle(f"{data.product_title} {data.guarantee_no}")
    pdf.setAuthor(data.institution)
    pdf.setSubject(f"{data.project_name} {data.section_name}")
    pdf.setCreator("eguarantee-gateway signing")

    # Frame: a thin double rule, as on printed bank letters.
    pdf.setStrokeColor(colors.HexColor("#8B1A1A"))
    pdf.setLineWidth(1.2)
    pdf.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    pdf.setLineWidth(0.4)
    pdf.rect(13.5 * mm, 13.5 * mm, width - 27 * mm, height - 27 * mm)

    y = height - 34 * mm
    pdf.setFillColor(colors.HexColor("#8B1A1A"))
    pdf.setFont(FONT_NAME, 26)
    pdf.drawCentredString(width / 2, y, " ".join(data.product_title))
    pdf.setFillColor(colors.black)
    y -= 11 * mm
    pdf.setFont(FONT_NAME, 10.5)
    pdf.drawRightString(width - margin, y, f"保函编号：{data.guarantee_no}")
    y -= 10 * mm

    def paragraph(text: str, style: ParagraphStyle, gap: float = 2.5 * mm) -> None:
        nonlocal y
        block = Paragraph(text, style)
        _, used = block.wrap(text_width, y)
        block.drawOn(pdf, margin, y - used)
        y -= used + gap

    body = _style(11.5)
    paragraph(f"致：{_escape(data.beneficiary)}（受益人）", body)
    paragraph(
        "鉴于"
        f"{_escape(data.applicant)}（统一社会信用代码：{_escape(data.applicant_uscc)}，以下简称“投标人”）"
        f"参加贵方组织的“{_escape(data.project_name)}”{_escape(data.section_name)}"
        f"（标段编号：{_escape(data.section_code)}）的投标，"
        f"{_escape(data.institution)}（以下简称“我方”）接受投标人的委托，"
        f"在此向贵方出具本{_escape(data.product_title)}，"
        "不可撤销地保证：在下列保证金额及有效期内，按本保函的索赔条款向贵方承担保证责任。",
        _style(11.5, leading=20),
    )
    y -= 1 * mm

    cell = _style(11, leading=16, align=0)
    rows = [
        ["保证金额（小写）", yuan_figures(data.amount_fen)],
        ["保证金额（大写）", f"人民币{amount_in_capitals(data.amount_fen)}"],
        ["保函有效期", f"自{chinese_date(data.cover_start)}起至{chinese_date(data.cover_end)}止"],
        ["项目及标段", f"{data.project_name} / {data.section_name}（{data.section_code}）"],
    ]
    table = Table(
        [[Paragraph(_escape(label), cell), Paragraph(_escape(value), cell)] for label, value in rows],
        colWidths=[38 * mm, text_width - 38 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#555555")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#F3EDE4")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    _, used = table.wrap(text_width, y)
    table.drawOn(pdf, margin, y - used)
    y -= used + 6 * mm

    paragraph("索赔条款", _style(12))
    for index, term in enumerate(data.claim_terms, start=1):
        paragraph(f"{index}. {_escape(term)}", _style(10.5, leading=17), gap=1.5 * mm)

    # Signature block, right-aligned, and the verification box, bottom-left.
    sign_y = 78 * mm
    pdf.setFont(FONT_NAME, 12)
    pdf.drawRightString(width - margin, sign_y + 14 * mm, f"保证人：{data.institution}")
    pdf.drawRightString(width - margin, sign_y + 6 * mm, "（电子签名）")
    pdf.drawRightString(width - margin, sign_y - 2 * mm, f"出具日期：{chinese_date(data.issue_date)}")

    qr_size = 34 * mm
    box_y = 22 * mm
    _draw_qr(pdf, data.verify_url, margin, box_y, qr_size)
    pdf.setFont(FONT_NAME, 10)
    text_x = margin + qr_size + 5 * mm
    pdf.drawString(text_x, box_y + 26 * mm, "本保函真伪验证")
    pdf.drawString(text_x, box_y + 19 * mm, f"保函编号：{data.guarantee_no}")
    pdf.drawString(text_x, box_y + 12 * mm, f"验证码：{data.verification_code}")
    pdf.setFont(FONT_NAME, 8)
    pdf.drawString(text_x, box_y + 5 * mm, f"扫码或访问 {data.verify_base_url.rstrip('/')}/verify 核验")
    pdf.setFont(FONT_NAME, 7.5)
    pdf.setFillColor(colors.HexColor("#666666"))
    pdf.drawCentredString(
        width / 2,
        16 * mm,
        "本保函为电子保函，含PAdES数字签名及保证人SM2签名，与纸质保函具有同等效力；任何改动均使签名失效。",
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
