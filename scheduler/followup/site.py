"""The follow-up web edge: the confirm page, the coordinator's register and its downloads.

    GET/HEAD  /xac-nhan/<token>               confirm page (never changes anything)
    POST      /xac-nhan/<token>               confirm or withdraw (action=confirm|undo)
    GET/HEAD  /so-theo-doi/<token>            register (?nam=YYYY&loc=...&q=...&trang=N)
    POST      /so-theo-doi/<token>            confirm for a unit, or undo
    GET/HEAD  /so-theo-doi/<token>/<Y>.csv    the year's register, CSV (UTF-8, BOM)
    GET/HEAD  /so-theo-doi/<token>/<Y>.xlsx   the same, Excel

**Cross-site protection of POSTs.** There are no cookies and no sessions: authority is
the capability in the URL (a signed confirm token, or the register token), which a
third-party site does not know. On top of that every POST must (1) carry the same token
in its form body as in its path, (2) come with `Sec-Fetch-Site` absent, `same-origin` or
`none`, and (3) with `Origin` absent or equal to our own origin (the request's host, or
`[web] base_url`) — or `null`, which browsers send from our no-referrer pages, together
with `Sec-Fetch-Site: same-origin`; it must be a small urlencoded or multipart form.
Otherwise it gets a 403 page and changes nothing. SameSite cookie rules do not apply (we
set no cookies);
pages send `Referrer-Policy: no-referrer` so the token does not leak to linked sites.

A POST answers 200 only after the ledger has committed the change.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from scheduler.clock import Clock
from scheduler.config import Config
from scheduler.followup.links import REGISTER_TOKENS, coordinator_ids
from scheduler.followup.policy import (
    coordinator_of,
    followed_occurrences,
    needs_confirmation,
    overdue_working_days,
    responsible_units,
)
from scheduler.followup.register import (
    RegisterRow,
    build_register,
    register_csv,
    register_xlsx,
    year_bounds,
)
from scheduler.followup.signing import (
    Secrets,
    hash_index,
    load_secrets,
    stored_secrets,
    verify,
)
from scheduler.model import Occurrence
from scheduler.pages.confirm import render_confirm, render_refusal
from scheduler.pages.register import RegisterQuery, render_register
from scheduler.store import Confirmation, ConfirmedBy, Store
from scheduler.store.outage import RETRY_AFTER_SECONDS, describe, is_unavailable
from scheduler.tokens import sync_tokens

log = logging.getLogger(__name__)

HTML_TYPE = "text/html; charset=utf-8"
MAX_FORM_BYTES = 8192
MAX_REF = 200
_YEAR = re.compile(r"^\d{4}$")
_SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                     "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


def _page(status: int, body: bytes) -> web.Response:
    return web.Response(status=status, body=body,
                        headers={"Content-Type": HTML_TYPE, **_SECURITY_HEADERS})


def _refused(reason: str) -> web.Response:
    status, body = render_refusal(reason)
    return _page(status, body)


def _same_origin(request: web.Request, base_url: str) -> bool:
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin == "null":
        # Browsers send "null" from a no-referrer page; then the fetch metadata decides.
        return fetch_site in ("same-origin", "none")
    base = urlsplit(base_url)
    allowed = {f"{request.scheme}://{request.host}", f"{base.scheme}://{base.netloc}"}
    return origin in allowed


async def _form(request: web.Request, token: str, base_url: str) -> dict[str, str] | None:
    """The POST's form if it passes the cross-site checks (see the module docstring)."""
    if not _same_origin(request, base_url):
        return None
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        return None
    if request.content_type not in ("application/x-www-form-urlencoded",
                                    "multipart/form-data"):
        return None
    try:
        data = await request.post()
    except (ValueError, web.HTTPException):
        return None
    form = {k: v for k, v in data.items() if isinstance(v, str)}
    if form.get("token") != token:
        return None
    return form


def _ref(form: dict[str, str]) -> str | None:
    text = " ".join(form.get("ref", "").split())[:MAX_REF]
    return text or None


def _row_order(row: RegisterRow) -> tuple[date, str, str]:
    return row.due, row.unit, row.event


