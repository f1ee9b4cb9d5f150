"""LLM concurrency: a wide suite generated against a loopback fake OpenAI server that answers after a fixed
latency L, through the real client and SDK. Reported as wall time / (depth × L), where depth is the length
of the dependent chain: research calls → pillar → derived pieces (3; premium mode adds a merge after each
drafting level: 5). One call after another would take (calls × L) instead.

The same runs with L = 0 measure the CPU work (prompting, parsing, scoring) so the ratio can also be read
net of it on a busy machine.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

from splants_dagster.campaigns.briefs import CampaignBrief, find_brief, load_brand
from splants_dagster.content.suite import SuiteContext, generate_suite
from splants_dagster.llm.anthropic_provider import AnthropicProvider
from splants_dagster.llm.client import CallContext, LLMClient
from splants_dagster.llm.journal import CallJournal
from splants_dagster.llm.openai_provider import OpenAIProvider
from splants_dagster.llm.retry import RetryPolicy
from splants_dagster.paths import PROJECT_ROOT, DataPaths
from splants_dagster.platforms import CONTENT_TYPES, PLATFORMS
from splants_dagster.qa.flesch import ensure_cmudict
from splants_dagster.research.analysis import http_client, load_sources, research_campaign
from splants_dagster_tests.llm.fakes import FakeAnthropic, FakeOpenAI

LATENCY_S = 0.5
KEY = "sk-bench-not-a-real-key"


def wide_brief() -> CampaignBrief:
    """The demo brief on every platform and content type: the widest suite the planner makes."""
    _, demo, _ = find_brief(PROJECT_ROOT / "data" / "campaigns", "compostable-pods-launch")
    data = demo.model_dump(mode="json")
    data.update(id="bench-wide-suite", platforms=list(PLATFORMS), content_types=list(CONTENT_TYPES))
    return CampaignBrief.model_validate(data)


def one_run(latency_s: float, concurrency: int, premium: bool = False) -> dict:
    paths = DataPaths.at(Path(tempfile.mkdtemp(prefix="splants-bench-llm-")))
    brief, brand = wide_brief(), load_brand(PROJECT_ROOT / "data" / "brand.yaml")
    with http_client() as http:
        docs = load_sources([s.ref for s in brief.source_entries()], PROJECT_ROOT / "data", http)
    with (
        FakeOpenAI(KEY, latency_s=latency_s) as oa,
        FakeAnthropic(KEY, latency_s=latency_s) as an,
        CallJournal(paths.journal_dir) as journal,
    ):
        openai = OpenAIProvider(model="gpt-4.1-mini", api_key=KEY, base_url=oa.base_url, timeout_s=30)
        partner = AnthropicProvider(model="claude-haiku-4-5", api_key=KEY, base_url=an.base_url, timeout_s=30)
        client = LLMClient(
            openai,
            journal,
            CallContext(brief.id, "bench"),
            concurrency=concurrency,
            retry=RetryPolicy(max_attempts=1),
            premium_partner=partner if premium else None,
        )

        async def campaign():
            research = await research_campaign(brief, brand, docs, client)
            ctx = SuiteContext(brief, brand, research, {d.ref: d.text for d in docs if d.ok})
            return await generate_suite(ctx, client)

        started = time.perf_counter()
        suite = client.run(campaign())
        wall = time.perf_counter() - started
        in_flight = max(oa.ledger.max_in_flight, an.ledger.max_in_flight)
    assert not suite.failures, suite.failures
    return {
        "pieces": len(suite.pieces),
        "calls": len(client.records),
        "wall_s": round(wall, 3),
        "max_in_flight": in_flight,
    }


def scenario(name: str, concurrency: int, premium: bool = False) -> dict:
    depth = 5 if premium else 3
    loaded = one_run(LATENCY_S, concurrency, premium)
    cpu = one_run(0.0, concurrency, premium)
    ratio = loaded["wall_s"] / (depth * LATENCY_S)
    net = max(0.0, loaded["wall_s"] - cpu["wall_s"]) / (depth * LATENCY_S)
    sequential = loaded["calls"] * LATENCY_S
    out = {
        **loaded,
        "concurrency": concurrency,
        "depth": depth,
        "latency_s": LATENCY_S,
        "ratio_wall_over_depth_x_latency": round(ratio, 2),
        "cpu_only_wall_s": cpu["wall_s"],
        "ratio_net_of_cpu": round(net, 2),
        "one_after_another_s": round(sequential, 2),
        "speedup_vs_one_after_another": round(sequential / loaded["wall_s"], 1),
    }
    print(
        f"{name}: {out['pieces']} pieces, {out['calls']} calls, concurrency {concurrency}: "
        f"{out['wall_s']}s = {out['ratio_wall_over_depth_x_latency']} x depth({depth}) x L({LATENCY_S}s) "
        f"(net of CPU {out['ratio_net_of_cpu']}); one after another ~{out['one_after_another_s']}s"
    )
    return out


def run() -> dict:
    ensure_cmudict()
    one_run(0.0, 8)  # warm imports, SDKs and caches
    wide = scenario("wide suite, concurrency >= pieces", concurrency=32)
    default = scenario("wide suite, default concurrency 4", concurrency=4)
    premium = scenario("wide suite, premium mode", concurrency=64, premium=True)
    derived = wide["pieces"] - 1
    return {
        "route": "synchronous calls to loopback fakes of OpenAI and Anthropic (no batch: the LLM client is "
        "driven directly, not through the budget step); independent of the date",
        "ratio_wall_over_depth_x_latency": wide["ratio_wall_over_depth_x_latency"],
        "wide_suite": wide,
        "default_concurrency_4": default,
        "default_concurrency_expected_ratio": round((2 + math.ceil(derived / 4)) / 3, 2),
        "premium": premium,
        "note": "depth = research (2 calls in parallel) → pillar → derived pieces; the concurrency bound caps "
        "calls in flight per step, so with 4 the derived level takes ceil(derived/4) × L",
    }
