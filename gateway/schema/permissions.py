"""Permissions as declarative guards on fields and mutations.

``staff_only(Permission.X)`` makes a field null unless the viewer holds one of the
permissions, before its resolver runs, so what a viewer may not see is never loaded.
``requires_permission(Permission.X)`` makes a back-office mutation answer PERMISSION_DENIED
in its ``userErrors`` and change nothing. Both show in schema.graphql as
``@requiresPermission(anyOf: [...])``, where client developers read the schema.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.schema_directive import Location
from strawberry.types.field import StrawberryField

from ..auth import Permission
from ..errors import Problem, UserErrorCode
from .enums import describe_values
from .errors import UserError

strawberry.enum(
    Permission, name="Permission", description="Back-office permissions carried by staff tokens."
)
describe_values(
    Permission,
    {
        "MANAGE_PRODUCTS": "Create, change, publish and archive products, SKUs and categories.",
        "MANAGE_PRICES": "Set prices, import price files, and run promotions and coupons.",
        "MANAGE_STOCK": "Adjust and import stock, create warehouses, see stock counts.",
        "MANAGE_ORDERS": "See every order; mark it paid, shipped, delivered; cancel it.",
        "MANAGE_AFTER_SALES": "See and resolve buyers' after-sales requests.",
        "VIEW_FINANCE": "See cost prices, settlements and payment reconciliation.",
        "MANAGE_CUSTOMERS": "See customers, block and unblock them.",
    },
)


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    description="Staff only: needs one of these permissions (fields read null without it).",
)
class RequiresPermission:
    any_of: list[Permission]


class _Guard(FieldExtension):
    def __init__(self, *permissions: Permission) -> None:
        self.permissions = permissions

    def apply(self, field: StrawberryField) -> None:
        # apply() runs on every schema build (tests and the app build more than one).
        if not any(isinstance(d, RequiresPermission) for d in field.directives):
            field.directives.append(RequiresPermission(any_of=list(self.permissions)))

    def allowed(self, info: strawberry.Info) -> bool:
        viewer = info.context.viewer
        return any(viewer.has(p) for p in self.permissions)

    def denied(self) -> Any:
        return None

    def resolve(
        self, next_: Callable[..., Any], source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        return next_(source, info, **kwargs) if self.allowed(info) else self.denied()

    async def resolve_async(
        self,
        next_: Callable[..., Awaitable[Any]],
        source: Any,
        info: strawberry.Info,
        **kwargs: Any,
    ) -> Any:
        return await next_(source, info, **kwargs) if self.allowed(info) else self.denied()


class _MutationGuard(_Guard):
    def apply(self, field: StrawberryField) -> None:
        super().apply(field)
        self.payload: Any = field.type

    def denied(self) -> Any:
        names = " or ".join(p.value for p in self.permissions)
        problem = Problem(UserErrorCode.PERMISSION_DENIED, f"this needs the {names} permission")
        return self.payload(user_errors=[UserError.from_problem(problem)])


class _ListGuard(_Guard):
    """A staff listing reads as empty (not forbidden) without the permission."""

    def apply(self, field: StrawberryField) -> None:
        super().apply(field)
        self.connection: Any = field.type

    def denied(self) -> Any:
        from .common import PageInfo

        empty_page = PageInfo.of([], has_next_page=False, after=None)
        return self.connection(edges=[], page_info=empty_page, total_count=0)


def staff_list(*permissions: Permission) -> list[FieldExtension]:
    return [_ListGuard(*permissions)]


def staff_only(*permissions: Permission) -> list[FieldExtension]:
    return [_Guard(*permissions)]


def requires_permission(*permissions: Permission) -> list[FieldExtension]:
    return [_MutationGuard(*permissions)]
