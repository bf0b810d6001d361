"""userErrors: what a mutation could not do, as data the client can show."""

from __future__ import annotations

import strawberry

from ..errors import Problem, UserErrorCode

strawberry.enum(UserErrorCode, name="UserErrorCode")


@strawberry.type
class UserError:
    code: UserErrorCode
    message: str
    field: list[str] | None = None
    line_id: strawberry.ID | None = None

    @classmethod
    def from_problem(cls, problem: Problem) -> UserError:
        return cls(
            code=problem.code,
            message=problem.message,
            field=list(problem.field) if problem.field else None,
            line_id=strawberry.ID(problem.line_id) if problem.line_id else None,
        )


def user_errors(problems: list[Problem]) -> list[UserError]:
    return [UserError.from_problem(p) for p in problems]
