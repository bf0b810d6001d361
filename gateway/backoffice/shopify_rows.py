"""Reading a product CSV as Shopify exports it: records (a quoted description may span
lines), grouped by Handle, each group made into a product draft checked by productCreate's
and skuCreate's own rules (gateway/backoffice/catalog_manage.py).

Shopify's format, as its help centre documents it: one row per variant, the product's
fields on its first row only; continuation rows carry only variant or image columns;
Option1..3 Name on the first row, each variant's values on its own row ("Title" /
"Default Title" is the one variant of a product without options); Image Src rows add
pictures, Variant Image is a variant's own. Columns we have no place for (Google Shopping,
Gift Card, Variant Barcode, ...) are read past.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import nh3

from sources.catalog.import_records import ImageDraft, ProductDraft, VariantDraft
from sources.catalog.records import ProductFields, ProductOption, SelectedOption, SkuFields
from sources.common.batches import RowError

from ..errors import Problem, UserErrorCode
from .catalog_manage import product_problems, sku_problems
from .catalog_writes import MAX_AMOUNT

# Shopify's product CSV columns (the sample file of its product import), in its order.
SHOPIFY_COLUMNS = (
    "Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags",
    "Published", "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value",
    "Option3 Name", "Option3 Value", "Variant SKU", "Variant Grams",
    "Variant Inventory Tracker", "Variant Inventory Qty", "Variant Inventory Policy",
    "Variant Fulfillment Service", "Variant Price", "Variant Compare At Price",
    "Variant Requires Shipping", "Variant Taxable", "Variant Barcode", "Image Src",
    "Image Position", "Image Alt Text", "Gift Card", "SEO Title", "SEO Description",
    "Google Shopping / Google Product Category", "Google Shopping / Gender",
    "Google Shopping / Age Group", "Google Shopping / MPN",
    "Google Shopping / AdWords Grouping", "Google Shopping / AdWords Labels",
    "Google Shopping / Condition", "Google Shopping / Custom Product",
    "Google Shopping / Custom Label 0", "Google Shopping / Custom Label 1",
    "Google Shopping / Custom Label 2", "Google Shopping / Custom Label 3",
    "Google Shopping / Custom Label 4", "Variant Image", "Variant Weight Unit",
    "Variant Tax Code", "Cost per item", "Price / International",
    "Compare At Price / International", "Status",
)  # fmt: skip
# A product's name and description in another language: "Title:zh-CN", "Body (HTML):zh-CN"
# (columns of ours: Shopify keeps translations in a file of their own).
TRANSLATED = re.compile(r"^(Title|Body \(HTML\)):([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,2})$")
REQUIRED = ("Handle", "Title")
QUANTITY = "Variant Inventory Qty"
# The column a productCreate / skuCreate problem's field is read from.
COLUMN_OF = {
    "name": "Title", "slug": "Handle", "description": "Body (HTML)", "brand": "Vendor",
    "tags": "Tags", "seoTitle": "SEO Title", "seoDescription": "SEO Description",
    "options": "Option1 Name", "weightGrams": "Variant Grams", "code": "Variant SKU",
    "list": "Variant Compare At Price", "sale": "Variant Price", "price": "Variant Price",
    "translations": "Title:<language>",
}  # fmt: skip
MAX_URL = 2000
_NOT_CODE = re.compile(r"[^A-Za-z0-9._-]+")


def records(path: Path) -> Iterator[tuple[int, int, list[str] | None]]:
    """(first line, last line, fields) per CSV record; fields None for a record that is
    not UTF-8 text or that CSV cannot read. Blank lines are skipped."""
    bad: set[int] = set()

    def lines() -> Iterator[str]:
        with path.open("rb") as f:
            for number, raw in enumerate(f, start=1):
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    bad.add(number)
                    text = raw.decode("utf-8", "replace")
                if "\x00" in text:
                    bad.add(number)
                    text = text.replace("\x00", "")
                yield text

    reader = csv.reader(lines())
    last = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error:
            first, last = last + 1, reader.line_num
            yield first, last, None
            continue
        first, last = last + 1, reader.line_num
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if any(n in bad for n in range(first, last + 1)):
            yield first, last, None
        else:
            yield first, last, fields


def header(fields: list[str] | None) -> dict[str, int] | str:
    """Column positions by Shopify's names, or why the file cannot be read at all."""
    if fields is None:
        return "the header line is not UTF-8 text"
    names = {name.strip().lower(): i for i, name in reversed(list(enumerate(fields)))}
    missing = [n for n in REQUIRED if n.lower() not in names]
    if missing:
        return (
            f"the header lacks {', '.join(missing)}: a product CSV as Shopify exports it "
            f"starts Handle,Title,Body (HTML),Vendor,..."
        )
    columns = {n: names[n.lower()] for n in SHOPIFY_COLUMNS if n.lower() in names}
    for i, name in enumerate(fields):
        found = TRANSLATED.match(name.strip())
        if found is not None:
            columns.setdefault(f"{found.group(1)}:{found.group(2)}", i)
    return columns


