"""The delivery pipeline: plan into the ledger → claim → render → send → record.

    delivery = Delivery(config, ledger, transport, clock)
    report = await delivery.deliver_due(now)     # everything due at or before `now`
    delivery.next_send_time(now)                 # next planned send or retry (> now), or None
    delivery.counts()                            # ledger rows per state (reminders, not emails)
    delivery.last_delivery                       # when deliver_due last finished, or None

`deliver_due(now)`:

1. *Plans* every send day since the last planned one (a fresh ledger: the last
   `grace_days` days) up to and including today into the ledger — rows, one per
   reminder; today is always planned again, so reminders a changed config adds for
   today are not lost.
2. *Misses* planned rows whose send day is more than `grace_days` before today, or whose
   event is over: they become `missed` and are reported (`report.missed`, a warning log).
3. *Claims* due groups in batches, renders each as one email (late ones say "Nhắc muộn"),
   sends them concurrently (the transport bounds it) and records each result as soon as
   it is known, in one transaction with every other result known by then and the next
   claims (so a crash re-sends at most what was on the wire). A run with temporary
   failures logs one warning (how many, the next try), the per-digest detail at debug.
   A temporary failure (4xx, timeout, dropped connection) goes back to
   `planned` with an exponential backoff (1 min, 2, 4 ... capped at 1 h) and is retried at
   `next_send_time`; until the grace window runs out, then it is missed. A permanent one
   (5xx) becomes `failed` and is reported — never retried.

Follow-up (`scheduler.followup`): planning adds the coordinators' escalation digests and
weekly summaries and leaves out the items of units that confirmed; a claim drops items
confirmed since it was planned, an escalation lists the units still unconfirmed when it
is sent, and a summary counts the confirmations known when it is sent.

A crash between claim and record leaves rows `sending`; the next process resends them
with the same Message-ID (see `scheduler.store`). The report counts emails (digests):
`planned` (new digests put in the ledger), `sent`, `failed`, `missed`, `retrying`, `late`.
`already_sent` is filled in by `simulate`, which knows the window it asked for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from scheduler.clock import Clock
from scheduler.config import Config
from scheduler.errors import DeliveryError
from scheduler.followup.escalation import (
    ESCALATION,
    ConfirmedKey,
    coordinator_digests,
    without_confirmed,
)
from scheduler.followup.mail import EscalationRenderer, SummaryRenderer
from scheduler.followup.summary import SUMMARY, summary_days
from scheduler.mail import Transport
from scheduler.mail.render import MessageRenderer
from scheduler.reminders import Digest, digest_subject, plan_reminders, send_days
from scheduler.store import Claim, Outcome, PlannedRow, Store
from scheduler.store.outage import describe, is_unavailable

log = logging.getLogger(__name__)

BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
# Windows searched, in turn, for the next planned send (days ahead).
_LOOKAHEAD_DAYS = (7, 45, 400)


@dataclass
class DeliveryReport:
    """What one run did, counted in emails (digests)."""

    planned: int = 0
    sent: int = 0
    already_sent: int = 0
    failed: int = 0
    missed: int = 0
    retrying: int = 0
    late: int = 0
    failures: list[str] = field(default_factory=list)   # "<digest key>: <error>"
    missed_keys: list[str] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        for name in ("planned", "sent", "failed", "missed", "retrying", "late"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failures.extend(other.failures)
        self.missed_keys.extend(other.missed_keys)

    def as_json(self) -> dict[str, int]:
        """`simulate`'s output object."""
        return {"planned": self.planned, "sent": self.sent, "already_sent": self.already_sent,
                "failed": self.failed, "missed": self.missed}


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 1 min doubling, capped at 1 h."""
    wait: timedelta = BACKOFF_FIRST * (2 ** min(attempts, 16))
    return min(wait, BACKOFF_CAP)


class Delivery:
    """Sends due reminders for one config; cheap to rebuild on a config reload."""

    def __init__(self, config: Config, ledger: Store, transport: Transport,
                 clock: Clock, batch_size: int | None = None) -> None:
        self.config = config
        self.ledger = ledger
        self.transport = transport
        self.clock = clock
        self.batch_size = batch_size or max(16, transport.concurrency * 8)
        self.renderer = MessageRenderer(config)
        self.escalation_renderer = EscalationRenderer(config)
        self.summary_renderer = SummaryRenderer(config)
        self._confirmed: frozenset[ConfirmedKey] | None = None
        self._unrecorded: list[Outcome] = []
        self._slots = asyncio.Semaphore(max(1, transport.concurrency))

    # -- planning ------------------------------------------------------------------------

    def plan_window(self, start: date, end: date) -> list[Digest]:
        """Put every reminder of [start, end] in the ledger (for `simulate`); the digests."""
        digests = self._planned(start, end)
        self.ledger.add(_rows(digests, self.config.reminders.grace_days))
        through = self.ledger.planned_through()
        if through is None or through < end:
            self.ledger.set_planned_through(end)
        return digests

    def _plan_until(self, today: date) -> int:
        """Plan every day since the last planned one, and today again: a config changed
        since (a reload, a restart) may have added reminders for today. Rows already in
        the ledger are left alone, so re-planning is harmless."""
        through = self.ledger.planned_through()
        start = (min(through + timedelta(days=1), today) if through is not None
                 else today - timedelta(days=self.config.reminders.grace_days))
        digests = self._planned(start, today)
        added = self.ledger.add(_rows(digests, self.config.reminders.grace_days))
        if through is None or through < today:
            self.ledger.set_planned_through(today)
        return len(digests) if added else 0

    def _planned(self, start: date, end: date) -> list[Digest]:
        """Reminders, escalations and weekly summaries of [start, end], without what units
        confirmed."""
        digests = plan_reminders(self.config, start, end) + coordinator_digests(self.config,
                                                                                 start, end)
        confirmed = self.confirmed_keys(start)
        kept = [d for d in (without_confirmed(d, confirmed) for d in digests) if d is not None]
        kept.sort(key=lambda d: d.send_at)
        return kept

    def confirmed_keys(self, around: date) -> frozenset[ConfirmedKey]:
        """(unit, event, due) of confirmations due within about a year of `around`; read
        once per delivery run."""
        if self._confirmed is None:
            span = timedelta(days=400)
            self._confirmed = frozenset(
                (c.unit, c.event, c.due)
                for c in self.ledger.confirmations(around - span, around + span))
        return self._confirmed

    # -- delivering ----------------------------------------------------------------------

    async def deliver_due(self, now: datetime, plan: bool = True) -> DeliveryReport:
        """Send everything due at or before `now`; see the module docstring.

        `plan=False` sends only what is already in the ledger (`simulate` plans its window
        itself, so that it sends exactly the reminders `plan` lists).
        """
        today = now.astimezone(self.config.timezone).date()
        self._confirmed = None
        report = DeliveryReport(planned=self._plan_until(today) if plan else 0)
        grace_start = today - timedelta(days=self.config.reminders.grace_days)
        missed = self.ledger.mark_missed(send_day_before=grace_start, today=today)
        for key in missed:
            log.warning("missed reminder %s: beyond the %d-day grace window or event over",
                        key, self.config.reminders.grace_days)
        report.missed, report.missed_keys = len(missed), missed
        plans: dict[date, dict[str, Digest]] = {}
        # Claims go a batch ahead (one transaction); each result is recorded as soon as the
        # loop sees it, together with whatever else finished meanwhile and the next claims
        # (one transaction): a crash re-sends only what was on the wire, and fsyncs grow
        # with wake-ups, not with messages.
        pending: set[asyncio.Task[Outcome | None]] = set()
        # Results a run cut short by a store outage could not record go first.
        finished, self._unrecorded = self._unrecorded, []
        retries: list[Outcome] = []
        leases = InFlight(self.ledger, self.clock)
        renewing = asyncio.ensure_future(leases.keep_renewed())
        try:
            await self._claim_and_send(now, today, report, plans, pending, finished,
                                       retries, leases)
        finally:
            renewing.cancel()
        self._report_outage(retries)
        self.ledger.set_last_delivery(now)
        return report

    async def _claim_and_send(self, now: datetime, today: date, report: DeliveryReport,
                              plans: dict[date, dict[str, Digest]],
                              pending: set[asyncio.Task[Outcome | None]],
                              finished: list[Outcome], retries: list[Outcome],
                              leases: InFlight) -> None:
        """`deliver_due`'s loop: claim a batch ahead, send, record each result."""
        more = True
        while True:
            room = self.batch_size - len(pending) if more and len(pending) <= \
                self.transport.concurrency else 0
            try:
                # Leases run from the clock's time, not the run's start: a long burst
                # must not claim with a lease already half spent.
                at = max(now, self.clock.now())
                # On a worker thread: the loop keeps sending while the commit's fsync
                # (or the database server's round trip) takes its time.
                claims = await asyncio.to_thread(self.ledger.claim_due, at, room, finished) \
                    if room or finished else []
                leases.recorded(finished)
                leases.add(claims, at)
                self._count(finished, report, today, retries)
                finished = []
                more = more and (room == 0 or len(claims) == room)
                for claim in claims:
                    digest = self._digest_for(claim, plans, today)
                    pending.add(asyncio.ensure_future(self._deliver_claim(claim, digest,
                                                                          now, leases)))
            except Exception:
                # The store stopped answering: let what is on the wire finish and keep
                # every result for the next run to record (nothing is sent twice for it;
                # claims not started stay leased to this node, and are taken again when
                # their lease runs out).
                await self._keep_unrecorded(finished, pending)
                raise
            if not pending:
                break
            try:
                done, pending = await asyncio.wait(pending,
                                                   return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:  # a stop: what is claimed stays in the ledger
                for task in pending:
                    task.cancel()
                raise
            finished = [o for o in (task.result() for task in done) if o is not None]

    async def _keep_unrecorded(self, finished: list[Outcome],
                               pending: set[asyncio.Task[Outcome | None]]) -> None:
        """Wait for the sends in progress and keep their results, with `finished`, for
        the next run to record."""
        if pending:
            await asyncio.wait(pending)
        outcomes = [*finished, *(o for o in (t.result() for t in pending) if o is not None)]
        self._unrecorded = outcomes + self._unrecorded
        if outcomes:
            log.warning("%d email result(s) not recorded yet (the store is not answering): "
                        "kept to record when it answers", len(outcomes))

    def adopt(self, old: Delivery) -> None:
        """Take over the results `old` could not record yet (a reload during an outage)."""
        self._unrecorded = old._unrecorded + self._unrecorded
        old._unrecorded = []

    @property
    def unrecorded(self) -> int:
        """Emails sent (or refused) whose result waits for the store."""
        return len(self._unrecorded)

    def _count(self, outcomes: list[Outcome], report: DeliveryReport, today: date,
               retries: list[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.result == "sent":
                report.sent += 1
                report.late += outcome.claim.send_day < today
            elif outcome.result == "failed":
                report.failed += 1
                report.failures.append(f"{outcome.claim.digest_key}: {outcome.error}")
            else:
                report.retrying += 1
                retries.append(outcome)

    def _report_outage(self, retries: list[Outcome]) -> None:
        """One warning per delivery run for every temporary failure in it (the detail of
        each digest is at debug): "mail server H:P unreachable: 33,550 emails waiting"."""
        if not retries:
            return
        server = getattr(self.transport, "server", self.transport.name)
        waiting = self.ledger.counts().get("planned", 0)
        next_try = min(o.retry_at or o.at for o in retries).astimezone(self.config.timezone)
        log.warning("mail server %s unreachable or deferring: %s emails failed for now "
                    "(%s reminders waiting); next try %s; last error: %s", server,
                    f"{len(retries):,}", f"{waiting:,}", next_try.strftime("%Y-%m-%d %H:%M"),
                    retries[-1].error)

    def _digest_for(self, claim: Claim, plans: dict[date, dict[str, Digest]],
                    today: date) -> Digest | None:
        """The claim's digest rebuilt from the current plan (only the claimed items)."""
        plan = plans.get(claim.send_day)
        if plan is None:
            plan = {d.key: d for d in plan_reminders(self.config, claim.send_day,
                                                     claim.send_day)}
            plan.update((d.key, d) for d in coordinator_digests(self.config, claim.send_day,
                                                                claim.send_day))
            plans[claim.send_day] = plan
        digest = plan.get(claim.digest_key)
        wanted = set(claim.reminder_keys)
        late = claim.send_day < today
        items = tuple(replace(item, late=late) for item in (digest.items if digest else ())
                      if item.key in wanted)
        narrowed = None
        if digest is not None and items:
            narrowed = without_confirmed(replace(digest, items=items),
                                         self.confirmed_keys(claim.send_day))
            items = narrowed.items if narrowed is not None else ()
        gone = wanted - {item.key for item in items}
        if gone:
            # The calendar or config changed since planning: nothing left to remind of.
            log.info("dropping %d reminder(s) no longer in the calendar: %s", len(gone),
                     ", ".join(sorted(gone)))
            self.ledger.forget(gone)
        if digest is None or not items:
            return None
        if narrowed is not None and digest.kind in (ESCALATION, SUMMARY):
            return narrowed
        return replace(digest, items=items,
                       subject=digest_subject(items, claim.send_day))

    async def _deliver_claim(self, claim: Claim, digest: Digest | None, now: datetime,
                             leases: InFlight | None = None) -> Outcome | None:
        if digest is None:
            if leases is not None:
                leases.drop(claim)
            return None
        # One slot per transport connection: the lease is checked right before the send,
        # not when the claim joined the queue.
        async with self._slots:
            if leases is not None and not leases.holds(claim):
                leases.drop(claim)
                return None     # another node has it now (same Message-ID): not ours
            return await self._send_claim(claim, digest, now)

    async def _send_claim(self, claim: Claim, digest: Digest, now: datetime
                          ) -> Outcome | None:
        try:
            if digest.kind == SUMMARY:
                message = self.summary_renderer.outgoing(
                    digest, claim.token, now, late=digest.late,
                    confirmed=self.confirmed_keys(claim.send_day))
            else:
                renderer = (self.escalation_renderer if digest.kind == ESCALATION
                            else self.renderer)
                message = renderer.outgoing(digest, claim.token, now, late=digest.late)
            await self.transport.send(message)
        except DeliveryError as exc:
            if exc.permanent:
                log.error("failed reminder %s to %s: %s", digest.key, digest.unit, exc)
                return Outcome(claim, "failed", now, str(exc))
            retry_at = now + backoff(claim.attempts)
            log.debug("temporary failure for %s to %s: %s; retrying at %s", digest.key,
                        digest.unit, exc, retry_at.isoformat(timespec="seconds"))
            return Outcome(claim, "retry", now, str(exc), retry_at)
        except Exception as exc:
            if is_unavailable(exc):
                # The store went away while rendering (the link-signing secret lives
                # there): nothing was sent, so it is tried again, not failed.
                retry_at = now + backoff(claim.attempts)
                log.debug("cannot render %s for %s, the store is unavailable: %s; retrying "
                          "at %s", digest.key, digest.unit, exc,
                          retry_at.isoformat(timespec="seconds"))
                return Outcome(claim, "retry", now, str(exc), retry_at)
            # A bug or a broken template must not leave the rows claimed ("sending") for
            # the life of the process: record it as failed, visibly.
            log.exception("failed reminder %s to %s: cannot render or send", digest.key,
                          digest.unit)
            return Outcome(claim, "failed", now, f"{type(exc).__name__}: {exc}")
        log.info("sent reminder %s to %s (%d item%s)%s", digest.key, digest.unit,
                 len(digest.items), "s" if len(digest.items) != 1 else "",
                 " late" if digest.late else "")
        return Outcome(claim, "sent", now)

    # -- questions -----------------------------------------------------------------------

    def next_send_time(self, after: datetime) -> datetime | None:
        """The next planned send time or retry strictly after `after`, or None."""
        candidates = [t for t in (self.ledger.next_attempt_after(after),
                                  self._next_planned(after)) if t is not None]
        return min(candidates) if candidates else None

    def _next_planned(self, after: datetime) -> datetime | None:
        """The first planned send time after `after`, from the calendar (no digest built)."""
        first = after.astimezone(self.config.timezone).date()
        for days in _LOOKAHEAD_DAYS:
            last = first + timedelta(days=days)
            for day in sorted(set(send_days(self.config, first, last))
                              | set(summary_days(self.config, first, last))):
                moment = datetime.combine(day, self.config.reminders.send_time,
                                          tzinfo=self.config.timezone)
                if moment > after:
                    return moment
        return None

    def counts(self) -> dict[str, int]:
        """Store rows per state (reminders, one row per unit × occurrence × lead)."""
        return {str(state): number for state, number in self.ledger.counts().items()}

    @property
    def last_delivery(self) -> datetime | None:
        return self.ledger.last_delivery()


class InFlight:
    """The claims one delivery run holds and until when, as far as this node knows: their
    leases are renewed every third of the lease (one store call for all of them); a claim
    the store says is no longer ours (another node took it over after our lease ran out)
    is logged and not sent."""

    def __init__(self, ledger: Store, clock: Clock) -> None:
        self.ledger = ledger
        self.clock = clock
        self.lease = ledger.lease
        self.claims: dict[str, Claim] = {}        # token → claim, until recorded
        self.until: dict[str, datetime] = {}      # token → lease end
        self.lost: set[str] = set()
        self._warned = False

    def add(self, claims: Sequence[Claim], at: datetime) -> None:
        for claim in claims:
            self.claims[claim.token] = claim
            self.until[claim.token] = at + self.lease

    def recorded(self, outcomes: Sequence[Outcome]) -> None:
        for outcome in outcomes:
            self.drop(outcome.claim)

    def drop(self, claim: Claim) -> None:
        """`claim` is no longer in flight here (recorded, dropped, or lost)."""
        self.claims.pop(claim.token, None)
        self.until.pop(claim.token, None)

    def holds(self, claim: Claim) -> bool:
        """Whether this node may still send `claim`."""
        if claim.token in self.lost:
            return False
        until = self.until.get(claim.token)
        if until is not None and self.clock.now() >= until:
            # Not renewed in time (the store was away): it may be another node's now.
            self._lose(claim, "its lease ran out before it could be renewed")
            return False
        return True

    def _lose(self, claim: Claim, why: str) -> None:
        if claim.token not in self.lost:
            self.lost.add(claim.token)
            log.warning("lease lost on %s (%d reminder%s): %s; another node sends it under "
                        "the same Message-ID", claim.digest_key, len(claim.reminder_keys),
                        "s" if len(claim.reminder_keys) != 1 else "", why)

    async def keep_renewed(self) -> None:
        """Renew the leases of the claims in flight, every third of the lease."""
        interval = max(0.1, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(interval)
            claims = [c for token, c in self.claims.items() if token not in self.lost]
            if claims:
                self.renew(claims)

    def renew(self, claims: list[Claim]) -> None:
        at = self.clock.now()
        try:
            gone = {claim.token for claim in self.ledger.renew(claims, at)}
        except Exception as exc:
            if not is_unavailable(exc):
                log.exception("renewing the leases of %d emails in progress failed",
                              len(claims))
            elif not self._warned:
                self._warned = True
                log.warning("cannot renew the leases of %d emails in progress: %s",
                            len(claims), describe(exc))
            return
        for claim in claims:
            if claim.token in gone:
                self._lose(claim, "the store no longer holds it for this node")
            else:
                self.until[claim.token] = at + self.lease


def _rows(digests: list[Digest], grace_days: int) -> list[PlannedRow]:
    # An overdue item's occurrence is over by design, and a summary's may end before it
    # (an ongoing campaign): only the grace window may miss them.
    return [PlannedRow(key=item.key, digest_key=d.key, unit=d.unit, send_at=d.send_at,
                       event_end=item.occurrence.end
                       if not item.overdue_days and d.kind != SUMMARY
                       else d.send_at.date() + timedelta(days=grace_days))
            for d in digests for item in d.items]
