"""The console's pages. Everything shown comes from the code the APIs run: the catalogue
document (rules/catalog.py), the pins shipped with it, the checker and the CDS Hooks
service (tryout.py), the store (analytics.py)."""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from api.cds_hooks.security import Unauthorized
from api.console import analytics, charts, session, tryout
from api.console.catalogue import catalogue, search
from api.store import StoreError
from rules.case import WITHDRAWAL_SIGNS

BASE = "/console"
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
router = APIRouter()
User = Annotated[str | None, Depends(session.require)]

EXAMPLES: dict[str, dict[str, str]] = {
    "child-tablets": {
        "label": "A 7-year-old of 20 kg on tablets",
        "age_years": "7",
        "weight_kg": "20",
        "action": "continue",
        "route": "oral",
        "form": "tablet",
        "dose_value": "10",
        "dose_unit": "mg",
        "frequency_per_day": "3",
    },
    "adult-epilepsy": {
        "label": "An adult with epilepsy starting tablets",
        "age_years": "52",
        "weight_kg": "70",
        "conditions": "G40.909 Epilepsy, unspecified",
        "action": "start",
        "route": "oral",
        "form": "tablet",
        "dose_value": "5",
        "dose_unit": "mg",
        "frequency_per_day": "3",
    },
    "intrathecal-jump": {
        "label": "An intrathecal infusion raised by 60 % in a day",
        "age_years": "40",
        "weight_kg": "70",
        "action": "change",
        "route": "intrathecal",
        "form": "intrathecal",
        "date": "2026-11-22",
        "time": "2026-11-22T10:00:00+00:00",
        "dose_value": "480",
        "dose_unit": "ug",
        "phase": "maintenance",
        "spasticity_origin": "spinal",
        "pump": "programmable",
        "history": "2026-11-01T10:00:00+00:00; 300 ug; adequate",
    },
}


def _md(text: str) -> Markup:
    """The Markdown of a card's detail (bold, quotes, lists, escapes), as safe HTML: the text
    is escaped first, so nothing in it becomes markup of its own."""
    blocks: list[str] = []
    items: list[str] = []

    def inline(line: str) -> str:
        escaped = html.escape(line)
        escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
        return re.sub(r"\\([\\`*_{}\[\]<>#|!]|&[a-z]+;)", r"\1", escaped)

    for line in [*text.splitlines(), ""]:
        if line.startswith("- "):
            items.append(f"<li>{inline(line[2:])}</li>")
            continue
        if items:
            blocks.append("<ul>" + "".join(items) + "</ul>")
            items = []
        if line.startswith("> "):
            blocks.append(f"<blockquote>{inline(line[2:])}</blockquote>")
        elif line.strip():
            blocks.append(f"<p>{inline(line)}</p>")
    return Markup("".join(blocks))


templates.env.filters["md"] = _md
templates.env.filters["pretty"] = tryout.pretty
templates.env.globals["base"] = BASE
templates.env.globals["rate_text"] = analytics.rate_text


def _page(
    request: Request, name: str, who: str | None, status: int = 200, **context: Any
) -> HTMLResponse:
    cat = catalogue()
    return templates.TemplateResponse(
        request,
        name,
        {
            "who": who,
            "doc": cat.doc,
            "pins_current": cat.pins_current,
            "pins_version": cat.pins.ruleset_version,
            "signin": session.settings_of(request).console_secret is not None,
            **context,
        },
        status_code=status,
    )


# ---- catalogue -------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def catalogue_page(request: Request, who: User, q: str = "") -> HTMLResponse:
    cat = catalogue()
    shown = {view.id for view in search(cat, q)}
    return _page(request, "catalogue.html", who, cat=cat, q=q, shown=shown)


