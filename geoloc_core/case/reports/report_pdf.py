"""The case report as a PDF, from the same content as the HTML report.

Why fpdf2: pure Python (installs from PyPI anywhere, no C build, no system library),
actively maintained, embeds and subsets TrueType fonts so any script prints, uses the
Pillow that geoloc already has for images, and its text API (``cell``/``multi_cell``/
``table``) writes strings as text: no markup is interpreted unless asked for (we never
ask), so a hostile name cannot change the document. ReportLab was the alternative; its
``Paragraph`` parses a mini-HTML markup, which is exactly what hostile strings must
never meet, and it is a much larger dependency.

Fonts: DejaVu Sans (Latin, Greek, Cyrillic, ...) with Droid Sans Fallback for CJK, from
the Debian packages ``fonts-dejavu-core`` and ``fonts-droid-fallback``
(``scripts/install_system_packages.sh``). A character no loaded font can draw is
written as a visible ``\\uXXXX`` escape rather than an empty box, so the PDF's text
(e.g. ``pdftotext``) still says exactly what the file said. Without DejaVu the
report falls back to the PDF core fonts and escapes everything outside Latin-1, and
says so on its first page.
"""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from .report_content import FileReport, Report, Section

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
             Path("/usr/share/fonts/TTF"), Path("/usr/share/fonts/truetype/droid"), Path("/usr/share/fonts/droid"))
FONT_FILES = {"sans": "DejaVuSans.ttf", "sans-bold": "DejaVuSans-Bold.ttf", "mono": "DejaVuSansMono.ttf",
              "cjk": "DroidSansFallbackFull.ttf"}
MARGIN_MM = 12
# A table cell is one row of a page: fpdf refuses a row taller than the page ("row too high"), and a
# 3,000-character caption in one cell made the whole report fail (#31). Longer cell values are cut for
# the PDF, saying so; the HTML report carries them whole.
CELL_MAX_CHARS = 1200


def cell_text(value: str) -> str:
    """A table cell's text as the PDF can lay it out on one page (see ``CELL_MAX_CHARS``)."""
    if len(value) <= CELL_MAX_CHARS:
        return value
    return (value[:CELL_MAX_CHARS] + f" ... [cut at {CELL_MAX_CHARS:,} of {len(value):,} characters for the PDF; "
            "the HTML report has the whole text]")


def find_font(file_name: str) -> Path | None:
    for folder in FONT_DIRS:
        if (folder / file_name).is_file():
            return folder / file_name
    return None


