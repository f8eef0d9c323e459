"""The readable page of a dispute bundle: what happened, in order, and how to check it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

import orjson

from core.logchain import ChainRecord, ChainReport

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #111; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font-size: 12px; }
code { font-size: 12px; word-break: break-all; }
.ok { color: #075e16; font-weight: 600; } .bad { color: #a10d0d; font-weight: 600; }
.withheld { color: #777; font-style: italic; }
"""


@dataclass(frozen=True)
class SummaryFile:
    """A file (or referenced evidence) as the summary lists it."""

    path: str
    sha256: str
    size_bytes: int
    description: str


def render_summary(
    *,
    subject: str,
    prepared_for: str,
    created_at: datetime,
    records: Sequence[ChainRecord],
    report: ChainReport,
    files: Sequence[SummaryFile],
    references: Sequence[SummaryFile],
    manifest_kid: str,
) -> bytes:
    """Render the summary page as UTF-8 HTML."""
    kids = report.signed_by
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Dispute bundle: {escape(subject)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Dispute bundle: <code>{escape(subject)}</code></h1>",
        "<table>",
        _row("Prepared for organization", f"<code>{escape(prepared_for)}</code>"),
        _row("Prepared at (UTC)", escape(created_at.isoformat())),
        _row("Entries", f"{report.entries} ({report.withheld} withheld from this party)"),
        _row("Last entry recorded by the log", _head(report)),
        _row("Chain when the bundle was made", _status(report)),
        _row("Entries signed by keys", ", ".join(f"<code>{escape(k)}</code>" for k in kids)),
        _row("Manifest signed by key", f"<code>{escape(manifest_kid)}</code>"),
        "</table>",
        "<h2>What happened</h2>",
        "<table><tr><th>#</th><th>Recorded at (UTC)</th><th>Event</th><th>By</th>"
        "<th>Details</th></tr>",
        *(_entry(record) for record in records),
        "</table>",
        "<h2>Files in this bundle</h2>",
        _files(files),
    ]
    if references:
        parts += [
            "<h2>Evidence referenced by hash (not included)</h2>",
            "<p>Ask for these files; a copy is genuine when its SHA-256 matches.</p>",
            _files(references),
        ]
    parts += [
        "<h2>How to check this bundle</h2>",
        "<p>Every entry carries the SHA-256 of the entry before it and an Ed25519 signature of "
        "the platform over its own hash; <code>manifest.json</code> lists every file with its "
        "SHA-256 and is signed in <code>manifest.jws</code> (a detached JWS). Changing, "
        "removing, adding or reordering anything breaks a hash or a signature.</p>",
        "<p>Run <code>haulpoint verify bundle.zip --keys platform-keys.json</code>, where "
        "<code>platform-keys.json</code> is the platform's key set obtained independently "
        "(<code>GET /v1/keys?include_retired=true</code>). Checked only against the keys "
        "inside the bundle, a pass proves the bundle is consistent, not who signed it.</p>",
        "</body></html>",
    ]
    return "\n".join(parts).encode("utf-8")


def _row(label: str, value_html: str) -> str:
    return f"<tr><th>{escape(label)}</th><td>{value_html}</td></tr>"


def _head(report: ChainReport) -> str:
    if report.last_seq is None:
        return "none"
    return f"#{report.last_seq} <code>{escape(report.last_hash or '')}</code>"


def _status(report: ChainReport) -> str:
    finding = report.finding
    if finding is None:
        return '<span class="ok">intact: every hash, link and signature checks out</span>'
    where = f"entry {finding.seq}" if finding.seq is not None else "the head"
    return (
        f'<span class="bad">broken at {escape(where)}: {escape(finding.problem.value)}</span>'
        f" - {escape(finding.detail)}"
    )


def _entry(record: ChainRecord) -> str:
    content = record.content
    if content is None:
        return (
            f'<tr class="withheld"><td>{record.seq}</td><td colspan="4">withheld: not '
            "addressed to this party (its hash and signature are in chain.jsonl)</td></tr>"
        )
    try:
        details = orjson.dumps(orjson.loads(content.payload), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        details = content.payload
    return (
        f"<tr><td>{record.seq}</td><td>{escape(content.recorded_at)}</td>"
        f"<td>{escape(content.kind)}</td><td>{escape(content.actor or 'platform')}</td>"
        f"<td><pre>{escape(details)}</pre></td></tr>"
    )


def _files(files: Sequence[SummaryFile]) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(f.path)}</code></td><td>{f.size_bytes}</td>"
        f"<td><code>{escape(f.sha256)}</code></td><td>{escape(f.description)}</td></tr>"
        for f in files
    )
    return f"<table><tr><th>File</th><th>Bytes</th><th>SHA-256</th><th>What</th></tr>{rows}</table>"
