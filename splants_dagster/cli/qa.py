"""``splants qa FILE``: the QA checks on text written outside the system, against the brand profile.

Prints JSON ``{"qa_score", "status", "checks": {name: {"score", "passed", "findings": [...]}}}`` for the
text as submitted; exit code 0 when it is approved as it stands, 1 otherwise (2 for unusable input).
When the score calls for auto-fix, ``auto_fix`` shows what the fixes would change and the score after
them (``--write-fixed PATH`` saves the fixed text). The file is plain text or Markdown, optionally with a
YAML front matter block for the fields a platform needs (``title``, ``seo_title``, ``meta_description``,
``subject``, ``preheader``, ``cta``, ``hashtags``).

Input is bounded: at most ``SPLANTS_QA_MAX_BYTES`` (256 KB by default; the checks take seconds on a file that
size, minutes on megabytes) are ever read, so ``/dev/zero`` or a huge file is refused at once; the text must
be UTF-8 without NUL bytes; front matter fields are validated by type, and every problem is one line naming
the file, the field and the value (exit 2), never a traceback.
"""

from __future__ import annotations

import json
import re
import reprlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from splants_dagster import settings
from splants_dagster.campaigns.briefs import BriefError, load_brand
from splants_dagster.cli.console import err_console, styled
from splants_dagster.paths import DataPaths
from splants_dagster.platforms import CONTENT_TYPES, PLATFORMS

FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?", re.S)
FIELDS = ("title", "seo_title", "meta_description", "subject", "preheader", "cta", "hashtags")
SOURCE_MAX_BYTES = 5_000_000
SOURCE_SUFFIXES = (".html", ".htm", ".md", ".markdown", ".txt")


def register(app: typer.Typer) -> None:
    app.command("qa")(qa)


class InputError(ValueError):
    pass


_short = reprlib.Repr()  # bounded: a value built from YAML aliases is never expanded in full
_short.maxstring, _short.maxother, _short.maxlevel, _short.maxlist, _short.maxdict = 60, 60, 2, 4, 4


def shown(value: Any, limit: int = 120) -> str:
    """A bounded, one-line repr (reprlib bounds each level; nested containers still add up, so cap it)."""
    text = _short.repr(value).replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."