def _needs_store(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                 ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """While the store is unavailable a follow-up page answers 503 with Retry-After (a
    POST then recorded nothing: its 200 comes only after the commit)."""
    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            log.warning("%s %s answered 503: the store is unavailable: %s", request.method,
                        request.path.split("/")[1], describe(exc))
            response = _refused("unavailable")
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
    return guarded


class FollowupSite:
    """Serves the follow-up pages over one ledger; `set_config` after a reload."""

    def __init__(self, config: Config, ledger: Store, clock: Clock) -> None:
        self.ledger = ledger
        self.clock = clock
        self._overdue: tuple[tuple[Any, ...], int] | None = None
        self._cache: dict[tuple[Any, ...], list[RegisterRow]] = {}
        self._csv_cache: tuple[list[RegisterRow], bytes] | None = None
        self.set_config(config)

    def set_config(self, config: Config) -> None:
        """Use `config` from now on (units, events, secrets, register tokens)."""
        self.config = config
        self.secrets: Secrets = load_secrets(self.ledger, config.state_dir)
        self.unit_index = hash_index(u.id for u in config.units)
        self.event_index = hash_index(e.id for e in config.events)
        tokens = sync_tokens(self.ledger, config.state_dir, coordinator_ids(config),
                             prefix=REGISTER_TOKENS)
        self.register_tokens = {token: unit for unit, token in tokens.by_unit.items()}
        self.revoked_register_tokens = tokens.revoked
        self._overdue = None
        coordinators = {coordinator_of(config, e) for e in config.events
                        if needs_confirmation(config, e)}
        self._sole_coordinator = coordinators.pop() if len(coordinators) == 1 else None

    def install(self, app: web.Application) -> None:
        """Add the follow-up routes to the web app (before its runner starts)."""
        app.router.add_route("*", "/xac-nhan/{token}", _needs_store(self.confirm_page))
        app.router.add_route("*", "/so-theo-doi/{token}", _needs_store(self.register_page))
        app.router.add_route("*", "/so-theo-doi/{token}/{year}.{ext}",
                             _needs_store(self.register_file))

    def today(self) -> date:
        return self.clock.now().astimezone(self.config.timezone).date()

    # -- the confirm page ----------------------------------------------------------------

    def _occurrence(self, unit: str, event: str, due: date) -> Occurrence | None:
        for occ in followed_occurrences(self.config, due, due, event=event, unit=unit):
            if occ.end == due and unit in responsible_units(self.config, occ):
                return occ
        return None

    def _confirmation(self, unit: str, event: str, due: date) -> Confirmation | None:
        for c in self.ledger.confirmations(due, due):
            if c.unit == unit and c.event == event:
                return c
        return None

    async def confirm_page(self, request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD", "POST"):
            return web.Response(status=405, headers={"Allow": "GET, HEAD, POST"})
        token = request.match_info["token"]
        # The store's current secrets (another node may have rotated since our reload).
        keys = stored_secrets(self.ledger) or self.secrets
        verdict = verify(token, keys, self.unit_index, self.event_index, self.today())
        if verdict.claim is None:
            if request.method == "POST":
                await request.release()
            return _refused(verdict.reason or "forged")
        claim = verdict.claim
        occ = self._occurrence(claim.unit, claim.event, claim.due)
        if occ is None:
            return _refused("gone")
        message = ""
        if request.method == "POST":
            form = await _form(request, token, self.config.web.base_url)
            if form is None:
                return _refused("cross-site")
            now = self.clock.now()
            before = self.ledger.confirmations_version()
            if form.get("action") == "undo":
                if self.ledger.unconfirm(claim.unit, claim.event, claim.due, now, "unit"):
                    self._patch(before, claim.unit, claim.event, claim.due)
                    log.info("confirmation withdrawn: %s %s %s by the unit", claim.unit,
                             claim.event, claim.due.isoformat())
                message = "Đã hủy xác nhận. Đơn vị sẽ tiếp tục nhận thư nhắc cho hạn này."
            else:
                self.ledger.confirm(Confirmation(claim.unit, claim.event, claim.due, now,
                                                 "unit", _ref(form), occ.key))
                self._patch(before, claim.unit, claim.event, claim.due)
                log.info("report confirmed: %s %s %s by the unit", claim.unit, claim.event,
                         claim.due.isoformat())
                message = "Đã ghi nhận: đơn vị đã gửi báo cáo. Cảm ơn đơn vị."
        confirmation = self._confirmation(claim.unit, claim.event, claim.due)
        return _page(200, render_confirm(self.config, claim.unit, occ, confirmation, token,
                                         message))

    # -- the register ----------------------------------------------------------------------

    def _coordinator(self, token: str) -> str | None:
        return self.register_tokens.get(token)

    def _rows(self, coordinator: str | None, year: int) -> list[RegisterRow]:
        """The register rows, cached until the day, the config or a confirmation changes
        (a national register is ~200,000 rows; rebuilding it takes seconds). A change made
        through this site patches the cached rows instead (`_patch`)."""
        coordinator = self._scope(coordinator)
        key = (coordinator, year, self.today(), id(self.config),
               self.ledger.confirmations_version())
        cached = self._cache.get(key)
        if cached is None:
            start, end = year_bounds(year)
            cached = build_register(self.config, year, self.ledger.confirmations(start, end),
                                    self.today(), coordinator=coordinator)
            if len(self._cache) >= 8:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = cached
        return cached

    async def _rows_async(self, coordinator: str | None, year: int) -> list[RegisterRow]:
        """`_rows` for request handlers: a rebuild runs on a worker thread, so a cold
        national register does not stall feeds and health checks meanwhile."""
        scope = self._scope(coordinator)
        config, today = self.config, self.today()
        version = self.ledger.confirmations_version()
        key = (scope, year, today, id(config), version)
        cached = self._cache.get(key)
        if cached is None:
            start, end = year_bounds(year)
            confirmations = self.ledger.confirmations(start, end)
            cached = await asyncio.to_thread(build_register, config, year, confirmations,
                                             today, None, None, scope)
            if self.ledger.confirmations_version() == version and config is self.config:
                if len(self._cache) >= 8:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = cached
        return cached

    async def _csv_async(self, coordinator: str, year: int) -> bytes:
        rows = await self._rows_async(coordinator, year)
        cached = self._csv_cache
        if cached is None or cached[0] is not rows:
            data = await asyncio.to_thread(register_csv, rows, self.config)
            cached = self._csv_cache = (rows, data)
        return cached[1]

    def _scope(self, coordinator: str | None) -> str | None:
        """None (every row) when `coordinator` coordinates every followed event: then its
        register and the whole register are one cached list, not two."""
        if coordinator is not None and coordinator == self._sole_coordinator:
            return None
        return coordinator

    def _patch(self, before: int, unit: str, event: str, due: date) -> None:
        """After one confirm or undo (ledger version `before` → now), update the cached
        registers' row of (unit, event, due) rather than rebuilding them."""
        after = self.ledger.confirmations_version()
        if after != before + 1:
            return  # another process changed something too: rebuild on next use
        current = next((c for c in self.ledger.confirmations(due, due)
                        if c.unit == unit and c.event == event), None)
        for key in [k for k in self._cache if k[-1] == before]:
            rows = self._cache.pop(key)
            index = bisect.bisect_left(rows, (due, unit, event), key=_row_order)
            if index < len(rows) and _row_order(rows[index]) == (due, unit, event):
                row = rows[index]
                if current is None:
                    overdue = overdue_working_days(due, self.today(), self.config.workdays())
                    row = row._replace(confirmed_at=None, ref=None, by=None,
                                       overdue_days=overdue)
                else:
                    row = row._replace(confirmed_at=current.at, ref=current.ref,
                                       by=current.by, overdue_days=0)
                rows = [*rows[:index], row, *rows[index + 1:]]
            self._cache[(*key[:-1], after)] = rows

    def _unknown_register(self, token: str) -> web.Response:
        if token in self.revoked_register_tokens:
            return _page(410, render_refusal("replaced")[1])
        return _page(404, render_refusal("malformed")[1])

    async def register_page(self, request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD", "POST"):
            return web.Response(status=405, headers={"Allow": "GET, HEAD, POST"})
        token = request.match_info["token"]
        coordinator = self._coordinator(token)
        if coordinator is None:
            return self._unknown_register(token)
        query = self._query(request)
        message = ""
        if request.method == "POST":
            form = await _form(request, token, self.config.web.base_url)
            if form is None:
                return _refused("cross-site")
            message = self._register_change(coordinator, form)
        rows = await self._rows_async(coordinator, query.year)
        unit = self.config.unit(coordinator)
        body = render_register(rows, query, unit.name if unit else coordinator,
                               request.path, token, message)
        return _page(200, body)

    def _query(self, request: web.Request) -> RegisterQuery:
        year_text = request.query.get("nam", "")
        year = int(year_text) if _YEAR.match(year_text) else self.today().year
        page_text = request.query.get("trang", "1")
        page = int(page_text) if page_text.isdigit() and len(page_text) < 7 else 1
        status = request.query.get("loc", "tat-ca")
        return RegisterQuery(year=year, status=status if status else "tat-ca",
                             search=request.query.get("q", "")[:100], page=page)

    def _register_change(self, coordinator: str, form: dict[str, str]) -> str:
        unit, event = form.get("unit", ""), form.get("event", "")
        try:
            due = date.fromisoformat(form.get("due", ""))
        except ValueError:
            return "Không ghi nhận: ngày hạn không hợp lệ."
        occ = self._occurrence(unit, event, due)
        if occ is None or (occ.event.report_to or self.config.coordinator) != coordinator:
            return "Không ghi nhận: đơn vị hoặc hạn báo cáo không thuộc sổ theo dõi này."
        now = self.clock.now()
        name = self.config.unit(unit)
        label = name.name if name else unit
        by: ConfirmedBy = "coordinator"
        before = self.ledger.confirmations_version()
        if form.get("action") == "undo":
            if self.ledger.unconfirm(unit, event, due, now, by):
                self._patch(before, unit, event, due)
            log.info("confirmation withdrawn: %s %s %s by the coordinator", unit, event,
                     due.isoformat())
            return f"Đã hủy xác nhận của {label}."
        self.ledger.confirm(Confirmation(unit, event, due, now, by, _ref(form), occ.key))
        self._patch(before, unit, event, due)
        log.info("report confirmed: %s %s %s by the coordinator", unit, event, due.isoformat())
        return f"Đã xác nhận thay cho {label}."

    async def register_file(self, request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, headers={"Allow": "GET, HEAD"})
        token = request.match_info["token"]
        coordinator = self._coordinator(token)
        if coordinator is None:
            return self._unknown_register(token)
        year_text, ext = request.match_info["year"], request.match_info["ext"]
        if not _YEAR.match(year_text) or ext not in ("csv", "xlsx"):
            return _page(404, render_refusal("malformed")[1])
        year = int(year_text)
        name = f"theo-doi-bao-cao-{year}.{ext}"
        if ext == "csv":
            body, kind = await self._csv_async(coordinator, year), "text/csv; charset=utf-8"
        else:
            body = await asyncio.to_thread(register_xlsx,
                                           await self._rows_async(coordinator, year),
                                           self.config, year)
            kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return web.Response(body=body, headers={
            "Content-Type": kind, "Content-Disposition": f'attachment; filename="{name}"',
            **_SECURITY_HEADERS})

    # -- keeping the registers warm ------------------------------------------------------

    async def keep_warm(self) -> None:
        """Build every coordinator's register of this year ahead of the first visit, at
        start and again after each midnight (a national register takes seconds to build;
        then pages and downloads come from the cache). The confirmations are read on the
        loop (the ledger is not shared with threads), the rows built on a worker thread."""
        while True:
            wait: float | None = None
            try:
                await self.warm()
            except Exception as exc:
                if not is_unavailable(exc):
                    log.exception("building the follow-up registers ahead failed")
                else:
                    log.warning("building the follow-up registers ahead: the store is "
                                "unavailable (%s); trying again in a minute", describe(exc))
                    wait = 60.0
            now = self.clock.now().astimezone(self.config.timezone)
            midnight = datetime.combine(now.date() + timedelta(days=1), time(0, 0, 5),
                                        tzinfo=self.config.timezone)
            await asyncio.sleep(wait or max(60.0, (midnight - now).total_seconds()))

    async def warm(self) -> None:
        """Fill the cache for this year: one register per coordinator, and the overdue
        count of /healthz."""
        config, today = self.config, self.today()
        for year in (today.year - 1, today.year):
            start, end = year_bounds(year)
            version = self.ledger.confirmations_version()
            confirmations = self.ledger.confirmations(start, end)
            for wanted in [None, *coordinator_ids(config)]:
                coordinator = self._scope(wanted)
                key = (coordinator, year, today, id(config), version)
                if key in self._cache:
                    continue
                rows = await asyncio.to_thread(build_register, config, year, confirmations,
                                               today, None, None, coordinator)
                if self.ledger.confirmations_version() == version and config is self.config:
                    if len(self._cache) >= 8:
                        self._cache.pop(next(iter(self._cache)))
                    self._cache[key] = rows
            if year == today.year and config.coordinator is not None:
                rows = self._rows(config.coordinator, year)
                data = await asyncio.to_thread(register_csv, rows, config)
                if rows is self._rows(config.coordinator, year):
                    self._csv_cache = (rows, data)
        self.counts()

    # -- numbers for /healthz and /metrics -------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Confirmations recorded, and units with at least one overdue unconfirmed report
        this year or last (cached until the day or the confirmations change)."""
        confirmations = self.ledger.confirmation_count()
        today = self.today()
        key = (today, self.ledger.confirmations_version(), id(self.config))
        if self._overdue is None or self._overdue[0] != key:
            units: set[str] = set()
            for year in (today.year - 1, today.year):
                units.update(r.unit for r in self._rows(None, year) if r.overdue_days)
            self._overdue = (key, len(units))
        return {"confirmations": confirmations, "overdue_units": self._overdue[1]}