@lru_cache(maxsize=8)
def _coverage(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


class _ReportPDF(FPDF):
    def __init__(self, report: Report, text: str):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.report = report
        self.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        self.set_auto_page_break(True, margin=MARGIN_MM + 4)
        self.covered: frozenset[int] | None = None
        sans, bold, mono, cjk = (find_font(FONT_FILES[k]) for k in ("sans", "sans-bold", "mono", "cjk"))
        if sans and bold and mono:
            self.add_font("geo", "", str(sans))
            self.add_font("geo", "B", str(bold))
            self.add_font("geomono", "", str(mono))
            covered = _coverage(str(sans)) & _coverage(str(bold))
            if cjk and any(ord(c) not in covered for c in text):  # loading the CJK font costs seconds: only if needed
                self.add_font("geocjk", "", str(cjk))
                self.add_font("geocjk", "B", str(cjk))
                self.set_fallback_fonts(["geocjk"], exact_match=False)
                covered |= _coverage(str(cjk))
            self.covered = frozenset(covered)
            self.sans, self.mono = "geo", "geomono"
        else:
            self.sans, self.mono = "helvetica", "courier"

    def text_of(self, value: str) -> str:
        """``value`` with characters no loaded font can draw written as ``\\uXXXX``."""
        if self.covered is None:
            return "".join(c if ord(c) < 256 else f"\\u{ord(c):04x}" for c in value)
        return "".join(c if ord(c) in self.covered or c in " \n" else f"\\u{ord(c):04x}" for c in value)

    def footer(self):
        self.set_y(-MARGIN_MM)
        self.set_font(self.sans, "", 7)
        self.set_text_color(110, 110, 110)
        self.cell(0, 4, self.text_of(f"{self.report.title} | generated {self.report.generated_utc} UTC | "
                                     f"page {self.page_no()}/{{nb}}"), align="C")
        self.set_text_color(0, 0, 0)

    def heading(self, text: str, size: float) -> None:
        self.set_font(self.sans, "B", size)
        self.multi_cell(0, size * 0.5, self.text_of(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        self.ln(1.5)

    def paragraph(self, text: str, size: float = 9, fill: tuple[int, int, int] | None = None) -> None:
        self.set_font(self.sans, "", size)
        if fill:
            self.set_fill_color(*fill)
        self.multi_cell(0, size * 0.5, self.text_of(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, fill=bool(fill),
                        padding=2 if fill else 0, align="L")
        self.set_fill_color(255, 255, 255)
        self.ln(1.5)

    def rows(self, rows: list[tuple[str, str]], mono_labels: tuple[str, ...] = ("SHA-256",)) -> None:
        self.set_font(self.sans, "", 8.5)
        with self.table(col_widths=(0.3, 0.7), first_row_as_headings=False, line_height=4.2,
                        wrapmode=WrapMode.WORD, padding=1, text_align="LEFT") as table:
            for label, value in rows:
                row = table.row()
                row.cell(self.text_of(cell_text(label)))
                mono = FontFace(family=self.mono, size_pt=7.5) if label in mono_labels else None
                row.cell(self.text_of(cell_text(value)), style=mono)
        self.ln(2)

    def grid(self, cells: list[list[str]], widths: tuple[float, ...] | None = None, mono_column: int | None = None,
             size: float = 8) -> None:
        self.set_font(self.sans, "", size)
        with self.table(col_widths=widths, first_row_as_headings=True, line_height=size * 0.5,
                        wrapmode=WrapMode.WORD, padding=1, repeat_headings=1, text_align="LEFT") as table:
            for r, values in enumerate(cells):
                row = table.row()
                for c, value in enumerate(values):
                    mono = FontFace(family=self.mono, size_pt=size - 1) if r > 0 and c == mono_column else None
                    row.cell(self.text_of(cell_text(value)), style=mono)
        self.ln(2)

    def section(self, section: Section) -> None:
        self.heading(section.title, 10.5)
        if section.rows:
            self.rows(section.rows)
        if section.table:
            self.grid(section.table, widths=section.table_widths)
        if section.figures:
            self.figures(section.figures)

    def figures(self, figures: list[tuple[str, bytes]]) -> None:
        """Pictures (JPEG, geoloc's own: pixel forensics' views, #37) two to a row, each with its caption."""
        width, box = (self.w - 2 * MARGIN_MM - 6) / 2, 66.0
        for start in range(0, len(figures), 2):
            if self.get_y() + box + 10 > self.h - MARGIN_MM - 4:
                self.add_page()
            top, lowest = self.get_y(), self.get_y()
            for column, (caption, jpeg) in enumerate(figures[start:start + 2]):
                x = MARGIN_MM + column * (width + 6)
                info = self.image(io.BytesIO(jpeg), x=x, y=top, w=width, h=box, keep_aspect_ratio=True)
                self.set_xy(x, top + float(info.rendered_height) + 1)
                self.set_font(self.sans, "", 7)
                self.multi_cell(width, 3.2, self.text_of(caption), align="L")
                lowest = max(lowest, self.get_y())
            self.set_xy(MARGIN_MM, lowest + 2)


def _file_pages(pdf: _ReportPDF, report: Report, f: FileReport) -> None:
    pdf.add_page()
    pdf.heading(f"File {f.number} of {len(report.files)}: {f.name}", 13)
    pdf.paragraph(f.headline, 10.5)
    pdf.paragraph(f"Verdict: {f.verdict or 'none'}" + (f" ({f.verdict_reason})" if f.verdict_reason else ""), 10)
    top = pdf.get_y()
    height = 0.0
    if f.thumbnail_jpeg:
        info = pdf.image(io.BytesIO(f.thumbnail_jpeg), x=MARGIN_MM, y=top, w=45, keep_aspect_ratio=True, h=45)
        height = max(height, float(info.rendered_height))
    else:
        pdf.set_xy(MARGIN_MM, top)
        pdf.set_font(pdf.sans, "", 8)
        pdf.multi_cell(45, 4, pdf.text_of(f"No thumbnail: {f.thumbnail_note}"), align="L")
        height = max(height, pdf.get_y() - top)
    if f.map_png:
        pdf.image(io.BytesIO(f.map_png), x=MARGIN_MM + 50, y=top, w=124, h=62)
        height = max(height, 62.0)
        pdf.set_xy(MARGIN_MM + 50, top + 62.5)
        pdf.set_font(pdf.sans, "", 7)
        pdf.multi_cell(124, 3.2, "Red: EXIF GPS; blue: prediction with its 50 % (solid) and 90 % (dashed) regions; "
                                 "hollow: other candidates; purple: the place written in the file; black diamond: "
                                 "the analyst's own point; dashed line: the distance.")
        height = max(height, pdf.get_y() - top)
    else:
        pdf.set_xy(MARGIN_MM + 50, top)
        pdf.set_font(pdf.sans, "", 8)
        pdf.multi_cell(124, 4, "No map: the file has no usable EXIF GPS, no located written place and no prediction.")
    pdf.set_xy(MARGIN_MM, top + height + 3)
    for section in f.sections:
        pdf.section(section)


def _all_text(report: Report) -> str:
    parts = [report.title, report.analyst, report.case_name, report.scope]
    parts += [cell for row in report.summary for cell in row]
    for section in [*report.models, report.thresholds, *(s for f in report.files for s in f.sections)]:
        parts += [section.title, *(v for row in section.rows for v in row)]
        parts += [cell for row in section.table or [] for cell in row]
    parts += [f.thumbnail_note for f in report.files] + [f.headline for f in report.files]
    return "".join(parts)


def failure_pdf(report: Report, problem: str) -> bytes:
    """A one-page PDF saying the report could not be laid out, and why: what ``reporting`` ships when the
    PDF writer fails, so the HTML report (and the bundle) are never lost with it."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 14)
    text = (f"{report.title}\n\nThe PDF writer could not lay out this report ({problem}). The HTML report made "
            f"with it has every finding; generated {report.generated_utc} UTC by geoloc {report.geoloc_version}.")
    pdf.multi_cell(0, 7, "".join(c if ord(c) < 256 else f"\\u{ord(c):04x}" for c in text))
    return bytes(pdf.output())


def render_pdf(report: Report) -> bytes:
    """The report as PDF bytes (A4)."""
    pdf = _ReportPDF(report, _all_text(report))
    pdf.set_title(pdf.text_of(report.title))
    pdf.set_author(pdf.text_of(report.analyst))
    pdf.set_creator(f"geoloc {report.geoloc_version}")
    pdf.set_producer(f"geoloc {report.geoloc_version} (fpdf2)")
    pdf.add_page()
    pdf.heading(report.title, 16)
    pdf.rows(report.header_rows)
    if pdf.covered is None:
        pdf.paragraph("No Unicode font (DejaVu Sans) was found on this machine: characters outside Latin-1 are "
                      "written as \\uXXXX escapes.", 8)
    pdf.paragraph(f"How to read this report. {report.witness_statement}", 9, fill=(255, 247, 230))
    pdf.heading("Files", 12)
    pdf.grid(report.summary, widths=(0.04, 0.2, 0.4, 0.36), mono_column=2, size=7.5)
    pdf.heading("Models", 12)
    for section in report.models:
        pdf.section(section)
    pdf.heading("Verdict rules", 12)
    pdf.section(report.thresholds)
    for f in report.files:
        _file_pages(pdf, report, f)
    return bytes(pdf.output())
