"""Which of the shop's languages a request is answered in, from its Accept-Language.

RFC 9110's rules, as browsers send them: each range has a weight (``q``, 1 when absent;
``q=0`` means "not this one"), the heaviest acceptable range wins, and a range matches a
language equal to it or beginning with it and a hyphen (``en`` takes ``en``, ``zh``
takes ``zh-CN``). A range names a shop language's region or script too: ``en-US`` is
answered in ``en``, ``zh-Hans`` and ``zh-SG`` in ``zh-CN`` (Simplified Chinese), but
``zh-TW`` and ``zh-Hant`` (Traditional) are not: they fall back like any language the shop
does not offer, to the next range the buyer listed, then to the shop's default.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_RANGES = 20  # a header is a handful of ranges; more is noise, not preference
# Ranges that mean Simplified Chinese however they are written.
_SIMPLIFIED = ("zh-hans", "zh-cn", "zh-sg", "zh-my")


def _ranges(header: str) -> list[tuple[str, float, int]]:
    """(range, weight, position) for each well-formed range, in the order sent."""
    found: list[tuple[str, float, int]] = []
    for position, part in enumerate(header.split(",")[:MAX_RANGES]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or len(tag) > 35:
            continue
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0  # a weight nobody can read is no preference
        if 0.0 < weight <= 1.0:
            found.append((tag, weight, position))
    return found


def _match(tag: str, offered: Sequence[str], default: str) -> str | None:
    if tag == "*":
        return default
    lowered = {language.lower(): language for language in offered}
    if tag in lowered:
        return lowered[tag]
    for language in offered:  # a range naming a language more broadly: zh, en
        if language.lower().startswith(tag + "-"):
            return language
    primary = tag.split("-")[0]
    if primary == "zh" and not any(tag.startswith(s) for s in _SIMPLIFIED):
        return None  # Traditional Chinese is not Simplified Chinese with another region
    for language in offered:  # a range more specific than the shop's: en-US, zh-Hans-CN
        if language.lower() == primary or (
            primary == "zh" and language.lower() in ("zh-cn", "zh-hans")
        ):
            return language
    return None


def negotiate(header: str | None, offered: Sequence[str], default: str) -> str:
    """The language a request is answered in: the buyer's heaviest acceptable range the
    shop offers (the first sent, among equals), else ``default``."""
    if not header:
        return default
    ranked = sorted(_ranges(header), key=lambda r: (-r[1], r[2]))
    for tag, _, _ in ranked:
        language = _match(tag, offered, default)
        if language is not None:
            return language
    return default
