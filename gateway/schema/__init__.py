"""The Schema: every domain's types under one Query. Exported to schema.graphql."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from strawberry.extensions import SchemaExtension

from ..resolvers import catalog as catalog_resolvers
from ..resolvers import node as node_resolvers
from .catalog import Category, Product, ProductConnection, Sku
from .node import Node
from .pricing import Promotion


@strawberry.type
class Query:
    node: Node | None = strawberry.field(resolver=node_resolvers.node)
    nodes: list[Node | None] = strawberry.field(resolver=node_resolvers.nodes)
    product: Product | None = strawberry.field(
        resolver=catalog_resolvers.product, description="A product by id or slug (exactly one)."
    )
    products: ProductConnection = strawberry.field(
        resolver=catalog_resolvers.products,
        description="Published products, filtered and sorted, paged by cursor.",
    )
    categories: list[Category] = strawberry.field(
        resolver=catalog_resolvers.categories,
        description="Every category, parents before children.",
    )


def build_schema(*, extensions: Sequence[type[SchemaExtension]] = ()) -> strawberry.Schema:
    """The schema with the runtime's extensions; the exported SDL never depends on them."""
    return strawberry.Schema(
        query=Query,
        types=[Product, Sku, Category, Promotion],
        extensions=list(extensions),
    )


schema = build_schema()