def _translations(first: dict[str, str]) -> dict[str, dict[str, str]] | None:
    """The first row's translated titles and bodies; None when the file has no such columns
    (the product's translations stay), else all of them (a blank title: none in it)."""
    languages = [n.split(":", 1)[1] for n in first if n.startswith("Title:")]
    if not languages and not any(n.startswith("Body (HTML):") for n in first):
        return None
    translations: dict[str, dict[str, str]] = {}
    for language in languages:
        title = first[f"Title:{language}"]
        if title:
            text = {"name": title}
            body = nh3.clean(first.get(f"Body (HTML):{language}", ""))
            if body:
                text["description"] = body
            translations[language] = text
    return translations


def row_values(columns: dict[str, int], fields: list[str]) -> dict[str, str]:
    return {n: fields[i].strip() if i < len(fields) else "" for n, i in columns.items()}


@dataclass(frozen=True, slots=True)
class VariantTerms:
    """What a variant row says beyond the catalog: its price, stock and cost."""

    line: int
    code: str
    list_amount: Decimal
    sale_amount: Decimal
    quantity: int | None
    cost: Decimal | None = None  # Cost per item


@dataclass
class Drafted:
    """One handle's rows made into a product draft (None: refused whole), the terms of
    its variants, and the rows refused (each with its line)."""

    draft: ProductDraft | None
    lines: list[int]
    terms: list[VariantTerms] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _invalid(line: int, message: str, column: str | None = None) -> RowError:
    return RowError(line, UserErrorCode.INVALID_INPUT.value, message, column)


def _problem(line: int, problem: Problem) -> RowError:
    named = [COLUMN_OF[part] for part in reversed(problem.field or ()) if part in COLUMN_OF]
    return RowError(line, problem.code.value, problem.message, named[0] if named else None)


