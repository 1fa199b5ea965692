"""The evidence bundle: one zip another analyst can verify with ``sha256sum -c``.

Why this layout: every file in the zip except ``MANIFEST.sha256`` is listed in it, in
``sha256sum``'s own format (``<hex>  <path>``), so the check needs no geoloc and runs on
any machine. Originals are stored under their SHA-256 (``originals/<sha256>.<type>``):
their real names come from the files being investigated and are hostile (``../``,
newlines, markup), so names never become paths; ``findings.csv`` maps each hash to its
name. An original goes in only when its bytes still hash to the recorded SHA-256.
The zip's own SHA-256 is what the case log records for the export.
"""
from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

from ..exports.export import export
from .report_content import Report, ReportItem, visible

MANIFEST = "MANIFEST.sha256"


@dataclass
class Bundle:
    data: bytes
    sha256: str
    manifest: list[tuple[str, str]]  # (sha256, path) for every file but the manifest
    originals_included: int = 0
    originals_missing: list[str] = field(default_factory=list)  # "name: why", visible()


def _readme(report: Report, included: int, total: int, missing: list[str]) -> str:
    lines = [
        f"{report.title}",
        f"Analyst: {report.analyst}. Generated {report.generated_utc} (UTC) by geoloc {report.geoloc_version}.",
        "",
        "Verify this bundle on any machine: unzip it, then in its folder run",
        "    sha256sum -c MANIFEST.sha256",
        "Every file but MANIFEST.sha256 is listed there; one changed byte makes the check fail.",
        "",
        "report.html, report.pdf   the case report (the same content in two formats)",
        "findings.csv/.json/.geojson   the findings as geoloc exported them",
        f"originals/<sha256>.<type>   the original files, named by their SHA-256 ({included} of {total} included;"
        " findings.csv gives each one's name)",
        "",
        report.witness_statement,
    ]
    if missing:
        lines += ["", "Originals not included:"] + [f"  {m}" for m in missing]
    return "\n".join(lines) + "\n"


def build_bundle(items: Sequence[ReportItem], report: Report, html: str, pdf: bytes,
                 include_serials: bool = False) -> Bundle:
    """The zip's bytes, its SHA-256 and its manifest."""
    findings = [item.finding for item in items]
    stamp = datetime.fromisoformat(report.generated_utc).timetuple()[:6]
    buffer = io.BytesIO()
    manifest: list[tuple[str, str]] = []
    seen: set[str] = set()
    missing: list[str] = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        def add(path: str, data: bytes) -> None:
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
            if path != MANIFEST:
                manifest.append((hashlib.sha256(data).hexdigest(), path))

        for item in items:
            f = item.finding
            if not f.sha256 or f.sha256 in seen:
                continue
            data, why = item.original_bytes()
            if data is None:
                missing.append(visible(f"{f.file}: {why}"))
                continue
            seen.add(f.sha256)
            suffix = "".join(c for c in (f.file_type or "bin") if c.isalnum())[:10] or "bin"
            add(f"originals/{f.sha256}.{suffix}", data)
        add("report.html", html.encode("utf-8"))
        add("report.pdf", pdf)
        for fmt in ("csv", "json", "geojson"):
            add(f"findings.{fmt}", export(findings, fmt, include_serials=include_serials).encode("utf-8"))
        total = len({f.sha256 for f in findings if f.sha256})
        included = sum(path.startswith("originals/") for _, path in manifest)
        add("README.txt", _readme(report, included, total, missing).encode("utf-8"))
        add(MANIFEST, "".join(f"{digest}  {path}\n" for digest, path in sorted(manifest, key=lambda m: m[1]))
            .encode("ascii"))
    data = buffer.getvalue()
    return Bundle(data, hashlib.sha256(data).hexdigest(), manifest, included, missing)