class FrontMatter(BaseModel):
    """The front matter fields, by type: text, and hashtags as a list or a space/comma-separated string
    (numbers are accepted as text: ``title: 2026``)."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, strict=False)
    title: str | None = None
    seo_title: str | None = None
    meta_description: str | None = None
    subject: str | None = None
    preheader: str | None = None
    cta: str | None = None
    hashtags: list[str] | str | None = None

    @field_validator("hashtags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, (str, list)):
            raise ValueError("must be a list or a string")
        return value


def _front_matter_problem(meta: dict[str, Any], error: Mapping[str, Any]) -> str:
    loc = error.get("loc") or ()
    name = str(loc[0]) if loc else "?"
    if error.get("type") == "extra_forbidden":
        return f"unknown front matter field {shown(name)}; known: {', '.join(FIELDS)}"
    value = meta.get(name)
    if name == "hashtags":
        want = "a list of hashtags or a space/comma-separated string, e.g. [coffee, launch]"
    else:
        want = "text (quote it if it looks like something else)"
    return f"front matter {name}={shown(value)}: must be {want}"


def parse_front_matter(block: str) -> dict[str, Any]:
    try:
        meta = yaml.safe_load(block) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"front matter is not valid YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise InputError("front matter nests too deeply to be field: value pairs") from None
    except (ValueError, TypeError, OverflowError) as exc:  # a scalar YAML can't build, e.g. 0000-00-00
        raise InputError(f"front matter has a value that cannot be read: {str(exc)[:200]}") from None
    if not isinstance(meta, dict):
        raise InputError(f"front matter must be a mapping of field: value, not {shown(meta)}")
    if not all(isinstance(k, str) for k in meta):
        bad = next(k for k in meta if not isinstance(k, str))
        raise InputError(f"front matter field name {shown(bad)}: must be one of {', '.join(FIELDS)}")
    try:
        parsed = FrontMatter.model_validate(meta)
    except ValidationError as exc:
        raise InputError(_front_matter_problem(meta, exc.errors(include_url=False)[0])) from None
    return parsed.model_dump(exclude_none=True)


def read_text(path: Path, max_bytes: int | None = None) -> str:
    """The file as text, reading at most ``max_bytes`` + 1 bytes (never all of /dev/zero)."""
    cap = max_bytes if max_bytes is not None else settings.value("SPLANTS_QA_MAX_BYTES")
    try:
        with path.open("rb") as handle:
            data = handle.read(cap + 1)
    except OSError as exc:
        raise InputError(f"cannot read it ({exc.strerror or type(exc).__name__})") from None
    if len(data) > cap:
        kind = "file" if path.is_file() else "input (not a regular file)"
        raise InputError(
            f"{kind} is larger than {cap:,} bytes, the most splants qa checks (SPLANTS_QA_MAX_BYTES)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        ) from None
    if "\x00" in text:
        raise InputError(f"contains NUL bytes (offset {text.index(chr(0))}): not a text file")
    return text


def parse_document(raw: str, content_type: str) -> dict[str, Any]:
    """The fields of a piece from a text file: front matter first, then a '# Title' or 'Subject:' line."""
    fields: dict[str, Any] = {}
    body = raw
    match = FRONT_MATTER.match(raw)
    if match:
        fields.update(parse_front_matter(match.group(1)))
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
    from splants_dagster.research.analysis import load_file_source

    docs = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES):
        doc = load_file_source(str(path.relative_to(folder)), folder, SOURCE_MAX_BYTES)
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
    brief_file: Path | None = typer.Option(
        None, "--brief", exists=True, dir_okay=False, help="a campaign brief: its facts, sources and keywords"
    ),
):
    """Run the seven QA checks on FILE; prints JSON; exit 0 when approved, 1 otherwise."""
    paths = DataPaths.at()
    try:
        if platform not in PLATFORMS:
            raise InputError(f"--platform {platform!r}: must be one of {', '.join(PLATFORMS)}")
        if content_type not in CONTENT_TYPES:
            raise InputError(f"--content-type {content_type!r}: must be one of {', '.join(CONTENT_TYPES)}")
        # the input first: a bad file is refused before the (slow to import) checks load
        fields = parse_document(read_text(file), content_type)
        from splants_dagster.qa import QAContext, QAText, review_sync, spec_for

        spec = spec_for("adhoc", platform, content_type)
        brand = load_brand(paths.brand_file)
        brief = _load_brief(brief_file) if brief_file is not None else None
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
    if brief is not None:
        ctx = _brief_context(brief, brand, paths, ctx, paid, link)
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


def _load_brief(path: Path):
    from splants_dagster.campaigns.briefs import current_date, load_brief

    return load_brief(path, today=current_date())[0]


def _brief_context(brief, brand, paths: DataPaths, adhoc, paid: bool, link: str | None):
    """The campaign's QA context (facts, testimonials, sources with their roles, keywords) for ``--brief``;
    file sources are read relative to the data dir, URL sources are not fetched (not supported)."""
    from splants_dagster.qa.campaign import qa_context_for
    from splants_dagster.research.analysis import load_file_source

    texts = dict(adhoc.sources)
    roles = {ref: "reference" for ref in texts}
    for entry in brief.source_entries():
        if re.match(r"^https?://", entry.ref, re.I):
            continue
        doc = load_file_source(entry.ref, paths.root, SOURCE_MAX_BYTES)
        if doc.ok:
            texts[entry.ref] = doc.text
            roles[entry.ref] = entry.role
    updates = {"paid": brief.paid or paid, "link": link or brief.link}
    ctx = qa_context_for(brief.model_copy(update=updates), brand, texts, roles=roles, earlier=adhoc.earlier)
    if adhoc.keywords:
        ctx.keywords = list(dict.fromkeys([*adhoc.keywords, *ctx.keywords]))
    return ctx


def _document(payload: dict[str, Any]) -> str:
    meta = {k: v for k, v in payload.items() if k != "body" and v}
    head = "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n" if meta else ""
    return head + payload["body"].rstrip() + "\n"
