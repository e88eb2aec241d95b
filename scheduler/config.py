"""Loading and validating a deployment: config.toml plus every calendar it lists.

TOML is parsed once, here, into frozen dataclasses; no other module sees a raw dict.
`load_config` reports every problem at once (`ConfigError.problems`), each with the
file, the line, the key, the value and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduler import converters
from scheduler.calendar import Calendar, read_calendar, read_unit
from scheduler.database_url import state_database
from scheduler.errors import ConfigError, Problem, display_path
from scheduler.i18n import N_, _
from scheduler.merge import check_references, merge_events, merge_units
from scheduler.model import ALL_UNITS, KINDS, Event, Kind, Unit
from scheduler.reader import Reader
from scheduler.tomlfile import TomlDoc, TomlProblem, load_toml
from scheduler.workdays import WorkingDays

NATIONAL = "national"
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
# `[followup] weekly_summary`: weekday names (English, or Vietnamese without diacritics).
SUMMARY_WEEKDAYS = MappingProxyType({name: index for index, names in enumerate((
    ("monday", "thu-hai"), ("tuesday", "thu-ba"), ("wednesday", "thu-tu"),
    ("thursday", "thu-nam"), ("friday", "thu-sau"), ("saturday", "thu-bay"),
    ("sunday", "chu-nhat"))) for name in names})
DEFAULT_LEAD_DAYS: Mapping[Kind, tuple[int, ...]] = MappingProxyType({
    "observance": (7, 1),
    "campaign": (30, 7, 0),
    "deadline": (14, 7, 3, 1, 0),
    "activity": (7, 1),
})

NO_CONFIG = N_("file not found: name the config with --config PATH or $LICHNHAC_CONFIG "
               "(default: ./config.toml); to start, copy the "
               "example config.toml and calendars/ from the lichnhac sources, edit the "
               "[[unit]] tables and run `lichnhac --config config.toml check`")
NO_UNITS = N_("no units: a deployment needs at least one [[unit]] in {file} or in a calendar "
              "it lists (an empty or truncated config is not a deployment)")
TOP_KEYS = frozenset({
    "timezone", "calendars", "disable_events", "coordinator", "state", "web", "mail",
    "reminders", "feeds", "workdays", "log", "unit", "followup",
})


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str = "http://127.0.0.1:8080"
    private_feeds: bool = False
    workers: int | None = None  # serving processes; None = "auto" (one per usable CPU)


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "localhost"
    port: int = 25
    security: str = "none"  # none | starttls | tls
    username: str | None = None
    password_file: Path | None = None
    timeout_seconds: float = 30.0
    max_connections: int = 4
    max_per_second: float = 20.0


@dataclass(frozen=True)
class MailConfig:
    sender: str = "Lịch nhắc <nhaclich@example.gov.vn>"
    transport: str = "outbox"  # outbox | smtp
    reply_to: str | None = None
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    templates: Path | None = None  # a directory whose reminder*.j2 override the shipped ones


@dataclass(frozen=True)
class ReminderPolicy:
    send_time: time = time(8, 0)
    lead_days: Mapping[Kind, tuple[int, ...]] = field(default_factory=lambda: DEFAULT_LEAD_DAYS)
    grace_days: int = 3

    def leads_for(self, event: Event) -> tuple[int, ...]:
        """The event's own lead days if it sets them, else its kind's."""
        return event.lead_days if event.lead_days is not None else self.lead_days[event.kind]


@dataclass(frozen=True)
class FeedsConfig:
    past_years: int = 1
    future_years: int = 1
    alarm_days: int | None = None  # a VALARM this many days before; None: no alarm
    refresh_hours: int = 6


@dataclass(frozen=True)
class FollowupConfig:
    """`[followup]`: which occurrences need a "report sent" confirmation, and what happens
    when none comes (see `scheduler.followup`)."""

    enabled: bool = False                          # absent section: no follow-up
    kinds: tuple[Kind, ...] = ("deadline",)
    include_events: frozenset[str] = frozenset()   # need a confirmation whatever their kind
    exclude_events: frozenset[str] = frozenset()   # never need one
    overdue_days: tuple[int, ...] = (1, 3, 7)      # working days after the due day
    escalate: bool = True
    link_valid_days: int = 30                      # after the last overdue day
    weekly_summary: int | None = None              # weekday (0 = Monday) or None: off


@dataclass(frozen=True)
class Config:
    """A whole, validated deployment."""

    path: Path
    timezone_name: str = DEFAULT_TIMEZONE
    calendars: tuple[str, ...] = (NATIONAL,)
    state_dir: Path = Path("var")
    database_url: str | None = field(default=None, repr=False)   # None: SQLite in state_dir
    lease_seconds: int = 120
    web: WebConfig = field(default_factory=WebConfig)
    mail: MailConfig = field(default_factory=MailConfig)
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    feeds: FeedsConfig = field(default_factory=FeedsConfig)
    followup: FollowupConfig = field(default_factory=FollowupConfig)
    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    log_level: str = "info"
    coordinator: str | None = None
    units: tuple[Unit, ...] = ()
    events: tuple[Event, ...] = ()
    files: tuple[str, ...] = ()
    warnings: tuple[Problem, ...] = ()

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone_name)

    def workdays(self) -> WorkingDays:
        return WorkingDays(self.days_off, self.working_days)

    def unit(self, unit_id: str) -> Unit | None:
        return self._units_by_id.get(unit_id)

    @property
    def _units_by_id(self) -> Mapping[str, Unit]:
        cached: Mapping[str, Unit] | None = self.__dict__.get("_by_id")
        if cached is None:
            cached = {u.id: u for u in self.units}
            object.__setattr__(self, "_by_id", cached)
        return cached

    def groups(self) -> dict[str, tuple[str, ...]]:
        """Group name → unit ids, in config order; `all` is every unit."""
        groups: dict[str, list[str]] = {ALL_UNITS: [u.id for u in self.units]}
        for unit in self.units:
            for group in unit.groups:
                groups.setdefault(group, []).append(unit.id)
        return {name: tuple(ids) for name, ids in groups.items()}


def national_calendar_path() -> Path:
    """The national calendar shipped as package data."""
    return Path(str(resources.files("scheduler") / "data" / "national.toml"))


def default_config_path(explicit: str | None, environ: Mapping[str, str]) -> Path:
    """`--config`, else `$LICHNHAC_CONFIG`, else `./config.toml`."""
    return Path(explicit or environ.get("LICHNHAC_CONFIG") or "config.toml")


class _ConfigReader(Reader):
    """Reads config.toml's own sections."""

    def web(self, data: dict[str, Any]) -> WebConfig:
        section = self.table((), data, "web", "config")
        self.check_keys(("web",), section, {"listen", "base_url", "private_feeds", "workers"},
                         "[web]")
        host, port = WebConfig.host, WebConfig.port
        listen = self.value(("web",), section, "listen", str, "[web]", default=None)
        if listen is not None:
            parsed = self.convert(("web",), "listen", listen, converters.listen_address, "[web]")
            if parsed:
                host, port = parsed
        base = self.value(("web",), section, "base_url", str, "[web]", default=None)
        base_url = f"http://{host}:{port}" if base is None else (
            self.convert(("web",), "base_url", base, converters.http_url, "[web]") or "")
        private = self.value(("web",), section, "private_feeds", bool, "[web]", default=False)
        raw = self.value(("web",), section, "workers", (str, int), "[web]", default="auto")
        workers = self.convert(("web",), "workers", raw, converters.worker_count, "[web]")
        return WebConfig(host=host, port=port, base_url=base_url, private_feeds=private,
                         workers=workers)

    def mail(self, data: dict[str, Any], base: Path) -> MailConfig:
        section = self.table((), data, "mail", "config")
        self.check_keys(("mail",), section, {"from", "transport", "reply_to", "smtp", "templates"},
                        "[mail]")
        sender = self.value(("mail",), section, "from", str, "[mail]", default=MailConfig.sender)
        self._check_mailbox(("mail", "from"), "from", sender)
        reply_to = self.value(("mail",), section, "reply_to", str, "[mail]", default=None)
        if reply_to is not None:
            self._check_mailbox(("mail", "reply_to"), "reply_to", reply_to)
        transport = self.value(("mail",), section, "transport", str, "[mail]", default="outbox")
        if transport not in ("outbox", "smtp"):
            self.error(("mail", "transport"), _('[mail]: transport "{value}" is not a '
                                                'transport: expected "outbox" or "smtp"')
                       .format(value=transport))
            transport = "outbox"
        templates = self.value(("mail",), section, "templates", str, "[mail]", default=None)
        if templates is not None:
            templates = self.convert(("mail",), "templates", templates, converters.path_text,
                                     "[mail]")
        if templates is not None and not (base / templates).is_dir():
            self.error(("mail", "templates"), _('[mail]: templates "{value}" is not a '
                                                "directory: expected a folder of reminder*.j2")
                       .format(value=templates))
        return MailConfig(sender=sender, transport=transport, reply_to=reply_to,
                          smtp=self.smtp(section, base),
                          templates=(base / templates) if templates else None)

    def _check_mailbox(self, path: tuple[str, ...], key: str, value: str) -> None:
        address = converters.split_mailbox(value)[1]
        if any(c in value for c in "\r\n") or not _is_address(address):
            self.error(path, _('[mail]: {key} "{value}" is not an address: expected '
                               '"Name <user@example.gov.vn>" or "user@example.gov.vn"')
                       .format(key=key, value=value))

    def smtp(self, mail: dict[str, Any], base: Path) -> SmtpConfig:
        path = ("mail", "smtp")
        section = self.table(("mail",), mail, "smtp", "[mail]")
        keys = {"host", "port", "security", "username", "password_file", "timeout_seconds",
                "max_connections", "max_per_second"}
        self.check_keys(path, section, keys, "[mail.smtp]")
        where = "[mail.smtp]"
        d = SmtpConfig()
        host = self.value(path, section, "host", str, where, default=d.host)
        port = self.value(path, section, "port", int, where, default=d.port)
        if not 0 < port < 65536:
            self.error((*path, "port"), _("{where}: port {port} is not a port: expected "
                                          "1-65535").format(where=where, port=port))
        security = self.value(path, section, "security", str, where, default=d.security)
        if security not in ("none", "starttls", "tls"):
            self.error((*path, "security"), _('{where}: security "{value}" is not a mode: '
                                              'expected "none", "starttls" or "tls"')
                       .format(where=where, value=security))
        username = self.value(path, section, "username", str, where, default=None)
        password_file = self.value(path, section, "password_file", str, where, default=None)
        if password_file is not None:
            password_file = self.convert(path, "password_file", password_file,
                                         converters.path_text, where)
        if username and not password_file:
            self.error((*path, "username"), _("{where}: username needs password_file "
                                              "(the password is never written in config)")
                       .format(where=where))
        timeout = self.value(path, section, "timeout_seconds", (int, float), where,
                             default=d.timeout_seconds)
        connections = self.value(path, section, "max_connections", int, where,
                                 default=d.max_connections)
        rate = self.value(path, section, "max_per_second", (int, float), where,
                          default=d.max_per_second)
        for key, number in (("timeout_seconds", timeout), ("max_connections", connections),
                            ("max_per_second", rate)):
            if not (number > 0 and math.isfinite(number)):  # nan and inf are TOML floats
                self.error((*path, key), _("{where}: {key} {number} must be a finite number "
                                           "greater than 0")
                           .format(where=where, key=key, number=number))
        return SmtpConfig(host=host, port=port, security=security, username=username,
                          password_file=(base / password_file) if password_file else None,
                          timeout_seconds=float(timeout), max_connections=connections,
                          max_per_second=float(rate))

    def reminders(self, data: dict[str, Any]) -> ReminderPolicy:
        path = ("reminders",)
        section = self.table((), data, "reminders", "config")
        self.check_keys(path, section, {"send_time", "grace_days", "lead_days"}, "[reminders]")
        where = "[reminders]"
        send_time = ReminderPolicy.send_time
        raw_time = self.value(path, section, "send_time", str, where, default=None)
        if raw_time is not None:
            send_time = self.convert(path, "send_time", raw_time, converters.clock_time,
                                     where) or send_time
        grace = self.value(path, section, "grace_days", int, where, default=3)
        if not 0 <= grace <= 60:
            self.error((*path, "grace_days"), _("{where}: grace_days {number} must be 0..60")
                       .format(where=where, number=grace))
        leads = dict(DEFAULT_LEAD_DAYS)
        table = self.table(path, section, "lead_days", where)
        self.check_keys((*path, "lead_days"), table, KINDS, "[reminders.lead_days]")
        for kind in KINDS:
            if kind in table:
                value = self.convert((*path, "lead_days"), kind, table[kind],
                                     converters.lead_days, "[reminders.lead_days]")
                if value is not None:
                    leads[kind] = value
        return ReminderPolicy(send_time=send_time, lead_days=MappingProxyType(leads),
                              grace_days=grace)

    def feeds(self, data: dict[str, Any]) -> FeedsConfig:
        path = ("feeds",)
        section = self.table((), data, "feeds", "config")
        keys = {"past_years", "future_years", "alarm_days", "refresh_hours"}
        self.check_keys(path, section, keys, "[feeds]")
        d = FeedsConfig()
        past = self.value(path, section, "past_years", int, "[feeds]", default=d.past_years)
        future = self.value(path, section, "future_years", int, "[feeds]",
                            default=d.future_years)
        alarm = self.value(path, section, "alarm_days", int, "[feeds]", default=None)
        refresh = self.value(path, section, "refresh_hours", int, "[feeds]",
                             default=d.refresh_hours)
        for key, number, low, high in (("past_years", past, 0, 5), ("future_years", future, 0, 5),
                                       ("refresh_hours", refresh, 1, 168)):
            if not low <= number <= high:
                self.error((*path, key), _("[feeds]: {key} {number} must be {low}..{high}")
                           .format(key=key, number=number, low=low, high=high))
        if alarm is not None and not 0 <= alarm <= 60:
            self.error((*path, "alarm_days"), _("[feeds]: alarm_days {number} must be 0..60")
                       .format(number=alarm))
        return FeedsConfig(past_years=past, future_years=future, alarm_days=alarm,
                           refresh_hours=refresh)

    def followup(self, data: dict[str, Any]) -> FollowupConfig:
        path = ("followup",)
        where = "[followup]"
        section = self.table((), data, "followup", "config")
        keys = {"enabled", "kinds", "include_events", "exclude_events", "overdue_days",
                "escalate", "link_valid_days", "weekly_summary"}
        self.check_keys(path, section, keys, where)
        d = FollowupConfig()
        enabled = self.value(path, section, "enabled", bool, where, default=d.enabled)
        kinds: list[Kind] = []
        for kind in self.string_list(path, section, "kinds", where) if "kinds" in section \
                else d.kinds:
            if kind in KINDS:
                kinds.append(kind)
            else:
                self.error((*path, "kinds"), _('{where}: kinds "{kind}" is not a kind: '
                                               "expected some of {kinds}")
                           .format(where=where, kind=kind, kinds=", ".join(KINDS)))
        include = self.string_list(path, section, "include_events", where)
        exclude = self.string_list(path, section, "exclude_events", where)
        for event_id in set(include) & set(exclude):
            self.error((*path, "exclude_events"), _('{where}: event "{event}" is both in '
                                                    "include_events and exclude_events")
                       .format(where=where, event=event_id))
        overdue = d.overdue_days
        if "overdue_days" in section:
            raw = section["overdue_days"]
            if not isinstance(raw, list) or not all(type(x) is int and 1 <= x <= 60
                                                    for x in raw):
                self.error((*path, "overdue_days"), _("{where}: overdue_days {value} is not "
                                                      "a list of working days: expected "
                                                      "numbers 1..60 such as [1, 3, 7]")
                           .format(where=where, value=repr(raw)))
            else:
                overdue = tuple(sorted(set(raw)))
        escalate = self.value(path, section, "escalate", bool, where, default=d.escalate)
        valid = self.value(path, section, "link_valid_days", int, where,
                           default=d.link_valid_days)
        if not 1 <= valid <= 366:
            self.error((*path, "link_valid_days"), _("{where}: link_valid_days {number} must "
                                                     "be 1..366").format(where=where,
                                                                         number=valid))
        weekly = d.weekly_summary
        raw_weekly = section.get("weekly_summary", False)
        if raw_weekly is not False:
            if isinstance(raw_weekly, str) and raw_weekly.strip().lower() in SUMMARY_WEEKDAYS:
                weekly = SUMMARY_WEEKDAYS[raw_weekly.strip().lower()]
            else:
                self.error((*path, "weekly_summary"),
                           _('{where}: weekly_summary {value} is not a weekday: expected false '
                             'or a name such as "monday" or "thu-hai"')
                           .format(where=where, value=repr(raw_weekly)))
        return FollowupConfig(enabled=enabled, kinds=tuple(kinds),
                              include_events=frozenset(include),
                              exclude_events=frozenset(exclude), overdue_days=overdue,
                              escalate=escalate, link_valid_days=valid,
                              weekly_summary=weekly)

    def workdays(self, data: dict[str, Any]) -> tuple[frozenset[date], frozenset[date]]:
        path = ("workdays",)
        section = self.table((), data, "workdays", "config")
        self.check_keys(path, section, {"days_off", "working_days"}, "[workdays]")
        sets: list[frozenset[date]] = []
        for key in ("days_off", "working_days"):
            raw = section.get(key, [])
            days: list[date] = []
            if not isinstance(raw, list):
                self.error((*path, key), _("[workdays]: {key} must be a list of dates")
                           .format(key=key))
            else:
                for item in raw:
                    value = self.convert(path, key, item, converters.iso_date, "[workdays]")
                    if value:
                        days.append(value)
            sets.append(frozenset(days))
        both = sets[0] & sets[1]
        for day in sorted(both):
            self.error((*path, "working_days"), _("[workdays]: {day} is both a day off and a "
                                                  "working day").format(day=day.isoformat()))
        return sets[0], sets[1]


