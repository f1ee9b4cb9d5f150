"""The marketer's desk: a small server-rendered web app over the same warehouse and domain code as the
assets (FastAPI + Jinja2 + htmx, vendored; no JavaScript build step). See docs/desk.md.

Reads come from the analysts' snapshot (read-only, never blocks a run); every click that changes something
is one short session of the warehouse's serialised writer (``desk/actions.py``). Dagster itself is reached
only through ``runs`` (a function given by ``splants desk``), so this package has no Dagster import.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from splants_dagster.campaigns.briefs import BriefError, load_brand
from splants_dagster.desk import actions, reads
from splants_dagster.desk.security import COOKIE, CSRF_FIELD, CSRF_HEADER, Sessions, csrf_ok
from splants_dagster.paths import DataPaths
from splants_dagster.platforms import CONTENT_TYPES, PLATFORMS, TONES
from splants_dagster.publishing.review import PublishingConfigError, policy_for_data_dir
from splants_dagster.warehouse.store import Warehouse

HERE = Path(__file__).resolve().parent
RunLookup = Callable[[str], list[dict[str, Any]]]
SendPreview = Callable[[dict[str, Any], str], tuple[str, "str | None", dict[str, Any]]]


def _no_runs(campaign_id: str) -> list[dict[str, Any]]:
    return []


def _who() -> str:
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "desk"


def create_app(
    data_dir: str | Path | None = None,
    *,
    password: str | None = None,
    secret: str = "",
    runs: RunLookup | None = None,
    dagster_url: str = "http://127.0.0.1:3000",
    user: str | None = None,
    outbox: Collection[str] = (),
    send_preview: SendPreview | None = None,
) -> FastAPI:
    """The desk for one data directory. ``runs(campaign_id)`` lists that campaign's Dagster runs (newest
    first: ``run_id``, ``status``, ``job``, ``started``); ``user`` is who decisions are recorded as (a
    logged-in session adds nothing: the desk has one password, so the OS user running it is the name).
    ``outbox``: the channels whose publisher is the outbox (always auto); ``send_preview(row, tz)``: the
    publisher a piece goes through and the payload it would send (``splants desk`` passes both, built from
    the publishing resource; without them every channel is treated as going to its platform)."""
    paths = DataPaths.at(data_dir)
    store = Warehouse(paths, lock_timeout_s=60.0)
    sessions = Sessions(password=password, secret=secret)
    lookup = runs or _no_runs
    who = user or _who()
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(dagster_url=dagster_url.rstrip("/"), platforms=PLATFORMS)
    app = FastAPI(title="splants desk", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def session_middleware(request: Request, call_next):
        session = sessions.load(request.cookies.get(COOKIE))
        fresh = session is None
        request.state.session = session or sessions.new()
        path = request.url.path
        public = path.startswith("/static/") or path == "/login"
        if sessions.login_required and not request.state.session.get("auth") and not public:
            if request.method == "GET":
                response: Response = RedirectResponse("/login", status_code=303)
            else:
                response = HTMLResponse("login required", status_code=403)
            if fresh:
                _set_cookie(response, request.state.session)
            return response
        response = await call_next(request)
        if fresh or getattr(request.state, "session_changed", False):
            _set_cookie(response, request.state.session)
        return response

    def _set_cookie(response: Response, session: dict[str, Any]) -> None:
        response.set_cookie(
            COOKIE, sessions.dump(session), httponly=True, samesite="strict", max_age=12 * 3600, path="/"
        )

    async def posted(request: Request) -> dict[str, Any]:
        """The form of a POST, after its CSRF token is checked (403 without it or with a wrong one)."""
        form = await request.form()
        token = form.get(CSRF_FIELD)
        if not csrf_ok(
            request.state.session, request.headers.get(CSRF_HEADER), token if isinstance(token, str) else None
        ):
            raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")
        out: dict[str, Any] = {}
        for key in form:
            values = [v for v in form.getlist(key) if isinstance(v, str)]
            out[key] = (
                values
                if len(values) > 1
                or key in ("platforms", "content_types", "source_ref", "source_role", "piece_id")
                else (values[0] if values else "")
            )
        return out

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        context.update(csrf=request.state.session["csrf"], nav=name.split(".")[0].split("_")[0])
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def timezone() -> str:
        try:
            return load_brand(paths.brand_file).timezone
        except BriefError:
            return "UTC"

    def policy():
        try:
            return policy_for_data_dir(paths.root)
        except PublishingConfigError as err:
            raise HTTPException(500, f"publishing.yaml cannot be used: {err}") from None

    # ------------------------------------------------------------ login

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request):
        if not sessions.login_required:
            return RedirectResponse("/", status_code=303)
        return render(request, "login.html", error=None)

    @app.post("/login")
    async def login(request: Request):
        form = await posted(request)
        if not sessions.check_password(str(form.get("password") or "")):
            return render(request, "login.html", status_code=401, error="wrong password")
        request.state.session = {**sessions.new(), "auth": True}  # a new token after login
        request.state.session_changed = True
        return RedirectResponse("/", status_code=303)

    # ------------------------------------------------------------ calendar

    @app.get("/", response_class=HTMLResponse)
    def calendar(
        request: Request,
        view: str = "week",
        day: str | None = None,
        campaign: str | None = None,
        channel: str | None = None,
    ):
        view = view if view in ("week", "month") else "week"
        tz = timezone()
        try:
            anchor = dt.date.fromisoformat(day) if day else None
        except ValueError:
            anchor = None
        with store.read() as conn:
            if anchor is None:
                first = conn.execute(
                    "SELECT min(publish_at) FROM schedule WHERE publish_at >= now() - INTERVAL 1 DAY"
                ).fetchone()
                from zoneinfo import ZoneInfo

                anchor = first[0].astimezone(ZoneInfo(tz)).date() if first and first[0] else dt.date.today()
            cal = reads.calendar(conn, policy(), outbox, tz, view, anchor, campaign or None, channel or None)
        return render(
            request,
            "calendar.html",
            cal=cal,
            campaign=campaign or "",
            channel=channel or "",
            statuses=reads.STATUSES,
        )

    # ------------------------------------------------------------ pieces

    def piece_page(request: Request, piece_id: str, status_code: int = 200, **extra: Any) -> HTMLResponse:
        with store.read() as conn:
            found = reads.piece(conn, piece_id, policy(), outbox)
        if found is None:
            raise HTTPException(404, f"no piece with id {piece_id}")
        try:
            brand = load_brand(paths.brand_file).name
        except BriefError:
            brand = "Your brand"
        handle = "".join(ch for ch in brand.lower() if ch.isalnum())
        sending = None
        if send_preview is not None:
            try:
                sched = found["schedule"]
                row = {
                    **found["piece"],
                    "publish_at": sched.get("publish_at") or dt.datetime.now(dt.UTC),
                    "keywords": sched.get("keywords"),
                    "brief_json": sched.get("brief_json"),
                }
                via, fallback, payload = send_preview(row, timezone())
                sending = {
                    "via": via,
                    "fallback": fallback,
                    "payload": json.dumps(payload, indent=2, default=str),
                }
            except (PublishingConfigError, ValueError, KeyError) as err:
                sending = {"via": "?", "fallback": f"cannot build the publisher: {err}", "payload": ""}
        return render(
            request,
            "piece.html",
            status_code=status_code,
            p=found,
            tz=timezone(),
            brand=brand,
            handle=handle,
            sending=sending,
            **extra,
        )

    @app.get("/pieces/{piece_id}", response_class=HTMLResponse)
    def piece(request: Request, piece_id: str):
        return piece_page(request, piece_id)

    @app.post("/pieces/{piece_id}/approve")
    async def approve(request: Request, piece_id: str):
        form = await posted(request)
        out = actions.approve(store, [piece_id], who, str(form.get("reason") or "") or None)
        if out.refused:
            return piece_page(
                request, piece_id, 409, message=f"approval refused: {out.refused[0][1]}", ok=False
            )
        note = "approved" if out.done else out.skipped[0][1]
        return piece_page(request, piece_id, message=note, ok=True)

    @app.post("/pieces/{piece_id}/reject")
    async def reject(request: Request, piece_id: str):
        form = await posted(request)
        problem = actions.reject(store, piece_id, who, str(form.get("reason") or ""))
        if problem:
            return piece_page(request, piece_id, 422, message=problem, ok=False)
        return piece_page(
            request, piece_id, message="rejected: it goes nowhere until approved again", ok=True
        )

    @app.post("/pieces/{piece_id}/edit")
    async def edit(request: Request, piece_id: str):
        form = await posted(request)
        qa = actions.edit(store, paths, piece_id, str(form.get("text") or ""), who)
        if "error" in qa:
            return piece_page(request, piece_id, 422, message=qa["error"], ok=False)
        if not qa["passed"]:
            msg = f"edit kept; QA {qa['summary']}: it fails the {' and '.join(qa['gate'])} check, so approval is refused until it is fixed"
            return piece_page(request, piece_id, 422, message=msg, ok=False)
        return piece_page(
            request, piece_id, message=f"edit kept; QA {qa['summary']}: approve it when ready", ok=True
        )

    @app.post("/pieces/{piece_id}/reschedule")
    async def reschedule(request: Request, piece_id: str):
        form = await posted(request)
        try:
            local = dt.datetime.fromisoformat(str(form.get("local") or ""))
        except ValueError:
            return piece_page(
                request, piece_id, 422, message="give a date and time, e.g. 2027-03-02T10:00", ok=False
            )
        refusal = actions.reschedule(store, piece_id, local.replace(tzinfo=None), timezone())
        if refusal:
            return piece_page(request, piece_id, 409, message=f"not moved: {refusal}", ok=False)
        return piece_page(request, piece_id, message=f"moved to {local:%a %d %b %H:%M}", ok=True)

    # ------------------------------------------------------------ inbox

    @app.get("/inbox", response_class=HTMLResponse)
    def inbox(request: Request, message: str | None = None):
        with store.read() as conn:
            rows = reads.inbox(conn, policy(), outbox)
        return render(request, "inbox.html", rows=rows, message=message)

    @app.post("/inbox/approve")
    async def bulk_approve(request: Request):
        form = await posted(request)
        ids = form.get("piece_id") or []
        out = actions.approve(store, ids, who)
        with store.read() as conn:
            rows = reads.inbox(conn, policy(), outbox)
        return render(request, "inbox.html", rows=rows, outcome=out, message=None)

    # ------------------------------------------------------------ campaigns

    def blank() -> dict[str, Any]:
        return {
            "tone": "friendly",
            "duration_days": "21",
            "variants": "2",
            "platforms": [],
            "content_types": [],
        }

    def form_page(
        request: Request, form: dict[str, Any], check: actions.BriefCheck | None, status_code: int = 200
    ):
        return render(
            request,
            "campaign_new.html",
            status_code=status_code,
            form=form,
            check=check,
            tones=TONES,
            content_types=CONTENT_TYPES,
            roles=("reference", "own", "competitor"),
        )

    @app.get("/campaigns/new", response_class=HTMLResponse)
    def new_campaign(request: Request):
        return form_page(request, blank(), None)

    @app.post("/campaigns/validate", response_class=HTMLResponse)
    async def validate_campaign(request: Request):
        form = await posted(request)
        check = actions.check_brief(paths, form)
        return render(request, "brief_check.html", check=check, oob=True)  # and each field's own message

    @app.post("/campaigns")
    async def save_campaign(request: Request):
        form = await posted(request)
        check = actions.check_brief(paths, form)
        if check.brief is None:
            return form_page(request, form, check, 422)
        actions.save_brief(paths, check)
        return RedirectResponse(f"/campaigns/{check.brief.id}", status_code=303)

    @app.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
    def campaign(request: Request, campaign_id: str):
        brief_file = paths.campaigns_dir / f"{campaign_id}.yaml"
        return render(
            request,
            "campaign.html",
            campaign_id=campaign_id,
            brief_file=brief_file,
            exists=brief_file.exists(),
        )

    @app.get("/campaigns/{campaign_id}/progress", response_class=HTMLResponse)
    def campaign_progress(request: Request, campaign_id: str):
        found = lookup(campaign_id)
        with store.read() as conn:
            pieces = conn.execute(
                "SELECT count(*) FROM schedule WHERE campaign_id = ?", [campaign_id]
            ).fetchone()
        scheduled = int(pieces[0]) if pieces else 0
        done = bool(found) and found[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED") and scheduled > 0
        return render(
            request,
            "campaign_progress.html",
            runs=found,
            campaign_id=campaign_id,
            scheduled=scheduled,
            done=done,
        )

    # ------------------------------------------------------------ reports and budget

    @app.get("/reports", response_class=HTMLResponse)
    def reports_list(request: Request):
        return render(request, "reports.html", reports=reads.reports(paths.root))

    @app.get("/reports/{brand}/{name}")
    def report_file(brand: str, name: str):
        base = (paths.root / "reports").resolve()
        target = (base / brand / name).resolve()
        if base not in target.parents or target.suffix != ".html" or not target.is_file():
            raise HTTPException(404, "no such report")
        return FileResponse(target, media_type="text/html")

    @app.get("/budget", response_class=HTMLResponse)
    def budget(request: Request):
        with store.read() as conn:
            found = reads.budget(conn, paths.root, dt.datetime.now(dt.UTC))
        return render(request, "budget.html", b=found)

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    return app
