"""``splants qa FILE``: the QA checks on text written outside the system, against the brand profile.

Prints JSON ``{"qa_score", "status", "checks": {name: {"score", "passed", "findings": [...]}}}`` for the
text as submitted; exit code 0 when it is approved as it stands, 1 otherwise (2 for unusable input).
When the score calls for auto-fix, ``auto_fix`` shows what the fixes would change and the score after
them (``--write-fixed PATH`` saves the fixed text). The file is plain text or Markdown, optionally with a
YAML front matter block for the fields a platform needs (``title``, ``seo_title``, ``meta_description``,
``subject``, ``preheader``, ``cta``, ``hashtags``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import typer
import yaml

from splants_dagster.briefs import BriefError, load_brand
from splants_dagster.cli.common import err_console, styled
from splants_dagster.paths import DataPaths
from splants_dagster.platforms import CONTENT_TYPES, PLATFORMS

FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?", re.S)
FIELDS = ("title", "seo_title", "meta_description", "subject", "preheader", "cta", "hashtags")
SOURCE_SUFFIXES = (".html", ".htm", ".md", ".markdown", ".txt")


def register(app: typer.Typer) -> None:
    app.command("qa")(qa)


class InputError(ValueError):
    pass


def parse_document(raw: str, content_type: str) -> dict[str, Any]:
    """The fields of a piece from a text file: front matter first, then a '# Title' or 'Subject:' line."""
    fields: dict[str, Any] = {}
    body = raw
    match = FRONT_MATTER.match(raw)
    if match:
        try:
            meta = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise InputError(f"front matter is not valid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(meta, dict):
            raise InputError("front matter must be a mapping of field: value")
        unknown = sorted(set(meta) - set(FIELDS))
        if unknown:
            raise InputError(f"unknown front matter field(s) {unknown}; known: {', '.join(FIELDS)}")
        fields.update(meta)
        body = raw[match.end() :]
    body = body.strip("\n")
    first, _, rest = body.partition("\n")
    if "title" not in fields and re.match(r"^#\s+\S", first):
        fields["title"] = first.lstrip("#").strip()
        body = rest.strip("\n")
    elif content_type == "email" and re.match(r"^subject:\s*\S", first, re.I):
        fields.setdefault("subject", first.split(":", 1)[1].strip())
        body = rest.strip("\n")
    if content_type == "email" and "subject" in fields:
        fields.setdefault("title", fields["subject"])
    fields.setdefault("title", first.lstrip("#").strip()[:90])
    tags = fields.get("hashtags") or []
    if isinstance(tags, str):
        tags = tags.replace(",", " ").split()
    fields["hashtags"] = [t if str(t).startswith("#") else f"#{t}" for t in tags]
    fields["body"] = body
    return fields


def load_source_dir(folder: Path) -> dict[str, str]:
    from splants_dagster.research import load_file_source

    docs = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES):
        doc = load_file_source(str(path), path)
        if doc.ok:
            docs[str(path.relative_to(folder))] = doc.text
    return docs


def earlier_content(paths: DataPaths) -> dict[str, str]:
    """Every piece in the analysts' snapshot, if there is one (read-only; never creates a warehouse)."""
    if not paths.analytics_db.exists():
        return {}
    import duckdb

    try:
        conn = duckdb.connect(str(paths.analytics_db), read_only=True)
    except duckdb.Error:
        return {}
    try:
        return dict(conn.execute("SELECT piece_id, body FROM core.content_pieces").fetchall())
    except duckdb.Error:
        return {}
    finally:
        conn.close()


def qa(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="the text to check"),
    platform: str = typer.Option(..., "--platform", "-p", help=f"one of {', '.join(PLATFORMS)}"),
    content_type: str = typer.Option(..., "--content-type", "-t", help=f"one of {', '.join(CONTENT_TYPES)}"),
    keywords: str = typer.Option("", "--keywords", "-k", help="comma-separated keywords, primary first"),
    sources: Path | None = typer.Option(
        None, "--sources", exists=True, file_okay=False, help="folder of source texts to check for copying"
    ),
    paid: bool = typer.Option(False, "--paid", help="sponsored / paid post: needs a disclosure"),
    link: str | None = typer.Option(None, "--link", help="landing URL the piece should carry"),
    write_fixed: Path | None = typer.Option(None, "--write-fixed", help="save the auto-fixed text here"),
):
    """Run the seven QA checks on FILE; prints JSON; exit 0 when approved, 1 otherwise."""
    from splants_dagster.qa import QAContext, QAText, review_sync, spec_for

    paths = DataPaths.at()
    try:
        if platform not in PLATFORMS:
            raise InputError(f"--platform {platform!r}: must be one of {', '.join(PLATFORMS)}")
        if content_type not in CONTENT_TYPES:
            raise InputError(f"--content-type {content_type!r}: must be one of {', '.join(CONTENT_TYPES)}")
        spec = spec_for("adhoc", platform, content_type)
        fields = parse_document(file.read_text(encoding="utf-8"), content_type)
        brand = load_brand(paths.brand_file)
    except (InputError, ValueError) as exc:
        err_console.print(styled((f"{file}: {exc}", "red")))
        raise typer.Exit(2) from None
    except BriefError as err:
        err_console.print(styled((str(err), "red")))
        raise typer.Exit(2) from None

    text = QAText(
        piece_id=file.name,
        spec=spec,
        title=fields["title"],
        body=fields["body"],
        hashtags=tuple(fields["hashtags"]),
        seo_title=fields.get("seo_title"),
        meta_description=fields.get("meta_description"),
        subject=fields.get("subject"),
        preheader=fields.get("preheader"),
        cta=fields.get("cta"),
    )
    ctx = QAContext(
        brand,
        keywords=[k.strip() for k in keywords.split(",") if k.strip()],
        sources=load_source_dir(sources) if sources else {},
        earlier=earlier_content(paths),
        paid=paid,
        link=link,
        call_to_action=fields.get("cta"),
    )
    outcome = review_sync(text, ctx)
    first = outcome.rounds[0].evaluation
    report: dict[str, Any] = {
        "qa_score": first.score,
        "status": outcome.status,
        "checks": {name: result.as_dict() for name, result in first.checks.items()},
        "file": str(file),
        "platform": platform,
        "content_type": content_type,
        "reason": outcome.reason,
    }
    if outcome.fix_rounds:
        final = outcome.final
        report["auto_fix"] = {
            "qa_score": outcome.score,
            "rounds": outcome.fix_rounds,
            "fixes": outcome.fixes,
            "failing_after": outcome.evaluation.failing,
            "text": {k: v for k, v in final.payload().items() if v},
        }
        if write_fixed is not None:
            write_fixed.write_text(_document(final.payload()), encoding="utf-8")
            report["auto_fix"]["written_to"] = str(write_fixed)
    typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
    raise typer.Exit(0 if outcome.status == "approved" else 1)


def _document(payload: dict[str, Any]) -> str:
    meta = {k: v for k, v in payload.items() if k != "body" and v}
    head = "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n" if meta else ""
    return head + payload["body"].rstrip() + "\n"
