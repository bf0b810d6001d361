"""Price words in a buyer's query: "headphones under 300", "500元以下 耳机", "cheap sofa".

A bound (under, below, less than, 以下, 以内, 低于, 不超过; over, above, more than, 以上,
高于, 超过; between A and B, A-B元, A到B元) becomes a price filter on the result page and its
facets, as if the buyer had picked it, and leaves the words it was made of out of the
matching. A cheap word (cheap, budget, affordable, 便宜, 实惠, 平价) keeps the cheaper half of
the matches (at or under their median lowest price), still in relevance order: "cheap" is
relative to what was searched for, a cheap sofa costs more than cheap headphones.

A number with no price word next to it ("iphone 15", "WH-1000XM5") is a word like any
other: only a bound says the number is a price.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

_AMOUNT = r"(?:[¥￥$]\s*)?(\d{1,9}(?:\.\d{1,2})?)\s*(?:元|块钱?|rmb|cny|yuan|dollars?)?"
_CURRENCY = r"(?:元|块钱?|rmb|cny|yuan|dollars?)"
_BELOW_EN = r"under|below|less than|cheaper than|at most|up to|max(?:imum)?|<=?"
_ABOVE_EN = r"over|above|more than|at least|min(?:imum)?|from|>=?"
# Each pattern sets "low" and/or "high"; they are tried in order on the lower-cased query.
_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(rf"\bbetween\s+{_AMOUNT}\s+and\s+{_AMOUNT}"),
    re.compile(
        rf"(?:[¥￥$]\s*)?(\d{{1,9}}(?:\.\d{{1,2}})?)\s*{_CURRENCY}?\s*(?:-|~|到|至)\s*"
        rf"(?:[¥￥$]\s*)?(\d{{1,9}}(?:\.\d{{1,2}})?)\s*{_CURRENCY}"
    ),
    re.compile(
        r"[¥￥$]\s*(\d{1,9}(?:\.\d{1,2})?)\s*(?:-|~|到|至)\s*[¥￥$]?\s*"
        r"(\d{1,9}(?:\.\d{1,2})?)"
    ),
    re.compile(rf"(?<![a-z])(?:{_BELOW_EN})\s*{_AMOUNT}"),
    re.compile(rf"(?<![a-z])(?:{_ABOVE_EN})\s*{_AMOUNT}"),
    re.compile(rf"(?:低于|不超过|不到|少于|小于|最多)\s*{_AMOUNT}(?:以下|以内)?"),
    re.compile(rf"(?:高于|超过|大于|多于|至少)\s*{_AMOUNT}(?:以上)?"),
    re.compile(rf"{_AMOUNT}\s*(?:以下|以内|之内)"),
    re.compile(rf"{_AMOUNT}\s*(?:以上|起)"),
)
_BELOW = {3, 5, 7}  # patterns whose single amount is an upper bound (0-2 are ranges)
_CHEAP = re.compile(
    r"\b(?:cheap(?:est)?|budget|affordable|inexpensive|low[- ]cost|low[- ]price[d]?)\b"
    r"|便宜|实惠|平价|低价|性价比"
)


@dataclass(frozen=True, slots=True)
class PriceWords:
    """What the query said of price, and the query without those words."""

    text: str
    low: Decimal | None = None
    high: Decimal | None = None
    cheap: bool = False

    @property
    def found(self) -> bool:
        return self.low is not None or self.high is not None or self.cheap


def price_words(query: str) -> PriceWords:
    """The price bound and cheap words of a query, taken out of its text."""
    text = query.lower()
    low: Decimal | None = None
    high: Decimal | None = None
    for n, pattern in enumerate(_PATTERNS):
        found = pattern.search(text)
        if found is None:
            continue
        amounts = [Decimal(a) for a in found.groups() if a is not None]
        if len(amounts) == 2:
            low, high = min(amounts), max(amounts)
        elif n in _BELOW:
            high = amounts[0]
        else:
            low = amounts[0]
        text = text[: found.start()] + " " + text[found.end() :]
        break
    cheap = _CHEAP.search(text) is not None
    if cheap:
        text = _CHEAP.sub(" ", text)
    return PriceWords(" ".join(text.split()), low, high, cheap)
