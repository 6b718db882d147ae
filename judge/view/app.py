"""The aiohttp application: routes, the security middleware, and handlers that render the data modules.

Handlers do their DuckDB work in a thread pool (DuckDB calls block), each request with its own
short read-only connection. A user error (unknown run, bad filter value) is a 404 or 400 page
with one line; anything else is a 500 page with one line, the traceback going to the log only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any

import duckdb
from aiohttp import web

from judge.analysis.report_html import heatmap_chart, tier_chart
from judge.errors import UserInputError
from judge.view.context import ViewContext
from judge.view.data import agreement, compare, item, labels, runs, table
from judge.view.filters import OUTCOMES, PAGE_SIZES, SORTS, STATUSES, TIER_CHOICES, BadQuery, VerdictQuery
from judge.view.index import Preparing
from judge.view.render import render, strip_svg_style
from judge.view.security import HEADERS, TOKEN_COOKIE, Guard

log = logging.getLogger("judge.view")
CTX = web.AppKey("ctx", ViewContext)
GUARD = web.AppKey("guard", Guard)
POOL = web.AppKey("pool", ThreadPoolExecutor)
STATIC = {"view.css": "text/css", "view.js": "text/javascript"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class NotFound(UserInputError):
    """A run, response or page that does not exist (404)."""


# ---------------------------------------------------------------- middleware


def _plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", content_type="text/plain")


@web.middleware
async def guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    guard = request.app[GUARD]
    if not guard.host_allowed(request.headers.get("Host")):
        resp: web.StreamResponse = _plain(421, "judge view answers only to its own address (Host header refused)")
    elif not guard.token_ok(
        request.query.get("token"), request.cookies.get(TOKEN_COOKIE), request.headers.get("Authorization")
    ):
        resp = _plain(401, "judge view needs its token: open the URL it printed (…?token=…)")
    elif guard.token and "token" in request.query and request.method == "GET":
        # move the token from the URL to a cookie, so it stays out of history and the address bar
        rest = [(k, v) for k, v in request.query.items() if k != "token"]
        resp = web.HTTPSeeOther(str(request.rel_url.with_query(rest)))
        resp.set_cookie(TOKEN_COOKIE, guard.token, httponly=True, samesite="Strict", path="/")
    else:
        try:
            resp = await handler(request)
        except web.HTTPException as e:
            resp = e
    for name, value in HEADERS.items():
        resp.headers[name] = value
    if resp.content_type == "text/html":
        resp.headers["Cache-Control"] = "no-store"
    return resp


# ---------------------------------------------------------------- helpers


async def _work(request: web.Request, fn: Callable[[], Any]) -> Any:
    return await asyncio.get_running_loop().run_in_executor(request.app[POOL], fn)


def _page(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    ctx = request.app[CTX]
    html = render(template, ctx=ctx, csrf=request.app[GUARD].csrf, path=request.path_qs, **context)
    return web.Response(text=html, content_type="text/html", status=status)


async def _render(request: web.Request, template: str, fn: Callable[[], dict[str, Any]]) -> web.Response:
    """Compute the page's data in the pool and render it; user errors become a 400/404 page with one line."""
    try:
        data = await _work(request, fn)
    except Preparing as e:
        return _page(request, "preparing.html", 202, prep=e, title="Preparing")
    except NotFound as e:
        return _page(request, "error.html", 404, title="Not found", message=e.one_line())
    except (UserInputError, BadQuery) as e:
        message = e.one_line() if isinstance(e, UserInputError) else str(e)
        return _page(request, "error.html", 400, title="Bad request", message=message)
    except duckdb.Error as e:
        log.exception("query failed")
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        return _page(request, "error.html", 500, title="Database error", message=first)
    return _page(request, template, **data)


def _resolve(ctx: ViewContext, con: duckdb.DuckDBPyConnection, ref: str) -> str:
    try:
        return runs.resolve(con, ref)
    except UserInputError as e:
        raise NotFound(e.message) from None


# ---------------------------------------------------------------- pages


async def runs_page(request: web.Request) -> web.Response:
    ctx = request.app[CTX]

    def data() -> dict[str, Any]:
        with ctx.read() as con:
            rows, total = runs.list_runs(ctx, con)
        return {"runs": rows, "total": total}

    return await _render(request, "runs.html", data)


