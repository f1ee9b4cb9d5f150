"""End to end: the real code server, webserver and daemon on 127.0.0.1 with a temp DAGSTER_HOME; the demo
campaign launched through the GraphQL API; the warehouse checked; the UI rendered in headless Chromium."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from splants_dagster.paths import PROJECT_ROOT, DataPaths
from splants_dagster.warehouse.store import Warehouse
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, debian_program

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium() -> str:
    """Debian's chromium, installed by the test setup when missing (as root, from Debian's packages)."""
    return debian_program("chromium")


class Browser:
    """Debian's chromium driven by Playwright (no browser download: executable_path points at it)."""

    FLAGS: tuple[str, ...] = (
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    )

    def __init__(self, executable: str):
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self._browser = self._pw.chromium.launch(executable_path=executable, args=list(self.FLAGS))
        self.page = self._browser.new_page(viewport={"width": 1600, "height": 1000})

    def open(self, url: str, screenshot: Path, expect: str) -> str:
        """Load a page, dismiss the first-visit community dialog, wait for ``expect`` to render."""
        self.page.goto(url)
        self.page.get_by_text(expect).first.wait_for(timeout=60_000)
        skip = self.page.get_by_role("button", name="Skip")
        if skip.count():
            skip.first.click()
        self.page.wait_for_timeout(1500)
        self.page.screenshot(path=str(screenshot), full_page=True)
        return self.page.inner_text("body")

    def close(self) -> None:
        self._browser.close()
        self._pw.stop()


class GraphQL:
    def __init__(self, url: str):
        self.url = url

    def __call__(self, query: str, **variables) -> dict:
        response = httpx.post(self.url, json={"query": query, "variables": variables}, timeout=60)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


def wait_for(predicate, timeout: float, what: str, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (httpx.HTTPError, AssertionError, KeyError) as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


@pytest.fixture
def stack(tmp_path, data_dir):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "deploy" / "dagster.yaml").read_text())
    import dagster as dg

    # create the instance's storage once: three processes creating a fresh SQLite schema at once would race
    with dg.DagsterInstance.from_config(str(home)):
        pass
    grpc_port, web_port = free_port(), free_port()
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        f"load_from:\n  - grpc_server:\n      host: 127.0.0.1\n      port: {grpc_port}\n      location_name: splants\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "ANTHROPIC"))}
    env.update(DAGSTER_HOME=str(home), SPLANTS_DATA_DIR=str(data_dir))
    logs = tmp_path / "logs"
    logs.mkdir()
    procs: dict[str, subprocess.Popen] = {}

    def start(name: str, args: list[str]) -> None:
        procs[name] = subprocess.Popen(
            args,
            env=env,
            cwd=PROJECT_ROOT,
            stdout=(logs / f"{name}.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    start(
        "code_server",
        [
            str(BIN / "dagster"),
            "code-server",
            "start",
            "-h",
            "127.0.0.1",
            "-p",
            str(grpc_port),
            "-m",
            "splants_dagster.definitions",
        ],
    )
    start(
        "webserver",
        [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(web_port), "-w", str(workspace)],
    )
    base = f"http://127.0.0.1:{web_port}"
    try:
        wait_for(lambda: httpx.get(f"{base}/server_info", timeout=5).status_code == 200, 120, "the webserver")
        yield {"base": base, "env": env, "workspace": workspace, "start": start, "logs": logs, "home": home}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


REPO = """query { workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError {
  __typename ... on RepositoryLocation { repositories { name } } ... on PythonError { message } } } } } }"""


def test_demo_campaign_through_graphql_and_the_ui(stack, data_dir):
    from dagster_graphql import DagsterGraphQLClient

    gql = GraphQL(f"{stack['base']}/graphql")
    entries = wait_for(
        lambda: [
            e
            for e in gql(REPO)["workspaceOrError"]["locationEntries"]
            if e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
        ],
        120,
        "the code location to load",
    )
    repo = entries[0]["locationOrLoadError"]["repositories"][0]["name"]
    selector = {"repositoryLocationName": "splants", "repositoryName": repo}

    # the brief sensor would launch the same campaign on its own: stop it so this test launches it via GraphQL
    sensor = gql(
        "query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor { id sensorState { id } } } }",
        s={**selector, "sensorName": "campaign_brief_sensor"},
    )["sensorOrError"]
    gql("mutation($id: String!) { stopSensor(id: $id) { __typename } }", id=sensor["sensorState"]["id"])
    added = gql(
        "mutation($r: RepositorySelector!, $p: String!, $k: String!) { addDynamicPartition(repositorySelector: $r,"
        " partitionsDefName: $p, partitionKey: $k) { __typename } }",
        r=selector,
        p="campaigns",
        k=DEMO_CAMPAIGN,
    )["addDynamicPartition"]["__typename"]
    assert added == "AddDynamicPartitionSuccess"

    port = int(stack["base"].rsplit(":", 1)[1])
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    run_id = client.submit_job_execution(
        "campaign_job",
        repository_location_name="splants",
        repository_name=repo,
        tags={"dagster/partition": DEMO_CAMPAIGN, "splants/campaign": DEMO_CAMPAIGN},
    )
    # the queued run coordinator needs the daemon to dequeue it
    stack["start"]("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(stack["workspace"])])
    status = wait_for(
        lambda: (s := client.get_run_status(run_id).value) in ("SUCCESS", "FAILURE", "CANCELED") and s,
        600,
        "the campaign run to finish",
        3,
    )
    assert status == "SUCCESS", (stack["logs"] / "daemon.log").read_text()[-4000:]

    store = Warehouse(DataPaths.at(data_dir))
    pieces = store.query(
        "SELECT count(*) n FROM analytics.content WHERE campaign_id = ? AND variant_of IS NULL",
        [DEMO_CAMPAIGN],
    )[0]["n"]
    assert pieces == 10
    assert store.query("SELECT status FROM analytics.campaigns")[0]["status"] != "registered"

    browser = Browser(chromium())
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        lineage = browser.open(
            f"{stack['base']}/assets/content_suite?view=lineage&lineageScope=neighbors",
            ARTIFACTS / "content-suite-lineage.png",
            "research_brief",
        )
        for name in ("research_brief", "content_suite", "qa_report"):
            assert name in lineage, f"{name} not rendered on the lineage graph"
        groups = browser.open(f"{stack['base']}/asset-groups", ARTIFACTS / "asset-groups.png", "campaigns")
        for group in ("campaigns", "research", "content", "qa", "publishing"):
            assert group in groups
        asset = browser.open(
            f"{stack['base']}/assets/content_suite?partition={DEMO_CAMPAIGN}",
            ARTIFACTS / "content-suite.png",
            "avg_total_score",
        )
    finally:
        browser.close()
    for key in (
        "pieces_table",
        "avg_total_score",
        "pillar_preview",
        "score_components_missing",
        "not a language model",
    ):
        assert key in asset, f"{key} not rendered on the content_suite page"
    for png in ("content-suite-lineage.png", "asset-groups.png", "content-suite.png"):
        assert (ARTIFACTS / png).stat().st_size > 20_000, f"{png} looks blank"
