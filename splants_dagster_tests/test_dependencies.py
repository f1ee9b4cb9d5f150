"""The dependency contract (issue #17, docs/dependencies.md): every install comes from a committed uv.lock
written from pyproject.toml, every range stays inside one major version, and the runtime set carries no
development tool. Offline: reads pyproject.toml, uv.lock, the Makefile and the Dockerfile."""

from __future__ import annotations

import functools
import re
import tomllib
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from splants_dagster.paths import PROJECT_ROOT

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
LOCK_PATH = PROJECT_ROOT / "uv.lock"
PROJECT_NAME = canonicalize_name(PYPROJECT["project"]["name"])

# tools for developing and testing, never needed to run the code location
DEV_TOOLS = {
    "pytest",
    "pytest-xdist",
    "hypothesis",
    "ruff",
    "mypy",
    "deptry",
    "nbclient",
    "nbformat",
    "ipykernel",
    "playwright",
    "dagster-dg-cli",
    "dagster-graphql",
    "dagster-webserver",
    "uv",
}
# checkers whose verdict must not depend on the day they run
EXACT_PINS = {"ruff", "mypy", "deptry"}


@functools.cache
def declared() -> dict[tuple[str, str], Requirement]:
    """(extra, name) -> requirement, the runtime set under the extra ''."""
    groups = {"": PYPROJECT["project"]["dependencies"], **PYPROJECT["project"]["optional-dependencies"]}
    out: dict[tuple[str, str], Requirement] = {}
    for extra, lines in groups.items():
        for line in lines:
            req = Requirement(line)
            out[(extra, canonicalize_name(req.name))] = req
    return out


@functools.cache
def lock() -> dict[str, Any]:
    assert LOCK_PATH.is_file(), "uv.lock is missing: run `make lock` and commit it"
    return tomllib.loads(LOCK_PATH.read_text())


@functools.cache
def locked_versions() -> dict[str, list[Version]]:
    versions: dict[str, list[Version]] = {}
    for package in lock()["package"]:
        versions.setdefault(canonicalize_name(package["name"]), []).append(Version(package["version"]))
    return versions


def next_major(version: Version) -> Version:
    """The first release that may break ``version``'s API: the next major, or for 0.x the next minor
    (semver §4), or for 0.0.x the first minor."""
    major, minor = (*version.release, 0)[:2]
    if major > 0:
        return Version(str(major + 1))
    if minor > 0:
        return Version(f"0.{minor + 1}")
    return Version("0.1")


def test_the_lock_was_written_from_this_pyproject():
    """What `make lock-check` (uv lock --check) checks, offline: the ranges recorded in uv.lock are
    pyproject.toml's, so an edited pyproject without `make lock` fails here."""
    project = next(p for p in lock()["package"] if canonicalize_name(p["name"]) == PROJECT_NAME)
    recorded: dict[tuple[str, str], SpecifierSet] = {}
    for entry in project["metadata"]["requires-dist"]:
        extra = re.fullmatch(r"extra == '([\w-]*)'", entry.get("marker", "extra == ''"))
        assert extra, f"uv.lock: unexpected marker {entry.get('marker')!r} on {entry['name']}"
        recorded[(extra.group(1), canonicalize_name(entry["name"]))] = SpecifierSet(
            entry.get("specifier", "")
        )
    expected = {key: req.specifier for key, req in declared().items()}
    assert recorded == expected, "uv.lock is out of date with pyproject.toml: run `make lock` and commit both"


@pytest.mark.parametrize("key", sorted(declared()), ids=lambda key: f"{key[0] or 'runtime'}:{key[1]}")
def test_every_dependency_is_locked_inside_its_range(key):
    req = declared()[key]
    versions = locked_versions().get(key[1])
    assert versions, f"{req} is declared but not in uv.lock: run `make lock`"
    outside = [str(v) for v in versions if not req.specifier.contains(v, prereleases=True)]
    assert outside == [], f"uv.lock has {key[1]} {outside}, outside {req.specifier}"


@pytest.mark.parametrize("key", sorted(declared()), ids=lambda key: f"{key[0] or 'runtime'}:{key[1]}")
def test_every_range_stays_within_one_major(key):
    req = declared()[key]
    specs = {spec.operator: Version(spec.version) for spec in req.specifier}
    if set(specs) == {"=="}:
        return
    assert set(specs) == {">=", "<"}, f"{req}: give a floor (>=) and a ceiling (<), or pin it (==)"
    assert specs["<"] <= next_major(specs[">="]), (
        f"{req} spans more than one major version: keep the ceiling at or below {next_major(specs['>='])}"
    )


def test_next_major_reads_zero_versions_as_semver_does():
    assert next_major(Version("2.0")) == Version("3")
    assert next_major(Version("1.13.3")) == Version("2")
    assert next_major(Version("0.29.3")) == Version("0.30")
    assert next_major(Version("0.0.20")) == Version("0.1")


def test_no_development_tool_in_the_runtime_set():
    runtime = {name for extra, name in declared() if extra == ""}
    assert runtime & DEV_TOOLS == set()
    assert "dagster-webserver" in {name for extra, name in declared() if extra == "serve"}


def test_checkers_are_pinned_exactly():
    dev = {name: req for (extra, name), req in declared().items() if extra == "dev"}
    for name in EXACT_PINS:
        assert [spec.operator for spec in dev[name].specifier] == ["=="], f"pin {name} exactly: {dev[name]}"


def test_make_install_and_the_image_install_from_the_lock():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    stamp = re.search(r"^\$\(STAMP\):(.*)\n((?:\t.*\n)+)", makefile, re.M)
    assert stamp, "Makefile: no $(STAMP) rule"
    prerequisites, recipe = stamp.groups()
    assert "uv.lock" in prerequisites.split()
    assert "$(UV) sync --locked" in recipe and "pip install" not in recipe
    uv_version = re.search(r"^UV_VERSION := (\S+)$", makefile, re.M)
    assert uv_version

    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "uv export --locked" in dockerfile and "--require-hashes" in dockerfile
    assert f"ARG UV_VERSION={uv_version.group(1)}" in dockerfile, (
        "the image and make use different uv versions"
    )
    project_installs = re.findall(r"pip install [^\n\\]*\.(?:\s|$)", dockerfile)
    assert project_installs and all("--no-deps" in line for line in project_installs), project_installs