def _is_address(address: str) -> bool:
    try:
        converters.email_address(address)
    except ValueError:
        return False
    return True


def _resolve_calendar(ref: str, base: Path) -> Path:
    if ref == NATIONAL:
        return national_calendar_path()
    return base / ref


def load_config(path: Path, calendars: Sequence[str] | None = None,
                allow_missing: bool = False) -> Config:
    """Load config and calendars; raise `ConfigError` listing every problem.

    `calendars` replaces the configured list (paths relative to the working directory).
    With `allow_missing`, an absent config file means the embedded defaults.
    """
    problems: list[Problem] = []
    base = path.parent
    shown = display_path(path)
    data: dict[str, Any] = {}
    doc: TomlDoc | None = None
    if allow_missing and not path.exists():
        doc = TomlDoc(path=path, name=shown, data={}, text="")
    else:
        try:
            doc = load_toml(path, shown)
        except TomlProblem as exc:
            if exc.problem.message == _("file not found"):
                raise ConfigError([Problem(shown, 0, _(NO_CONFIG))]) from None
            raise ConfigError([exc.problem]) from None
    data = doc.data
    reader = _ConfigReader(doc, problems)
    reader.check_keys((), data, TOP_KEYS, "config")

    tz_name = reader.value((), data, "timezone", str, "config", default=DEFAULT_TIMEZONE)
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long
        reader.error(("timezone",), _('timezone "{value}" is not a known timezone: expected '
                                      'an IANA name such as "{example}"')
                     .format(value=tz_name, example=DEFAULT_TIMEZONE))
        tz_name = DEFAULT_TIMEZONE

    state = reader.table((), data, "state", "config")
    reader.check_keys(("state",), state, {"dir", "database", "database_file", "lease_seconds"},
                      "[state]")
    state_text = reader.value(("state",), state, "dir", str, "[state]", default="var")
    state_dir = base / (reader.convert(("state",), "dir", state_text, converters.path_text,
                                       "[state]") or "var")
    database_url, lease_seconds = state_database(reader, state, base)

    log = reader.table((), data, "log", "config")
    reader.check_keys(("log",), log, {"level"}, "[log]")
    log_level = reader.value(("log",), log, "level", str, "[log]", default="info")
    if log_level not in ("debug", "info", "warning", "error"):
        reader.error(("log", "level"), _('[log]: level "{value}" is not a level: expected '
                                         '"debug", "info", "warning" or "error"')
                     .format(value=log_level))
        log_level = "info"

    web = reader.web(data)
    mail = reader.mail(data, base)
    reminders = reader.reminders(data)
    feeds = reader.feeds(data)
    followup = reader.followup(data)
    days_off, working_days = reader.workdays(data)

    config_units: dict[str, Unit] = {}
    raw_units = data.get("unit", [])
    for index, table in enumerate(raw_units if isinstance(raw_units, list) else []):
        unit = read_unit(reader, ("unit", index), table) if isinstance(table, dict) else None
        if unit is None:
            continue
        if unit.id in config_units:
            reader.error(("unit", index, "id"), _('unit "{id}": duplicate id, first defined '
                                                  "at {where}")
                         .format(id=unit.id, where=config_units[unit.id].source))
            continue
        config_units[unit.id] = unit

    if calendars is None:
        refs = reader.string_list((), data, "calendars", "config") if "calendars" in data \
            else [NATIONAL]
        refs = reader.each_string((), "calendars", refs, converters.path_text, "config")
        calendar_paths = [(ref, _resolve_calendar(ref, base)) for ref in refs]
    else:
        calendar_paths = [(ref, _resolve_calendar(ref, Path.cwd())) for ref in calendars]

    files = [shown]
    loaded: list[tuple[Calendar, Reader]] = []
    for ref, cal_path in calendar_paths:
        cal_name = display_path(cal_path)
        try:
            cal_doc = load_toml(cal_path, cal_name)
        except TomlProblem as exc:
            if exc.problem.line == 0 and calendars is None:
                line = doc.line_of_value(("calendars",), ref)
                problems.append(Problem(shown, line, _('calendar "{ref}": {file}: {message}')
                                        .format(ref=ref, file=exc.problem.file,
                                                message=exc.problem.message)))
            else:
                problems.append(exc.problem)
            continue
        cal_reader = Reader(cal_doc, problems)
        loaded.append((read_calendar(cal_reader), cal_reader))
        files.append(cal_name)

    units = merge_units(config_units, [c for c, _ in loaded])
    events = merge_events([c for c, _ in loaded])
    disabled = reader.string_list((), data, "disable_events", "config")
    for event_id in disabled:
        if event_id not in events:
            reader.error(("disable_events",), _('disable_events: no event "{event}" in the '
                                                "calendars").format(event=event_id))
    for event_id in disabled:
        events.pop(event_id, None)
    for key in ("include_events", "exclude_events"):
        for event_id in sorted(getattr(followup, key) - set(events)):
            reader.error(("followup", key), _('[followup]: {key}: no event "{event}" in the '
                                              "calendars").format(key=key, event=event_id))

    if not units and path.exists():
        # A config that names no calendar and no unit (empty, comment-only, cut short) is
        # refused; one that names calendars without units (checking a draft calendar) is
        # warned about. A reload that drops most units is refused anyway (`removals`).
        if "calendars" in data and calendars is None:
            reader.warning((), _(NO_UNITS).format(file=shown))
        else:
            reader.error((), _(NO_UNITS).format(file=shown))
    known = {u.id for u in units}
    groups = {g for u in units for g in u.groups} | {ALL_UNITS}
    coordinator = reader.value((), data, "coordinator", str, "config", default=None)
    if coordinator is not None and coordinator not in known:
        reader.error(("coordinator",), _('coordinator "{id}" is not a unit id')
                     .format(id=coordinator) + converters.did_you_mean(coordinator, known))
        coordinator = None
    readers = {c.name: r for c, r in loaded}
    for event in events.values():
        check_references(readers[event.file], event, known, groups)

    if problems:
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise ConfigError(sorted(problems, key=lambda p: (files.index(p.file)
                                                              if p.file in files else 99,
                                                              p.line, p.message)))
    warnings = [p for p in problems if p.severity == "warning"]
    for unit in units:
        if not unit.emails:
            where = unit.source.rsplit(":", 1)
            warnings.append(Problem(where[0], int(where[1]),
                                    _('unit "{id}" has no email: it gets feeds but no '
                                      "reminders").format(id=unit.id), "warning"))
    return Config(
        path=path, timezone_name=tz_name, calendars=tuple(r for r, _ in calendar_paths),
        state_dir=state_dir, web=web, mail=mail, reminders=reminders, feeds=feeds,
        database_url=database_url, lease_seconds=lease_seconds,
        followup=followup,
        days_off=days_off, working_days=working_days, log_level=log_level,
        coordinator=coordinator, units=tuple(units), events=tuple(events.values()),
        files=tuple(files), warnings=tuple(warnings),
    )
