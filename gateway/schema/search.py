"""Search types: ranked results with facet counts, and suggestions while typing."""

from __future__ import annotations

from enum import Enum

import strawberry

from sources.catalog.records import SearchFacet as SearchFacetRecord
from sources.catalog.records import SearchSort as SearchSortRecord

from ..i18n.request import name_in_language
from .catalog import Category, Product, ProductEdge
from .common import PageInfo


@strawberry.enum(description="How search results are ordered.")
class SearchSort(Enum):
    RELEVANCE = strawberry.enum_value("RELEVANCE", description="Best match first.")
    PRICE_ASC = strawberry.enum_value("PRICE_ASC", description="Lowest price first.")
    PRICE_DESC = strawberry.enum_value("PRICE_DESC", description="Highest price first.")
    NEWEST = strawberry.enum_value("NEWEST", description="Newest product first.")

    def record(self) -> SearchSortRecord:
        return SearchSortRecord(self.name)


@strawberry.type(description="One value of a facet and how many results have it.")
class SearchFacetValue:
    value: str = strawberry.field(
        description="What to put in the filter to select it: a category slug (categorySlugs), "
        "a brand (brands), a price band such as 100-300 (priceBand), a kind, IN_STOCK or "
        "OUT_OF_STOCK (inStock), or a specification value (attributes)."
    )
    label: str = strawberry.field(
        description="What to show the buyer, in the request's language (a category's or "
        "brand's name; a specification value as written)."
    )
    count: int = strawberry.field(
        description="Results with this value under the query and the other facets' "
        "selections (not this facet's own)."
    )
    selected: bool = strawberry.field(description="Whether the filter selects it now.")


@strawberry.type(description="A way to narrow search results, with the count of each value.")
class SearchFacet:
    name: str = strawberry.field(
        description="category, brand, price, kind, availability, or spec:<attribute code>."
    )
    label: str = strawberry.field(
        description="What to show the buyer, in the request's language (a specification "
        "facet: its attribute's name as written)."
    )
    values: list[SearchFacetValue] = strawberry.field(description="Values with results.")

    @classmethod
    def from_record(cls, record: SearchFacetRecord, selected: set[str]) -> SearchFacet:
        return cls(
            name=record.name,
            label=name_in_language(record.label, record.translations),
            values=[
                SearchFacetValue(
                    value=v.value,
                    label=name_in_language(v.label, v.translations),
                    count=v.count,
                    selected=v.value in selected,
                )
                for v in record.values
            ],
        )


@strawberry.type(description="Ranked search results, one page, with facet counts.")
class ProductSearchResult:
    total_count: int = strawberry.field(description="Results in all pages.")
    edges: list[ProductEdge] = strawberry.field(description="This page of results, in order.")
    page_info: PageInfo = strawberry.field(description="How to fetch the next page.")
    facets: list[SearchFacet] = strawberry.field(
        description="Category, brand, price band, kind, availability and specification "
        "facets of the whole result."
    )
    corrected_query: str | None = strawberry.field(
        description="Set when a misspelt word was also searched as its correction "
        "(headst: headset): the query the results are for."
    )


@strawberry.type(description="Suggestions for what the buyer has typed so far.")
class PredictiveSearchResult:
    products: list[Product] = strawberry.field(description="The best matching products.")
    categories: list[Category] = strawberry.field(description="Categories named by the query.")
    queries: list[str] = strawberry.field(description="Queries completing the last word typed.")
