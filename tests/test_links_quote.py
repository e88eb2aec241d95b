"""The Outlook subscribe links quote a feed URL with its shared base quoted once; the
result must be what quoting the whole URL gives, for any URL."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.links import Subscription, _quote_url


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_quoting_a_url_in_two_halves_gives_the_quote_of_the_whole(url: str) -> None:
    assert _quote_url(url) == quote(url, safe="")


def test_both_outlook_links_carry_the_quoted_url_and_name() -> None:
    sub = Subscription("Trường Tiểu học xã 5 & co", "https://lich.example.vn/feeds/units/x.ics")
    query = ("?url=https%3A%2F%2Flich.example.vn%2Ffeeds%2Funits%2Fx.ics"
             "&name=Tr%C6%B0%E1%BB%9Dng%20Ti%E1%BB%83u%20h%E1%BB%8Dc%20x%C3%A3%205%20%26%20co")
    assert sub.outlook_live == "https://outlook.live.com/calendar/0/addfromweb" + query
    assert sub.outlook_365 == "https://outlook.office.com/calendar/0/addfromweb" + query