async def run_page(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    judge = request.query.get("judge") or None

    def data() -> dict[str, Any]:
        with ctx.read() as con:
            run_id = _resolve(ctx, con, request.match_info["run"])
            page = runs.run_page(ctx, con, run_id, judge)
        return {
            "page": page,
            "report": page.report,
            "tier_svg": strip_svg_style(tier_chart(page.report)),
            "heat_svg": strip_svg_style(heatmap_chart(page.report)),
        }

    return await _render(request, "run.html", data)


async def verdicts_page(request: web.Request) -> web.Response:
    ctx = request.app[CTX]

    def data() -> dict[str, Any]:
        query = VerdictQuery.parse(request.query)
        with ctx.read() as con:
            run_id = _resolve(ctx, con, request.match_info["run"])
            page = table.verdict_page(ctx, con, run_id, query)
        return {
            "run_id": run_id,
            "t": page,
            "q": query,
            "facets": runs.facet_values(page.info),
            "choices": {
                "tier": TIER_CHOICES,
                "outcome": OUTCOMES,
                "status": STATUSES,
                "intent": ("safe", "unsafe", "adversarial"),
                "sort": tuple(SORTS),
                "per": PAGE_SIZES,
            },
        }

    return await _render(request, "verdicts.html", data)


async def item_page(request: web.Request) -> web.Response:
    ctx = request.app[CTX]

    def data() -> dict[str, Any]:
        with ctx.read() as con:
            try:
                page = item.item_page(ctx, con, request.match_info["response_id"])
            except UserInputError as e:
                raise NotFound(e.message) from None
        return {"it": page}

    return await _render(request, "item.html", data)


async def compare_page(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    q = request.query

    def data() -> dict[str, Any]:
        page_no = int(q["page"]) if q.get("page", "").isdigit() and len(q["page"]) < 9 else 1
        with ctx.read() as con:
            run_b = _resolve(ctx, con, q.get("b") or "latest")
            run_a = _resolve(ctx, con, q["a"]) if q.get("a") else runs.previous_run(con, run_b)
            if run_a is None:
                return {"cmp": None, "run_b": run_b, "all_runs": runs.list_runs(ctx, con)[0]}
            page = compare.compare_page(
                ctx,
                con,
                run_a,
                run_b,
                judge=q.get("judge") or None,
                l1=q.get("l1") or None,
                kind=q.get("kind") or None,
                page=page_no,
            )
            return {"cmp": page, "run_b": run_b, "kinds": compare.KINDS, "all_runs": runs.list_runs(ctx, con)[0]}

    return await _render(request, "compare.html", data)


async def agreement_page(request: web.Request) -> web.Response:
    ctx = request.app[CTX]

    def data() -> dict[str, Any]:
        with ctx.read() as con:
            run_id = _resolve(ctx, con, request.match_info["run"])
            info = ctx.indexes.ensure(con, run_id, ctx.wait_s)
            return {"run_id": run_id, "info": info, "pairs": agreement.agreement_matrices(info)}

    return await _render(request, "agreement.html", data)


async def label_page(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    pos = request.query.get("pos", "0")

    def data() -> dict[str, Any]:
        with ctx.read() as con:
            run_id = _resolve(ctx, con, request.match_info["run"])
            if not ctx.label:
                return {"run_id": run_id, "lp": None}
            position = int(pos) if pos.isdigit() and len(pos) < 9 else 0
            return {"run_id": run_id, "lp": labels.label_page(ctx, con, run_id, position), "keys": labels.TIER_KEYS}

    return await _render(request, "label.html", data)


async def label_save(request: web.Request) -> web.StreamResponse:
    ctx, guard = request.app[CTX], request.app[GUARD]
    if not ctx.label:
        return _plain(403, "labelling is off: start `judge view --label`")
    form = await request.post()
    if not guard.csrf_ok(_field(form, "csrf"), request.headers.get("Origin"), request.headers.get("Host")):
        return _plain(403, "refused: missing or wrong CSRF token (reload the labelling page)")
    response_id, tier = _field(form, "response_id"), _field(form, "tier")

    def save() -> str:
        with ctx.read() as con:
            run_id = _resolve(ctx, con, request.match_info["run"])
            position, found = labels.find(ctx, con, run_id, response_id or "")
        labels.save(ctx, run_id, found, tier or "")
        return f"/runs/{run_id}/label?pos={position + 1}"

    try:
        target = await _work(request, save)
    except NotFound as e:
        return _page(request, "error.html", 404, title="Not found", message=e.one_line())
    except UserInputError as e:
        return _page(request, "error.html", 400, title="Bad request", message=e.one_line())
    raise web.HTTPSeeOther(target)


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


async def static_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC:
        return _plain(404, "no such file")
    body = resources.files("judge.view").joinpath("static", name).read_bytes()
    return web.Response(body=body, content_type=STATIC[name], headers={"Cache-Control": "no-cache"})


async def favicon(request: web.Request) -> web.Response:
    return web.Response(status=204)


def make_app(ctx: ViewContext, guard: Guard, *, workers: int = 4) -> web.Application:
    app = web.Application(middlewares=[guard_middleware], client_max_size=64 * 1024)
    app[CTX] = ctx
    app[GUARD] = guard
    app[POOL] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="judge-view")
    app.router.add_get("/", runs_page)
    app.router.add_get("/runs/{run}", run_page)
    app.router.add_get("/runs/{run}/verdicts", verdicts_page)
    app.router.add_get("/runs/{run}/agreement", agreement_page)
    app.router.add_get("/runs/{run}/label", label_page)
    app.router.add_post("/runs/{run}/label", label_save)
    app.router.add_get("/items/{response_id}", item_page)
    app.router.add_get("/compare", compare_page)
    app.router.add_get("/static/{name}", static_file)
    app.router.add_get("/favicon.ico", favicon)

    async def _close_pool(app: web.Application) -> None:
        app[POOL].shutdown(wait=False, cancel_futures=True)

    app.on_cleanup.append(_close_pool)
    return app