@router.get("/rules/{rule_id}", response_class=HTMLResponse)
async def rule_page(request: Request, rule_id: str, who: User) -> HTMLResponse:
    cat = catalogue()
    view = cat.rules.get(rule_id)
    if view is None:
        return _page(request, "missing.html", who, 404, what=f"rule {rule_id}")
    module = next(m for m in cat.modules if any(r.id == rule_id for r in m.rules))
    return _page(request, "rule.html", who, cat=cat, view=view, module=module)


@router.get("/codes/{code}", response_class=HTMLResponse)
async def code_page(request: Request, code: str, who: User) -> HTMLResponse:
    cat = catalogue()
    entry = cat.codes.get(code)
    if entry is None:
        return _page(request, "missing.html", who, 404, what=f"alert code {code}")
    views = [cat.rules[r["id"]] for r in entry["rules"]]
    return _page(request, "code.html", who, cat=cat, entry=entry, views=views)


# ---- try a case ------------------------------------------------------------------------------


def _try_page(
    request: Request,
    who: str | None,
    form: dict[str, str],
    outcome: tryout.Outcome | None = None,
    signs: list[str] | None = None,
    native_json: str = "",
    cds_json: str = "",
    mode: str = "form",
    status: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        "try.html",
        who,
        status,
        form=form,
        signs=signs or [],
        all_signs=WITHDRAWAL_SIGNS,
        outcome=outcome,
        native_json=native_json,
        cds_json=cds_json,
        mode=mode,
        examples=EXAMPLES,
        today=tryout.today(),
    )


@router.get("/try", response_class=HTMLResponse)
async def try_page(request: Request, who: User, row: str = "", example: str = "") -> HTMLResponse:
    form: dict[str, str] = {k: v for k, v in EXAMPLES.get(example, {}).items() if k != "label"}
    native_json = cds_json = ""
    mode = "form"
    if row:
        found = catalogue().pins.request(row)
        if found is not None:
            native_json, mode = tryout.pretty(found), "native"
    if example == "cds-hooks":
        cds_json, mode = tryout.pretty(tryout.example_hook()), "cds-hooks"
    return _try_page(request, who, form, native_json=native_json, cds_json=cds_json, mode=mode)


@router.post("/try", response_class=HTMLResponse)
async def try_run(request: Request, who: User) -> HTMLResponse:
    if not session.same_origin(request):
        return _page(request, "missing.html", who, 403, what="a form from another site")
    data = await request.form()
    form = {k: v for k, v in data.items() if isinstance(v, str)}
    signs = [v for v in data.getlist("withdrawal_signs") if isinstance(v, str)]
    mode = form.get("mode", "form")
    outcome = tryout.Outcome(mode=mode)
    main = session.main_app(request)
    checker = getattr(main.state, "checker", None)
    native_json, cds_json = form.get("native_json", ""), form.get("cds_json", "")
    try:
        if mode == "cds-hooks":
            outcome.request_json = cds_json
            await tryout.run_cds_hooks(
                checker, session.settings_of(request), tryout.loads(cds_json), outcome
            )
        else:
            if mode == "native":
                payload = tryout.loads(native_json)
            else:
                payload = tryout.request_from_form(form, signs)
                native_json = tryout.pretty(payload)
            outcome.request_json = native_json
            if checker is None:
                outcome.errors = [{"field": "check", "problem": "no engine in this worker"}]
            else:
                tryout.run_native(checker, payload, outcome)
    except tryout.FormProblem as exc:
        outcome.errors = [{"field": exc.field, "problem": exc.problem}]
    return _try_page(
        request,
        who,
        form,
        outcome,
        signs,
        native_json=native_json,
        cds_json=cds_json,
        mode=mode,
        status=422 if outcome.errors else 200,
    )


# ---- analytics -------------------------------------------------------------------------------


