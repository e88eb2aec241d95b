"""The follow-up URLs: a unit's confirm link and a coordinator's register link.

    /xac-nhan/<token>            confirm page (token: `signing`, 44 characters)
    /so-theo-doi/<token>         a coordinator's register (capability token, 24 characters,
                                 kept like private feed tokens, in the store's
                                 `register-tokens` document)
"""

from __future__ import annotations

from datetime import date

from scheduler.config import Config
from scheduler.followup.policy import due_day, link_expiry
from scheduler.followup.signing import LinkClaim, load_secrets, sign
from scheduler.model import Occurrence
from scheduler.store.documents import documents
from scheduler.tokens import unit_token

CONFIRM_PREFIX = "/xac-nhan/"
REGISTER_PREFIX = "/so-theo-doi/"
REGISTER_TOKENS = "register-tokens"


def confirm_claim(config: Config, unit: str, event: str, due: date) -> LinkClaim:
    """What a confirm link for (unit, occurrence due on `due`) asserts."""
    return LinkClaim(unit, event, due, link_expiry(config, due, config.workdays()))


def confirm_url(config: Config, unit: str, occurrence: Occurrence) -> str:
    """The confirm link of `unit` for `occurrence` (signs with the store's secret)."""
    claim = confirm_claim(config, unit, occurrence.event.id, due_day(occurrence))
    token = sign(load_secrets(documents(config), config.state_dir).current, claim)
    return config.web.base_url + CONFIRM_PREFIX + token


def coordinator_ids(config: Config) -> list[str]:
    """Every unit that coordinates some event (the config's coordinator, `report_to`s)."""
    ids = {e.report_to for e in config.events if e.report_to}
    if config.coordinator:
        ids.add(config.coordinator)
    return sorted(i for i in ids if config.unit(i) is not None)


def register_token(config: Config, coordinator: str) -> str:
    """The coordinator's register token (created on first need)."""
    return unit_token(documents(config), config.state_dir, coordinator,
                      coordinator_ids(config), prefix=REGISTER_TOKENS)


def register_url(config: Config, coordinator: str) -> str:
    """The private URL of `coordinator`'s register."""
    return config.web.base_url + REGISTER_PREFIX + register_token(config, coordinator)
