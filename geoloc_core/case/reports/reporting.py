"""Making reports and bundles from where findings live: a scan, or the case log.

One place that both the ``scan`` command and the app call, so a report made headless and
one made in the app are built the same way: findings -> ``ReportItem``s (with the way to
reach each original) -> report content -> HTML, PDF and bundle; and every export made
from a case is written to the case log's audit trail with its SHA-256.
"""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ...evidence.sources import FileSource
from .bundle import Bundle, build_bundle
from ..log.caselog import CaseLog, EvidenceStore, StoredFinding
from ..findings import Finding
from .report_content import ModelInfo, Report, ReportItem, build_report
from .report_html import render_html
from .report_pdf import failure_pdf, render_pdf
from ..verification import VerdictThresholds

LOGGER = logging.getLogger(__name__)

REPORT_FORMATS = ("html", "pdf")


@dataclass
class ReportFiles:
    report: Report
    html: str
    pdf: bytes
    problems: list[str] = field(default_factory=list)  # a writer that failed, in words (its stand-in was made)


def render_reports(items: Sequence[ReportItem], case_name: str, analyst: str, scope: str,
                   models: Sequence[ModelInfo] = (), thresholds: VerdictThresholds = VerdictThresholds(),
                   include_serials: bool = False, worker: Any = None) -> ReportFiles:
    """Both formats from one content. Each writer runs on its own: one that fails is replaced by a page
    saying so (``problems`` names it), and the other format is kept (#31: a long caption once made the PDF
    writer raise, and no report at all was written). Thumbnails are decoded in ``worker`` (an isolated
    worker or pool; one of the report's own when None), never in this process."""
    report = build_report(items, case_name, analyst, scope, models, thresholds, include_serials, worker=worker)
    problems = []
    try:
        html = render_html(report)
    except Exception as exc:  # the PDF must survive an HTML failure too
        LOGGER.exception("the HTML report writer failed")
        problems.append(f"the HTML report could not be written ({type(exc).__name__}); the PDF has the findings")
        html = f"<!doctype html><p>The HTML report could not be written ({type(exc).__name__}).</p>"
    try:
        pdf = render_pdf(report)
    except Exception as exc:
        LOGGER.exception("the PDF report writer failed")
        problem = f"{type(exc).__name__}: {str(exc)[:160]}"
        problems.append(f"the PDF report could not be laid out ({problem}); it says so, and the HTML report is whole")
        pdf = failure_pdf(report, problem)
    return ReportFiles(report, html, pdf, problems)


def items_from_case(stored: Sequence[StoredFinding], store: EvidenceStore | None) -> list[ReportItem]:
    """Report items for findings of the case log; originals from the evidence store when kept."""
    return [ReportItem(s.finding, acquired_utc=s.finding.acquired_at_utc or s.created_at, source_url=s.source_url, note=s.note, finding_id=s.id,
                       original=(lambda sha=s.finding.sha256: store.get(sha)) if store is not None else None)
            for s in stored]


def items_from_scan(findings: Sequence[Finding], sources: Sequence[FileSource]) -> list[ReportItem]:
    """Report items for a scan: the originals are read again from their paths (and used only if
    they still hash to what was analysed)."""
    return [ReportItem(f, acquired_utc=f.acquired_at_utc or f.analysed_at_utc, original=source.read) for f, source in zip(findings, sources)]


def sha256_of(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def record_exports(log: CaseLog, case_id: int, analyst: str, items: Sequence[ReportItem],
                   outputs: Sequence[tuple[str, str, bytes | str]]) -> None:
    """Write (kind, file name, content) exports to the case log's audit trail."""
    ids = [i.finding_id for i in items if i.finding_id is not None]
    for kind, name, content in outputs:
        data = content.encode("utf-8") if isinstance(content, str) else content
        log.record_export(case_id, kind, name, sha256_of(data), len(data), analyst, ids)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".part")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def write_scan_reports(findings: Sequence[Finding], sources: Sequence[FileSource], reports: Sequence[str],
                       bundle: str | None, analyst: str, case_name: str, scope: str, models: Sequence[ModelInfo],
                       include_serials: bool = False) -> list[str]:
    """The ``scan --report/--bundle`` outputs; returns the lines to tell the analyst (with the SHA-256 of each
    file written). A bundle also gets ``<bundle>.sha256`` beside it, in ``sha256sum`` format."""
    items = items_from_scan(findings, sources)
    files = render_reports(items, case_name, analyst, scope, models, include_serials=include_serials)
    lines = [f"warning: {problem}" for problem in files.problems]
    for target in reports:
        path = Path(target)
        data = files.pdf if path.suffix.lower() == ".pdf" else files.html.encode("utf-8")
        _write_atomically(path, data)
        lines.append(f"report {path} sha256 {sha256_of(data)}")
    if bundle:
        made: Bundle = build_bundle(items, files.report, files.html, files.pdf, include_serials)
        path = Path(bundle)
        _write_atomically(path, made.data)
        path.with_name(path.name + ".sha256").write_text(f"{made.sha256}  {path.name}\n", encoding="utf-8")
        lines.append(f"bundle {path} sha256 {made.sha256} ({made.originals_included} originals; "
                     f"verify with: unzip it, then sha256sum -c MANIFEST.sha256)")
    return lines
