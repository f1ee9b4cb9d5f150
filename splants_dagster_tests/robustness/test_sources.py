"""Brief sources cannot reach inside the machine: only public http(s) (or allow-listed hosts), every redirect
checked, bodies streamed under a byte cap and a deadline, files only inside the data directory.

Every server here is on 127.0.0.1. Tests that must reach one allow it by address and port
(``SPLANTS_SOURCE_ALLOW=127.0.0.1:<port>``), so a second loopback server on another port stands for an
address that is not allowed. Addresses that are never to be contacted (private, link-local, ...) are only
ever given to the checker through a fake resolver: no packet is sent to them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from splants_dagster.research.analysis import SourceFetcher, load_sources
from splants_dagster.research.fetch import (
    ALLOW_ENV,
    FetchPolicy,
    SourceFailed,
    SourceRefused,
    check_url,
    non_public_reason,
    parse_allow,
)
from splants_dagster.settings import SettingsError
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, FakeServer, Reply, materialize_campaign

PAGE = b"""<html><head><title>Oat Milk Guide</title></head><body><article><h1>Oat Milk Guide</h1>
<p>Oat milk froths well for a latte. Barista oat milk is creamier than regular oat milk, and barista oat milk
holds microfoam. Baristas prefer barista blends for their morning oat latte.</p></article></body></html>"""


@pytest.fixture(autouse=True)
def _no_source_settings(monkeypatch):
    for name in (ALLOW_ENV, "SPLANTS_SOURCE_MAX_BYTES", "SPLANTS_SOURCE_DEADLINE_S"):
        monkeypatch.delenv(name, raising=False)


def page_server() -> FakeServer:
    return FakeServer(lambda rec: Reply(raw=PAGE, headers={"content-type": "text/html"}))


def port_of(server: FakeServer) -> int:
    return server.server.server_address[1]


def fetcher(*allow: str, **limits) -> SourceFetcher:
    return SourceFetcher(FetchPolicy(allow=parse_allow(",".join(allow)), **limits))


def load(refs: list[str], data_dir: Path, f: SourceFetcher) -> dict:
    return {d.ref: d for d in load_sources(refs, data_dir, f)}


# --- which addresses are public -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address, kind",
    [
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "shared"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("::ffff:127.0.0.1", "loopback address 127.0.0.1 (inside IPv6"),
        ("::ffff:169.254.169.254", "link-local address 169.254.169.254 (inside IPv6"),
        ("2002:7f00:1::", "loopback address 127.0.0.1 (inside IPv6"),
        ("64:ff9b::a9fe:a9fe", "link-local address 169.254.169.254 (inside IPv6"),
    ],
)
def test_non_public_addresses_are_named(address, kind):
    reason = non_public_reason(ipaddress.ip_address(address))
    assert reason is not None and reason.startswith(kind), reason


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert non_public_reason(ipaddress.ip_address(address)) is None


def resolver(answers: dict[str, list[str]]):
    async def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    return resolve


def check(url: str, answers: dict[str, list[str]], allow: str = ""):
    policy = FetchPolicy(allow=parse_allow(allow))
    return asyncio.run(check_url(httpx.URL(url), policy, resolver(answers)))


def test_a_name_resolving_to_an_internal_address_is_refused():
    with pytest.raises(SourceRefused, match=r"metadata\.test \(169\.254\.169\.254\) port 80 is a link-local"):
        check("http://metadata.test/latest/", {"metadata.test": ["169.254.169.254"]})
    # one internal answer among public ones is enough to refuse (DNS answers can rotate)
    with pytest.raises(SourceRefused, match=r"private address 10\.0\.0\.7"):
        check("https://mixed.test/", {"mixed.test": ["93.184.215.14", "10.0.0.7"]})


def test_public_names_pass_and_the_checked_address_is_the_one_used():
    target = check("https://www.rival.test/page", {"www.rival.test": ["93.184.215.14"]})
    assert (target.host, target.port, target.address) == ("www.rival.test", 443, "93.184.215.14")


def test_allow_list_by_name_address_network_and_port():
    answers = {"wiki.corp.test": ["10.2.3.4"], "db.corp.test": ["10.9.9.9"]}
    assert check("http://wiki.corp.test/", answers, "wiki.corp.test").address == "10.2.3.4"
    assert check("http://db.corp.test/", answers, "10.0.0.0/8").address == "10.9.9.9"
    assert check("http://wiki.corp.test:8080/", answers, "10.2.3.4:8080").address == "10.2.3.4"
    with pytest.raises(SourceRefused, match="port 5432 is a private address"):
        check("http://db.corp.test:5432/", answers, "10.9.9.9:8080")
    with pytest.raises(SourceRefused, match=ALLOW_ENV):
        check("http://db.corp.test/", answers, "wiki.corp.test")


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "bad host", "10.0.0.1:http", "host:70000", "a..b"])
def test_a_bad_allow_list_entry_is_a_clear_error(entry, monkeypatch):
    monkeypatch.setenv(ALLOW_ENV, f"intranet.test,{entry}")
    with pytest.raises(SettingsError) as caught:
        FetchPolicy.from_env()
    (line,) = caught.value.problems
    assert line.startswith(f"{ALLOW_ENV}='intranet.test,{entry}': must be comma-separated host names")
    assert f": {entry!r} " in line


def test_bad_limits_are_clear_errors(monkeypatch):
    monkeypatch.setenv("SPLANTS_SOURCE_DEADLINE_S", "soon")
    with pytest.raises(
        SettingsError, match=r"^SPLANTS_SOURCE_DEADLINE_S='soon': must be a number of seconds"
    ):
        FetchPolicy.from_env()
    monkeypatch.setenv("SPLANTS_SOURCE_DEADLINE_S", "5")
    monkeypatch.setenv("SPLANTS_SOURCE_MAX_BYTES", "lots")
    with pytest.raises(
        SettingsError, match=r"^SPLANTS_SOURCE_MAX_BYTES='lots': must be a whole number of bytes"
    ):
        FetchPolicy.from_env()
    monkeypatch.setenv("SPLANTS_SOURCE_MAX_BYTES", "2048")
    monkeypatch.setenv(ALLOW_ENV, " wiki.corp.test , 10.0.0.0/8 ,[::1]:8080")
    policy = FetchPolicy.from_env()
    assert (policy.max_bytes, policy.deadline_s, len(policy.allow)) == (2048, 5.0, 3)


# --- real fetches over loopback ---------------------------------------------------------------------------


def test_loopback_is_refused_unless_allowed_and_never_contacted(data_dir, monkeypatch):
    with page_server() as server:
        url = f"{server.url}/guide"
        refused = load([url], data_dir, fetcher())[url]
        assert not refused.ok and refused.refused
        assert refused.error == (
            f"refused: 127.0.0.1 port {port_of(server)} is a loopback address 127.0.0.1; "
            f"add it to {ALLOW_ENV} to fetch it"
        )
        assert server.requests == []
        monkeypatch.setenv(ALLOW_ENV, f"127.0.0.1:{port_of(server)}")
        with SourceFetcher() as from_env:
            fetched = load([url], data_dir, from_env)[url]
    assert fetched.ok and fetched.title == "Oat Milk Guide" and "froths well" in fetched.text
    assert [r.path for r in server.requests] == ["/guide"]


def test_the_request_goes_to_the_checked_address_with_the_name_in_host(data_dir):
    """The name is resolved once, by the checker; the connection is made to that address. ``pages.test``
    resolves nowhere else, so the page arriving at all shows no second lookup happened."""
    with page_server() as server:
        port = port_of(server)
        f = SourceFetcher(
            FetchPolicy(allow=parse_allow(f"127.0.0.1:{port}")),
            resolve=resolver({"pages.test": ["127.0.0.1"]}),
        )
        url = f"http://pages.test:{port}/guide"
        doc = load([url], data_dir, f)[url]
    assert doc.ok, doc.error
    assert server.requests[0].headers["host"] == f"pages.test:{port}"
    assert server.requests[0].headers["user-agent"].startswith("splants-dagster")


def test_every_redirect_hop_is_checked(data_dir):
    with page_server() as internal:
        hidden = f"{internal.url}/admin"

        def handler(rec):
            if rec.path == "/to-internal":
                return Reply(status=302, headers={"location": hidden})
            if rec.path == "/to-guide":
                return Reply(status=301, headers={"location": "/guide"})
            if rec.path.startswith("/loop"):
                n = int(rec.path.removeprefix("/loop") or 0)
                return Reply(status=307, headers={"location": f"/loop{n + 1}"})
            return Reply(raw=PAGE, headers={"content-type": "text/html"})

        with FakeServer(handler) as public:
            refs = [f"{public.url}/to-internal", f"{public.url}/to-guide", f"{public.url}/loop"]
            docs = load(refs, data_dir, fetcher(f"127.0.0.1:{port_of(public)}"))
    to_internal, to_guide, loop = (docs[r] for r in refs)
    assert to_internal.refused and to_internal.error.startswith(f"refused: redirect to {hidden} refused: ")
    assert "loopback address 127.0.0.1" in to_internal.error
    assert internal.requests == []  # the redirect target was never contacted
    assert to_guide.ok and to_guide.title == "Oat Milk Guide"
    assert not loop.ok and not loop.refused and loop.error == "more than 5 redirects"


@pytest.mark.parametrize(
    "ref, reason",
    [
        ("file:///etc/passwd", "refused: scheme 'file' is not allowed (only http and https)"),
        ("ftp://127.0.0.1/pub/x.html", "refused: scheme 'ftp' is not allowed (only http and https)"),
        ("gopher://127.0.0.1:6379/_INFO", "refused: scheme 'gopher' is not allowed (only http and https)"),
        ("data:text/html,<h1>hi</h1>", "refused: scheme 'data' is not allowed (only http and https)"),
    ],
)
def test_other_schemes_are_refused(ref, reason, data_dir):
    doc = load([ref], data_dir, fetcher("127.0.0.0/8"))[ref]
    assert (doc.ok, doc.refused, doc.error) == (False, True, reason)


class Streaming:
    """A loopback server that streams a body in small writes, for as long as the client reads (bounded):
    ``pause_s`` between writes makes a slow drip; counts what it managed to send."""

    def __init__(self, total: int, chunk: int, pause_s: float = 0.0, declare_length: bool = False):
        self.sent = 0
        self.finished = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("content-type", "text/html")
                if declare_length:
                    self.send_header("content-length", str(total))
                self.send_header("connection", "close")
                self.end_headers()
                self.wfile.write(b"<html><body><p>")
                try:
                    while outer.sent < total:
                        self.wfile.write(b"x" * chunk)
                        self.wfile.flush()
                        outer.sent += chunk
                        if pause_s:
                            outer.finished.wait(pause_s)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    outer.finished.set()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/page"

    def __enter__(self) -> Streaming:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.finished.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_slow_drip_is_cut_at_the_deadline_and_the_other_sources_are_used(data_dir):
    # a byte every 50 ms never trips a per-read timeout; only the overall deadline stops it
    with Streaming(total=100_000, chunk=1, pause_s=0.05) as drip:
        refs = [drip.url, "sources/competitor-podco.html"]
        docs = load(refs, data_dir, fetcher("127.0.0.1", deadline_s=1.0, timeout_s=30.0))
        drip.finished.wait(30)
    slow, good = docs[refs[0]], docs[refs[1]]
    assert not slow.ok and not slow.refused
    assert slow.error == "not read within the 1s deadline (SPLANTS_SOURCE_DEADLINE_S)"
    assert 0 < drip.sent < 100_000  # it was reading, then hung up
    assert good.ok and good.word_count > 100


def test_an_endless_page_is_cut_at_the_byte_cap_while_streaming(data_dir):
    cap = 256 * 1024
    with Streaming(total=64 * 1024 * 1024, chunk=64 * 1024) as endless:
        doc = load([endless.url], data_dir, fetcher("127.0.0.1", max_bytes=cap))[endless.url]
        endless.finished.wait(30)
    assert not doc.ok and doc.error == f"page is over the {cap}-byte cap (SPLANTS_SOURCE_MAX_BYTES)"
    # streamed: the reader stopped soon after the cap (socket buffers aside), far from the 64 MB offered
    assert endless.sent < 16 * 1024 * 1024


def test_a_declared_oversize_page_is_refused_before_its_body(data_dir):
    with Streaming(total=3 * 1024**3, chunk=64 * 1024, declare_length=True) as huge:
        doc = load([huge.url], data_dir, fetcher("127.0.0.1", max_bytes=1_000_000))[huge.url]
        huge.finished.wait(30)
    assert doc.error == (f"page is {3 * 1024**3} bytes, over the 1000000-byte cap (SPLANTS_SOURCE_MAX_BYTES)")
    assert huge.sent < 16 * 1024 * 1024


# --- files ---------------------------------------------------------------------------------------------


def test_files_only_inside_the_data_dir(data_dir, tmp_path):
    secret = tmp_path / "secret.html"
    secret.write_text("<html><body><p>" + "secret words here. " * 50 + "</p></body></html>")
    (data_dir / "sources" / "escape.html").symlink_to(secret)
    (data_dir / "sources" / "zero.html").symlink_to("/dev/zero")
    (data_dir / "sources" / "inside-link.html").symlink_to(data_dir / "sources" / "competitor-podco.html")
    os.mkfifo(data_dir / "sources" / "pipe.html")
    (data_dir / "sources" / "big.md").write_bytes(b"# big\n" + b"word " * 300_000)
    inside_absolute = str(data_dir / "sources" / "competitor-greencup.html")
    refs = [
        "/etc/passwd",
        "/dev/zero",
        "../secret.html",
        "sources/../../secret.html",
        str(secret),
        "sources/escape.html",
        "sources/zero.html",
        "sources/pipe.html",
        "sources/big.md",
        "sources/competitor-podco.html",
        "sources/inside-link.html",
        inside_absolute,
    ]
    docs = load(refs, data_dir, fetcher(max_bytes=1_000_000))
    root = data_dir.resolve()
    outside = f"refused: file sources must be inside the data directory {root}"
    dots = "refused: '..' is not allowed in a file source: name a file inside the data directory"
    expected = {
        "/etc/passwd": outside,
        "/dev/zero": outside,
        "../secret.html": dots,
        "sources/../../secret.html": dots,
        str(secret): outside,
        "sources/escape.html": outside,
        "sources/zero.html": outside,
        "sources/pipe.html": f"refused: {root / 'sources' / 'pipe.html'} is not a regular file",
        "sources/big.md": "file is over the 1000000-byte cap (SPLANTS_SOURCE_MAX_BYTES)",
    }
    assert {ref: docs[ref].error for ref in expected} == expected
    for ref in ("sources/competitor-podco.html", "sources/inside-link.html", inside_absolute):
        assert docs[ref].ok and docs[ref].word_count > 100, (ref, docs[ref].error)
    assert all(docs[ref].refused for ref in expected if ref != "sources/big.md")


def test_a_bad_source_never_fails_research_and_nothing_of_it_is_stored(
    data_dir, instance, resources, store, monkeypatch
):
    """The issue's case: /etc/passwd and a loopback database port in a brief. Research succeeds on the
    good source, reports both refusals with their reasons, and stores neither."""
    with socket.socket() as listener:  # a "database" that must never be contacted
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        db = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        brief = data_dir / "campaigns" / f"{DEMO_CAMPAIGN}.yaml"
        brief.write_text(
            brief.read_text().replace("\nsources:\n", f"\nsources:\n  - /etc/passwd\n  - {db}\n", 1)
        )
        result = materialize_campaign(instance, resources, selection=["campaign_brief", "research_brief"])
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert result.success
    meta = result.asset_materializations_for_node("research_brief")[0].metadata
    assert meta["sources_total"].value == 4 and meta["sources_ok"].value == 2
    assert meta["sources_refused"].value == 2
    assert "/etc/passwd" in meta["competitors"].value and "refused: " in meta["competitors"].value
    rows = {r["ref"]: r for r in store.query("SELECT ref, ok, error, text FROM research_sources")}
    assert rows["/etc/passwd"]["error"].startswith("refused: file sources must be inside the data directory")
    assert rows[db]["error"].startswith("refused: 127.0.0.1 port")
    assert not rows["/etc/passwd"]["text"] and not rows[db]["text"]
    assert rows["sources/competitor-podco.html"]["ok"] and rows["sources/competitor-greencup.html"]["ok"]
    notes = store.query("SELECT notes FROM research_briefs")[0]["notes"]
    assert any("2 of 4 sources could not be used (the other 2 were)" in n for n in notes)
    everything = str(store.query("SELECT * FROM research_sources")) + str(
        store.query("SELECT * FROM research_briefs")
    )
    assert "root:x:0:0" not in everything


def test_refusal_is_before_any_connection_even_for_unknown_failure_modes():
    """A name that cannot be resolved fails cleanly (no exception escapes)."""

    async def broken(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(SourceFailed, match=r"cannot resolve nowhere\.test: Name or service not known"):
        asyncio.run(check_url(httpx.URL("http://nowhere.test/"), FetchPolicy(), broken))


def self_signed(name: str, directory: Path) -> tuple[Path, Path]:
    """A certificate for ``name`` (and its key), signed by itself: the test's own trust anchor."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def test_https_to_the_checked_address_still_verifies_the_name(data_dir, tmp_path):
    """Connecting to the checked address must not weaken TLS: the certificate is verified against the
    URL's host name (sent as SNI), not the address."""
    import ssl

    cert_file, key_file = self_signed("pages.test", tmp_path)
    server = page_server()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_file, key_file)
    server.server.socket = server_ctx.wrap_socket(server.server.socket, server_side=True)
    with server:
        port = port_of(server)
        f = SourceFetcher(
            FetchPolicy(allow=parse_allow(f"127.0.0.1:{port}")),
            resolve=resolver({"pages.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]}),
            verify=ssl.create_default_context(cafile=str(cert_file)),
        )
        refs = [f"https://pages.test:{port}/guide", f"https://other.test:{port}/guide"]
        docs = load(refs, data_dir, f)
    good, wrong_name = docs[refs[0]], docs[refs[1]]
    assert good.ok and good.title == "Oat Milk Guide", good.error
    assert not wrong_name.ok and "certificate verify failed" in wrong_name.error
    assert "other.test" in wrong_name.error
    assert [r.headers["host"] for r in server.requests] == [f"pages.test:{port}"]


def test_odd_answers_fail_the_source_not_the_research(data_dir):
    def handler(rec):
        if rec.path == "/bad-redirect":
            return Reply(status=302, headers={"location": "http://[not-an-address/"})
        if rec.path == "/odd-charset":
            return Reply(
                raw=b"# Oat notes\n\nOat milk froths.",
                headers={"content-type": "text/plain; charset=x-klingon"},
            )
        return Reply(raw=b"", headers={"content-type": "text/html"})

    with FakeServer(handler) as server:
        refs = [f"{server.url}/bad-redirect", f"{server.url}/odd-charset", f"{server.url}/empty"]
        docs = load(refs, data_dir, fetcher("127.0.0.1"))
    bad, odd, empty = (docs[r] for r in refs)
    assert not bad.ok and bad.error.startswith("redirect to an invalid URL: http://[not-an-address/")
    assert odd.ok and odd.title == "Oat notes"
    assert not empty.ok and empty.error == "no readable text on the page"
