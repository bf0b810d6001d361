"""Staff-only fields as a declarative guard.

``@staff_only(Permission.X)`` returns null unless the viewer holds one of the permissions,
before the resolver runs, so what a viewer may not see is never even loaded. The guard
shows in schema.graphql as ``@requiresPermission(anyOf: [...])`` so client developers see
it where they read the schema.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.schema_directive import Location
from strawberry.types.field import StrawberryField

from ..auth import Permission

PermissionEnum = strawberry.enum(
    Permission, name="Permission", description="Back-office permissions carried by staff tokens."
)


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    description="Staff only: null unless the viewer holds one of these permissions.",
)
class RequiresPermission:
    any_of: list[Permission]


class StaffOnly(FieldExtension):
    def __init__(self, *permissions: Permission) -> None:
        self.permissions = permissions

    def apply(self, field: StrawberryField) -> None:
        field.directives.append(RequiresPermission(any_of=list(self.permissions)))

    def resolve(
        self, next_: Callable[..., Any], source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        if self.allowed(info):
            return next_(source, info, **kwargs)
        return None

    async def resolve_async(
        self,
        next_: Callable[..., Awaitable[Any]],
        source: Any,
        info: strawberry.Info,
        **kwargs: Any,
    ) -> Any:
        if self.allowed(info):
            return await next_(source, info, **kwargs)
        return None

    def allowed(self, info: strawberry.Info) -> bool:
        viewer = info.context.viewer
        return any(viewer.has(p) for p in self.permissions)


def staff_only(*permissions: Permission) -> list[FieldExtension]:
    return [StaffOnly(*permissions)]