def _dates(start: str, end: str) -> tuple[date, date, list[str]]:
    problems = []
    parsed: list[date | None] = []
    for name, text in (("from", start), ("to", end)):
        try:
            day = date.fromisoformat(text) if text else None
        except ValueError:
            problems.append(f"{name}: {text[:40]!r} is not a date (YYYY-MM-DD)")
            day = None
        if day is not None and not analytics.EARLIEST <= day <= analytics.LATEST:
            problems.append(
                f"{name}: {text!r} is outside {analytics.EARLIEST} to {analytics.LATEST}"
            )
            day = None
        parsed.append(day)
    first, last = analytics.date_range(parsed[0], parsed[1])
    return first, last, problems


async def _report(
    request: Request, start: str, end: str, code: str
) -> tuple[analytics.Report | None, list[str]]:
    first, last, problems = _dates(start, end)
    store = session.main_app(request).state.store
    try:
        counts = await run_in_threadpool(store.check_counts, *analytics.bounds(first, last))
    except StoreError as exc:
        return None, [*problems, f"the store could not be read: {exc}"]
    return analytics.report(counts, first, last, code or None), problems


@router.get("/analytics", response_class=HTMLResponse)
async def analytics_page(
    request: Request, who: User, start: str = "", end: str = "", code: str = ""
) -> HTMLResponse:
    start = request.query_params.get("from", start)
    end = request.query_params.get("to", end)
    rep, problems = await _report(request, start, end, code)
    plots = (
        {
            "shown": Markup(charts.shown_per_week(rep.weeks)),
            "rate": Markup(charts.override_rate_per_week(rep.weeks)),
            "codes": Markup(charts.override_rate_per_code(rep.rows)),
        }
        if rep
        else {}
    )
    query = (
        ""
        if rep is None
        else f"from={rep.start}&to={rep.end}" + (f"&code={quote(code)}" if code else "")
    )
    return _page(
        request,
        "analytics.html",
        who,
        status=503 if rep is None else 422 if problems else 200,
        rep=rep,
        problems=problems,
        plots=plots,
        query=query,
        code=code,
        codes=sorted(catalogue().codes),
        retention=session.settings_of(request).check_log_retention_days,
    )


@router.get("/analytics.csv")
async def analytics_csv(
    request: Request, who: User, table: str = "codes", code: str = ""
) -> Response:
    if table not in analytics.CSV:
        return PlainTextResponse(f"table must be one of {', '.join(analytics.CSV)}", 400)
    rep, problems = await _report(
        request, request.query_params.get("from", ""), request.query_params.get("to", ""), code
    )
    if rep is None:
        return PlainTextResponse("; ".join(problems), 503)
    if problems:
        return PlainTextResponse("; ".join(problems), 422)
    name = f"baclofen-overrides-{table}-{rep.start}-{rep.end}.csv"
    return Response(
        analytics.CSV[table](rep),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


# ---- sign-in ----------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "") -> HTMLResponse:
    return _page(request, "login.html", session.signed_in_as(request), next=session.safe_next(next))


@router.post("/login", response_model=None)
async def login(request: Request) -> Response:
    data = await request.form()
    target = session.safe_next(str(data.get("next") or ""))
    if not session.same_origin(request):
        return _page(request, "missing.html", None, 403, what="a form from another site")
    try:
        await session.sign_in(request, str(data.get("credential") or ""))
    except Unauthorized:
        return _page(
            request, "login.html", None, 401, next=target, error="That credential was not accepted."
        )
    except session.Refused as exc:
        return _page(request, "login.html", None, exc.status, next=target, error=str(exc))
    return RedirectResponse(target, status_code=303)


@router.post("/logout", response_model=None)
async def logout(request: Request) -> Response:
    if session.same_origin(request):
        session.sign_out(request)
    return RedirectResponse(session.LOGIN, status_code=303)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(session.NeedsSignIn)
    async def _sign_in(request: Request, _: session.NeedsSignIn) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{session.LOGIN}?next={quote(target)}", status_code=303)

    @app.exception_handler(session.Refused)
    async def _refused(request: Request, exc: session.Refused) -> Response:
        return PlainTextResponse(str(exc), exc.status)