def _amount(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _true(text: str) -> bool:
    return text.strip().lower() in ("true", "yes", "1")


def _options(first: dict[str, str], rows: Sequence[dict[str, str]]) -> list[tuple[str, list[str]]]:
    options: list[tuple[str, list[str]]] = []
    for n in (1, 2, 3):
        name = first.get(f"Option{n} Name", "")
        if not name:
            continue
        values: list[str] = []
        for row in rows:
            value = row.get(f"Option{n} Value", "")
            if value and value not in values:
                values.append(value)
        if (name, values) == ("Title", ["Default Title"]):
            continue  # Shopify's one variant of a product without options
        options.append((name, values))
    return options


def _is_variant(row: dict[str, str]) -> bool:
    return bool(row.get("Variant SKU") or row.get("Variant Price") or row.get("Option1 Value"))


def _code(handle: str, picks: Sequence[SelectedOption]) -> str:
    """A code for a variant the file names none for (Shopify allows SKU-less variants):
    the same rows give the same code, so a second import finds the SKU again."""
    parts = [handle, *(p.value for p in picks)]
    return _NOT_CODE.sub("-", "-".join(parts)).strip("-._")[:64] or "sku"


def draft_product(handle: str, rows: Sequence[tuple[int, dict[str, str]]]) -> Drafted:
    lines = [line for line, _ in rows]
    first_line, first = rows[0]
    out = Drafted(None, lines)
    options = _options(first, [r for _, r in rows])
    option_names = [name for name, _ in options]
    fields: ProductFields | None = None
    status = first.get("Status", "").lower()
    if first.get("Title"):
        grams = next(
            (
                g
                for _, r in rows
                if (g := _amount(r.get("Variant Grams", "") or "0")) is not None and g >= 1
            ),
            None,
        )
        tags = tuple(
            dict.fromkeys(t.strip() for t in first.get("Tags", "").split(",") if t.strip())
        )
        fields = ProductFields(
            name=first["Title"],
            slug=handle,
            description=nh3.clean(first.get("Body (HTML)", "")),
            brand=first.get("Vendor") or None,
            options=tuple(ProductOption(n, tuple(v)) for n, v in options),
            tags=tags,
            seo_title=first.get("SEO Title") or None,
            seo_description=first.get("SEO Description") or None,
            weight_grams=int(grams.to_integral_value()) if grams is not None else None,
            is_published=_true(first.get("Published", "true") or "true")
            and status in ("", "active"),
            translations=_translations(first),
        )
        problems = product_problems(fields, creating=True)
        if problems:
            out.errors.append(_problem(first_line, problems[0]))
            message = f"not imported: the product's first row (line {first_line}) was refused"
            code = problems[0].code.value
            out.errors += [RowError(line, code, message) for line in lines[1:]]
            return out
    variants: list[VariantDraft] = []
    images: list[ImageDraft] = []
    by_url: dict[str, int] = {}
    for line, row in rows:
        refused = False
        row_code: str | None = None
        if _is_variant(row):
            variant, terms, error = _variant(handle, first.get("Title") or "", option_names,
                                             line, row)  # fmt: skip
            if error is not None:
                out.errors.append(error)
                refused = True
            elif variant is not None and terms is not None:
                variants.append(variant)
                out.terms.append(terms)
                row_code = variant.fields.code
        for column, sku in (("Image Src", None), ("Variant Image", "variant")):
            url = row.get(column, "")
            if not url or refused:
                continue
            if not url.lower().startswith(("http://", "https://")) or len(url) > MAX_URL:
                out.errors.append(_invalid(line, f"{column} must be an http(s) URL", column))
                refused = True
                break
            sku_code = row_code if sku else None
            if url in by_url:
                if sku_code:
                    kept = images[by_url[url]]
                    images[by_url[url]] = ImageDraft(
                        kept.line, kept.url, kept.position, kept.alt, (*kept.sku_codes, sku_code)
                    )
                continue
            position = _whole(row.get("Image Position", "")) if sku is None else None
            by_url[url] = len(images)
            images.append(
                ImageDraft(
                    line,
                    url,
                    position if position is not None else len(images) + 1,
                    row.get("Image Alt Text", "")[:500] if sku is None else "",
                    (sku_code,) if sku_code else (),
                )
            )
    out.draft = ProductDraft(
        first_line,
        handle,
        fields,
        category=first.get("Type") or None if fields is not None else None,
        archived=status == "archived",
        variants=tuple(variants),
        images=tuple(sorted(images, key=lambda i: i.position)),
    )
    return out


def _whole(text: str) -> int | None:
    amount = _amount(text) if text else None
    if amount is None or amount != amount.to_integral_value() or abs(amount) > 10**9:
        return None
    return int(amount)


def _variant(
    handle: str, title: str, option_names: list[str], line: int, row: dict[str, str]
) -> tuple[VariantDraft | None, VariantTerms | None, RowError | None]:
    picks: list[SelectedOption] = []
    for n, name in enumerate(option_names, start=1):
        picks.append(SelectedOption(name, row.get(f"Option{n} Value", "")))
    if option_names and any(not p.value for p in picks):
        missing = next(n for n, p in enumerate(picks, start=1) if not p.value)
        return (
            None,
            None,
            _invalid(line, f"Option{missing} Value is empty", f"Option{missing} Value"),
        )
    amounts: dict[str, Decimal | None] = {}
    for column in ("Variant Price", "Variant Compare At Price", "Cost per item"):
        text = row.get(column, "")
        amounts[column] = _amount(text) if text else None
        if text and amounts[column] is None:
            return None, None, _invalid(line, f"{column}: {text[:40]!r} is not a number", column)
    cost = amounts["Cost per item"]
    if cost is not None and (cost < 0 or cost > MAX_AMOUNT or cost.as_tuple().exponent < -2):  # type: ignore[operator]
        return None, None, _invalid(line, "Cost per item must be 0 or more, in cents at most",
                                    "Cost per item")  # fmt: skip
    sale = amounts["Variant Price"]
    if sale is None:
        return None, None, _invalid(line, "a variant needs its Variant Price", "Variant Price")
    compare_at = amounts["Variant Compare At Price"]
    # Shopify shows a compare-at price only above the price: below, it means nothing.
    list_amount = compare_at if compare_at is not None and compare_at > sale else sale
    quantity: int | None = None
    if text := row.get(QUANTITY, ""):
        quantity = _whole(text)
        if quantity is None:
            return None, None, _invalid(line, f"{QUANTITY}: {text[:40]!r} is not a whole number",
                                        QUANTITY)  # fmt: skip
        quantity = max(quantity, 0)  # Shopify counts oversold units below zero
    code = row.get("Variant SKU") or _code(handle, picks)
    name = " / ".join(p.value for p in picks) or title or handle
    fields = SkuFields(name=name[:300], code=code, selected_options=tuple(picks))
    problems = sku_problems(fields, creating=True, price=(list_amount, sale))
    if problems:
        return None, None, _problem(line, problems[0])
    return (
        VariantDraft(line, fields),
        VariantTerms(line, code, list_amount, sale, quantity, cost),
        None,
    )
