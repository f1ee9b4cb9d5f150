"""What ``splants engagement import`` and ``splants conversions import`` share: validate each file on its own
(a rejected or unreadable file is reported and counted, the others go on), copy the accepted ones into the
inbox's preset folder, and print what a parse noticed (encoding, date order, quarantined rows)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from splants_dagster.cli.console import console, err_console, styled


def validate_files(
    files: Sequence[Path], parse: Callable[[Path], Any], report: Callable[[Path, Any], None]
) -> tuple[list[tuple[Path, Any]], int]:
    """``(accepted (file, parsed) pairs, rejected count)``. ``parse`` streams a file and keeps nothing
    (memory stays bounded whatever its size); one file's surprise never stops the others, nor prints a
    traceback."""
    from splants_dagster.engagement.files import FileRejected

    accepted, rejected = [], 0
    for file in files:
        try:
            parsed = parse(file)
        except FileRejected as err:
            reason = str(err)
        except OSError as err:
            reason = f"{file}: cannot read the file: {err}"
        except Exception as err:
            reason = f"{file}: unexpected error reading the file: {type(err).__name__}: {str(err)[:200]}"
        else:
            report(file, parsed)
            accepted.append((file, parsed))
            continue
        err_console.print(styled(("rejected", "red"), f" {reason}"))
        rejected += 1
    return accepted, rejected


def copy_into(inbox: Path, accepted: Sequence[tuple[Path, Any]]) -> list[tuple[str, Any]]:
    """Each accepted file copied to ``inbox/<its preset>/`` (where the inbox sensor would find it), as
    ``(path relative to the inbox, parsed)``."""
    copied = []
    for file, parsed in accepted:
        target_dir = inbox / parsed.preset
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / file.name
        if file.resolve() != target.resolve():
            shutil.copy2(file, target)
        copied.append((str(target.relative_to(inbox)), parsed))
    return copied


def print_notes(file: Path, encoding_note: str | None, parsed: Any) -> None:
    """The encoding and date-order notes of a parsed file, and its first quarantined rows."""
    if encoding_note:
        console.print(styled(("encoding", "yellow"), f" {file}: {encoding_note}"))
    if parsed.date_order is not None and parsed.date_order.note:
        label = ("dates", "yellow" if parsed.date_order.warn else "bold")
        console.print(styled(label, f" {file}: {parsed.date_order.note}"))
    if parsed.quarantined:
        table = Table("line", "reason", title="quarantined rows (first 15)", title_justify="left")
        for q in parsed.quarantined[:15]:
            table.add_row(str(q["line"]), q["reason"])
        console.print(table)
