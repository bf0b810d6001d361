"""The breadth-first executor: a query's plan executed level by level.

Standard (depth-first) execution resolves every field of every object on its own: a
resolver call, an awaitable, a completion, per field per object, and a 50-product listing
has some 2,800 of them. Here every field of the plan is resolved once per request for all
the objects at its position: attribute reads in a tight loop, registered batch forms with
the whole list of parents (gateway/execution/batch.py), other resolvers through an
adapter that calls them per object and gathers. A level's fields run together, so the
DataLoaders still merge what sibling fields ask of one source.

The answer is graphql-core's, by construction and by test (tests/execution): the same
field collection (graphql-core's own), the same leaf serializers, the same messages, and
the spec's null propagation: a field error nulls the field, or, for a non-null field, the
nearest nullable position above it (found through each object's ``Slot``); errors from
under a position already nulled are dropped, as graphql-core does.

It plugs in as strawberry's ``execution_context_class`` (a graphql-core Executor
subclass), so parsing, validation, the caches, extensions (limits, masking, metrics) and
the context are the same for both executors. What it does not plan (mutations and
subscriptions, introspection, middleware) runs on standard execution, counted in
``gateway_executions_total``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, cast

import strawberry
from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLObjectType,
    OperationType,
    located_error,
)
from graphql.execution.executor import Executor, invalid_return_type_error
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, is_iterable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from ..resilience.degrade import Stale, current_degradation, unwrap_stale
from .plan import (
    ABSTRACT,
    ATTRIBUTE,
    BATCH,
    INT_MAX,
    INT_MIN,
    INT_NAME,
    LEAF,
    LIST,
    NON_NULL,
    OBJECT,
    TYPENAME,
    Completion,
    FieldPlan,
    ObjectPlan,
    OperationPlan,
    PlanCache,
    Planner,
    Unsupported,
)
from .records import RecordForm

BREADTH_FIRST = "breadth-first"
_NONE_TYPE = type(None)
STANDARD = "standard"


# Where an object or list sits in the response: (container, key, whether null may stand
# there, the slot of the object or list holding it; None: the root). A tuple, not a class:
# one is made per object, and a tuple is the cheapest thing Python makes.
Slot = tuple[Any, str | int, bool, Any]


# One position's pending objects for the next level: (values, their dicts, their slots).
Batch = tuple[list[Any], list[dict[str, Any]], list[Slot | None]]


def path_of(slot: Slot | None) -> list[str | int]:
    keys: list[str | int] = []
    while slot is not None:
        keys.append(slot[1])
        slot = slot[3]
    keys.reverse()
    return keys


class BreadthFirstExecutor(StrawberryGraphQLCoreExecutionContext):
    plans: ClassVar[PlanCache] = PlanCache()

    def execute_operation(self, serially: bool | None = None) -> Any:
        plan: OperationPlan | None = None
        reason = self._unsupported()
        if reason is None:
            try:
                plan = self._plan()
            except Unsupported as exc:
                reason = str(exc)
            except Exception:
                reason = "planning error"
        _count(self.context_value, reason)
        if plan is None:
            return super().execute_operation(serially)
        return self._run(plan)

    def _unsupported(self) -> str | None:
        if self.operation.operation is not OperationType.QUERY:
            return str(self.operation.operation.value)
        return self._declined()

    def _declined(self) -> str | None:
        """Why this request cannot run from a plan whatever its operation, or None."""
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return "middleware"
        if self.abort_signal is not None or self.hooks is not None:
            return "hooks"
        return None

    def _plan(self, operation: OperationType = OperationType.QUERY) -> OperationPlan:
        root_type = self.schema.get_root_type(operation)
        if root_type is None:
            raise Unsupported(f"no {operation.value} type")
        document = self.operation  # one operation node per (document, operation name)
        fragments = list(self.fragment_definitions.values())
        names = self.plans.directive_variables(document, fragments)
        coerced = self.variable_values.coerced
        key = (id(self.schema), id(document), tuple(coerced.get(n) for n in names))
        plan = self.plans.get(key, self.schema, document)
        if plan is None:
            plan = self._planner().plan(root_type)
            self.plans.put(key, self.schema, document, plan)
        return plan

    def _planner(self) -> Planner:
        return Planner(
            self.schema,
            self.fragments,
            self.variable_values,
            self.operation,
            self.hide_suggestions,
        )

    # --- running a plan ---------------------------------------------------------------

    async def _run(self, plan: OperationPlan) -> ExecutionResult:
        self._errors: list[GraphQLError] = []
        self._nulled: set[tuple[int, str | int]] = set()
        self._root_nulled = False
        self._environments: dict[RecordForm, Any] = {}
        # Inline dicts of shared records (RecordForm.shared), per position: id -> (record,
        # its dict).
        self._shared: dict[ObjectPlan, dict[int, tuple[Any, dict[str, Any]]]] = {}
        data: dict[str, Any] = {}
        work: dict[ObjectPlan, Batch] = {plan.root: ([self.root_value], [data], [None])}
        try:
            while work:
                work = await self._level(work)
        finally:
            # graphql-core's helpers hold this executor's bound methods: a cycle that kept
            # the context, its loaders and every record they read until the cyclic
            # collector came by (a full collection every ~40 listings). Broken here.
            self.async_helpers = None  # type: ignore[assignment]
        return ExecutionResult(None if self._root_nulled else data, self._errors or None)

    async def _level(self, work: dict[ObjectPlan, Batch]) -> dict[ObjectPlan, Batch]:
        """Resolve every field of every pending position at once, then complete them in
        plan order (so each object's keys come in the order standard execution gives)."""
        jobs: list[tuple[FieldPlan, Batch, Any]] = []
        pending: list[Awaitable[Any]] = []
        pending_jobs: list[int] = []
        for object_plan, batch in work.items():
            if not batch[0]:  # a position reached by no object this time
                continue
            if self._nulled or self._root_nulled:
                batch = self._alive(batch)
                if not batch[0]:
                    continue
            records = object_plan.keeps_records and self._records(object_plan, batch)
            for field_plan in object_plan.fields:
                results = self._resolve(field_plan, batch, records)
                if self.is_awaitable(results):
                    pending.append(results)
                    pending_jobs.append(len(jobs))
                jobs.append((field_plan, batch, results))
        if pending:
            done = await asyncio.gather(*pending, return_exceptions=True)
            for index, results in zip(pending_jobs, done, strict=True):
                field_plan, batch, _ = jobs[index]
                jobs[index] = (field_plan, batch, results)
        self._next: dict[ObjectPlan, Batch] = {}
        for field_plan, batch, results in jobs:
            self._complete_field(field_plan, batch, results)
        return self._fold_synchronous(self._next)

    def _fold_synchronous(self, upcoming: dict[ObjectPlan, Batch]) -> dict[ObjectPlan, Batch]:
        """Complete now the positions that await nothing (objects of attributes only),
        so what they lead to joins the next level beside its cousins. A bundle's
        ``bundleItems { sku { price } }`` then asks for its parts' prices in the same
        level, and the same loader call, as ``skus { price }`` does, instead of a level
        (and a source call) later."""
        while any(plan.synchronous for plan in upcoming):
            self._next = {}
            later: dict[ObjectPlan, Batch] = {}
            for object_plan, batch in upcoming.items():
                if not object_plan.synchronous:
                    later[object_plan] = batch
                    continue
                if self._nulled or self._root_nulled:
                    batch = self._alive(batch)
                if not batch[0]:
                    continue
                records = object_plan.keeps_records and self._records(object_plan, batch)
                for field_plan in object_plan.fields:
                    results = self._resolve(field_plan, batch, records)
                    self._complete_field(field_plan, batch, results)
            for object_plan, batch in self._next.items():
                if object_plan in later:  # one position reached along two paths
                    values, dicts, slots = later[object_plan]
                    values.extend(batch[0])
                    dicts.extend(batch[1])
                    slots.extend(batch[2])
                else:
                    later[object_plan] = batch
            upcoming = later
        return upcoming

    def _records(self, object_plan: ObjectPlan, batch: Batch) -> bool:
        """Whether a position that keeps records has only records this time; values of
        other classes beside them (another resolver's objects) make it build the
        strawberry objects of its records and go the general way."""
        form = cast(RecordForm, object_plan.form)
        values = batch[0]
        classes = set(map(type, values))
        if classes == {form.record_class}:
            return True
        if form.record_class in classes:
            environment = None if form.environment is None else self._environment(form)
            values[:] = [
                form.build(v, environment) if type(v) is form.record_class else v for v in values
            ]
        return False

    def _alive(self, batch: Batch) -> Batch:
        values, dicts, slots = batch
        keep = [i for i, slot in enumerate(slots) if not self._under_nulled(slot)]
        if len(keep) == len(slots):
            return batch
        return [values[i] for i in keep], [dicts[i] for i in keep], [slots[i] for i in keep]

    # --- resolution -----------------------------------------------------------------

    def _resolve(self, plan: FieldPlan, batch: Batch, records: bool = False) -> Any:
        """The field's values for every parent: a list (or an awaitable of one) holding a
        value or an Exception per parent, or one Exception for all of them. ``records``:
        the parents are their form's records (ObjectPlan.keeps_records)."""
        values = batch[0]
        kind = plan.kind
        if records and plan.from_record is not None:
            return self._from_table(plan, values)
        if kind == ATTRIBUTE:
            name = cast(str, plan.attribute)
            try:
                return [getattr(v, name) for v in values]
            except Exception:
                return [_attribute(v, name) for v in values]
        if kind == TYPENAME:
            return [plan.parent_type.name] * len(values)
        try:
            args = self._arguments(plan)
        except Exception as exc:
            return exc
        info = self.build_resolve_info(
            plan.field_def, plan.nodes, plan.parent_type, _graphql_path(batch[2][0], plan)
        )
        if kind == BATCH:
            assert plan.batch is not None
            definition = plan.field_def.extensions["strawberry-definition"]
            results = _checked(plan.batch(values, strawberry.Info(info, definition), args), values)
            recover = getattr(plan.field_def.resolve, "recover", None)
            if recover is None:
                return results
            return self._recovering(plan, batch, results, recover)
        return self._per_object(plan, values, info, args)

    async def _recovering(
        self,
        plan: FieldPlan,
        batch: Batch,
        results: Awaitable[Sequence[Any]],
        recover: Callable[[Exception, Any], Any],
    ) -> list[Any]:
        """A batch form's errors, handed object by object to the wrapper around the field's
        resolver (partial data: gateway/resilience/degrade.py), which may stand a value in
        for the error, just as it does for the per-object resolver under standard
        execution; each object gets its own path."""
        try:
            found: list[Any] = list(await results)
        except Exception as exc:
            found = [exc] * len(batch[0])
        if not _any_exception(found):
            return found
        for i, value in enumerate(found):
            if isinstance(value, Exception):
                info = self.build_resolve_info(
                    plan.field_def, plan.nodes, plan.parent_type, _graphql_path(batch[2][i], plan)
                )
                try:
                    found[i] = recover(value, info)
                except Exception as exc:
                    found[i] = exc
        return found

    def _from_table(self, plan: FieldPlan, values: list[Any]) -> list[Any]:
        """A field of records from their form's table (a function raising: that
        object's field error)."""
        fn = cast(Callable[[Any, Any], Any], plan.from_record)
        form = cast(RecordForm, plan.form)
        environment = None if form.environment is None else self._environment(form)
        try:
            if plan.column is not None:  # the function's expression over the list
                return plan.column(values, environment)
            return [fn(v, environment) for v in values]
        except Exception:
            return [_from_table_one(fn, v, environment) for v in values]

    def _arguments(self, plan: FieldPlan) -> dict[str, Any]:
        if not plan.has_arguments:
            return {}
        details = plan.field_details[0]
        return get_argument_values(
            plan.field_def,
            details.node,
            self.variable_values,
            details.fragment_variable_values,
            self.hide_suggestions,
        )

    def _per_object(
        self, plan: FieldPlan, values: Sequence[Any], info: Any, args: dict[str, Any]
    ) -> Any:
        """The adapter for per-object resolvers: call each, gather what is awaitable."""
        resolve = plan.field_def.resolve or self.field_resolver
        results: list[Any] = []
        awaited: list[Awaitable[Any]] = []
        where: list[int] = []
        is_awaitable = self.is_awaitable
        for i, value in enumerate(values):
            try:
                result = resolve(value, info, **args)
            except Exception as exc:
                result = exc
            if is_awaitable(result):
                awaited.append(result)
                where.append(i)
            results.append(result)
        if not awaited:
            return results

        async def gathered() -> list[Any]:
            if len(awaited) == 1:
                try:
                    results[where[0]] = await awaited[0]
                except Exception as exc:
                    results[where[0]] = exc
                return results
            done = await asyncio.gather(*awaited, return_exceptions=True)
            for i, result in zip(where, done, strict=True):
                results[i] = result
            return results

        return gathered()

    # --- completion -----------------------------------------------------------------

    def _complete_field(self, plan: FieldPlan, batch: Batch, results: Any) -> None:
        _, dicts, slots = batch
        name = plan.response_name
        if type(results) is list and _may_be_stale():
            results = [
                unwrap_stale(r, [*path_of(slot), name]) if type(r) is Stale else r
                for r, slot in zip(results, slots, strict=True)
            ]
        if isinstance(results, BaseException):
            if not isinstance(results, Exception):
                raise results
            for d, slot in zip(dicts, slots, strict=True):
                self._field_error(results, plan, d, slot)
            return
        completion = plan.completion
        nullable = completion.kind != NON_NULL
        inner = completion if nullable else cast(Completion, completion.of)
        if inner.kind == OBJECT:
            self._complete_objects(plan, batch, results, nullable, inner)
            return
        if inner.kind == LIST:
            item = cast(Completion, inner.of)
            item_nullable = item.kind != NON_NULL
            if not item_nullable:
                item = cast(Completion, item.of)
            if item.kind == OBJECT:
                self._complete_object_lists(plan, batch, results, nullable, item, item_nullable)
                return
        fast = inner.fast if inner.kind == LEAF else None
        enum_class = inner.enum_class if inner.kind == LEAF else None
        enum_names = inner.enum_names or {}
        complete = self._complete
        for d, slot, result in zip(dicts, slots, results, strict=True):
            if fast is not None and type(result) is fast:
                d[name] = result
                continue
            if enum_class is not None and type(result) is enum_class:
                serialized = enum_names.get(result)
                if serialized is not None:
                    d[name] = serialized
                    continue
            try:
                d[name] = complete(completion, result, d, name, slot, plan, True)
            except Exception as exc:
                self._field_error(exc, plan, d, slot)

    def _complete_objects(
        self, plan: FieldPlan, batch: Batch, results: Any, nullable: bool, inner: Completion
    ) -> None:
        """An object field for every parent: the common case, without the recursion."""
        _, dicts, slots = batch
        name = plan.response_name
        object_plan = cast(ObjectPlan, inner.object)
        known = object_plan.known_types
        checked = object_plan.is_type_of is not None
        form = object_plan.form
        # A position that keeps records takes them as they are (_from_record's answer).
        record_class = (
            form.record_class if form is not None and not object_plan.keeps_records else None
        )
        values, child_dicts, child_slots = self._pending(object_plan)
        written = self._written(object_plan, results)
        if written is None and type(results) is list:
            types = set(map(type, results))
            if record_class not in types and (
                types <= known
                if checked
                else _NONE_TYPE not in types and not any(issubclass(t, Exception) for t in types)
            ):  # every value an object of the next level: no call per object
                children: list[dict[str, Any]] = [{} for _ in results]
                for d, made_child in zip(dicts, children, strict=True):
                    d[name] = made_child
                values.extend(results)
                child_dicts.extend(children)
                child_slots.extend(
                    [(d, name, nullable, slot) for d, slot in zip(dicts, slots, strict=True)]
                )
                return
        # A shared inline form's dicts made already (_from_record), found without a call.
        shared = form is not None and form.shared and object_plan.inline
        made = self._shared.setdefault(object_plan, {}) if shared else {}
        ids = list(map(id, results)) if shared and type(results) is list else None
        for i, (d, slot, result) in enumerate(zip(dicts, slots, results, strict=True)):
            if written is not None and written[i] is not None:  # completed inline
                d[name] = written[i]
                continue
            if ids is not None and (hit := made.get(ids[i])) is not None and hit[0] is result:
                d[name] = hit[1]
                continue
            # A known class is neither None nor an exception: one set look-up when checked.
            if (
                type(result) not in known
                if checked
                else result is None or isinstance(result, Exception)
            ):
                try:  # null, an error, or a class not seen yet: the general way
                    d[name] = self._complete(plan.completion, result, d, name, slot, plan, True)
                except Exception as exc:
                    self._field_error(exc, plan, d, slot)
                continue
            if type(result) is record_class:
                try:
                    found = self._from_record(object_plan, result)
                except Exception as exc:
                    self._field_error(exc, plan, d, slot)
                    continue
                if type(found) is dict:  # completed inline
                    d[name] = found
                    continue
                result = found
            child: dict[str, Any] = {}
            d[name] = child
            values.append(result)
            child_dicts.append(child)
            child_slots.append((d, name, nullable, slot))

    def _complete_object_lists(
        self,
        plan: FieldPlan,
        batch: Batch,
        results: Any,
        nullable: bool,
        item: Completion,
        item_nullable: bool,
    ) -> None:
        """A list-of-objects field for every parent (a product's SKUs, a page's edges)."""
        _, dicts, slots = batch
        name = plan.response_name
        object_plan = cast(ObjectPlan, item.object)
        known = object_plan.known_types
        checked = object_plan.is_type_of is not None
        form = object_plan.form
        values, child_dicts, child_slots = self._pending(object_plan)
        # A shared inline form's dicts (_from_record fills it as it makes them).
        made = (
            self._shared.setdefault(object_plan, {})
            if form is not None and form.shared and object_plan.inline
            else None
        )
        for d, slot, result in zip(dicts, slots, results, strict=True):
            # The items' classes, in C (no Python call per item): all known, and records?
            types = set(map(type, result)) if type(result) is list else None
            if types is None or (checked and not types <= known):
                try:  # null, an error, a null item or a class not seen yet: the general way
                    d[name] = self._complete(plan.completion, result, d, name, slot, plan, True)
                except Exception as exc:
                    self._field_error(exc, plan, d, slot)
                continue
            inline: list[bool] | None = None
            if form is not None and form.record_class in types and not object_plan.keeps_records:
                record_class = form.record_class
                try:
                    if made:  # a shared record's dict made already: found without a call
                        hits = list(map(made.get, map(id, result)))
                        result = [
                            hit[1]
                            if hit is not None and hit[0] is v  # only records are kept there
                            else (
                                self._from_record(object_plan, v) if type(v) is record_class else v
                            )
                            for v, hit in zip(result, hits, strict=True)
                        ]
                    else:
                        result = [
                            self._from_record(object_plan, v) if type(v) is record_class else v
                            for v in result
                        ]
                except Exception as exc:
                    self._field_error(exc, plan, d, slot)
                    continue
                if object_plan.inline:
                    if set(map(type, result)) <= _DICTS:  # every item written inline
                        d[name] = result
                        continue
                    inline = [type(v) is dict for v in result]
            list_slot = (d, name, nullable, slot)
            if inline is None:  # every item an object of the next level: no call per item
                items: list[Any] = [{} for _ in result]
                values.extend(result)
                child_dicts.extend(items)
                count = len(items)
                child_slots.extend([(items, i, item_nullable, list_slot) for i in range(count)])
                d[name] = items
                continue
            items = []
            for i, value in enumerate(result):
                if inline[i]:  # a record completed inline
                    items.append(value)
                    continue
                child: dict[str, Any] = {}
                items.append(child)
                values.append(value)
                child_dicts.append(child)
                child_slots.append((items, i, item_nullable, list_slot))
            d[name] = items

    def _pending(self, object_plan: ObjectPlan) -> Batch:
        batch = self._next.get(object_plan)
        if batch is None:
            batch = self._next[object_plan] = ([], [], [])
        return batch

    def _complete(
        self,
        completion: Completion,
        value: Any,
        container: Any,
        key: str | int,
        parent: Slot | None,
        plan: FieldPlan,
        nullable: bool,
    ) -> Any:
        kind = completion.kind
        if kind == NON_NULL:
            inner = cast(Completion, completion.of)
            completed = self._complete(inner, value, container, key, parent, plan, False)
            if completed is None:
                raise TypeError(
                    "Cannot return null for non-nullable field"
                    f" {plan.parent_type.name}.{plan.field_name}."
                )
            return completed
        if isinstance(value, Exception):
            raise value
        if value is None or value is Undefined:
            return None
        if kind == LEAF:
            if type(value) is completion.fast:
                return value
            if type(value) is completion.enum_class:
                assert completion.enum_names is not None
                serialized = completion.enum_names.get(value)
                if serialized is not None:
                    return serialized
            leaf = completion.leaf
            assert leaf is not None
            if type(value) is int and leaf.name == INT_NAME and INT_MIN <= value <= INT_MAX:
                return value
            coerced = leaf.coerce_output_value(value)
            if coerced is None or coerced is Undefined:
                return Executor.complete_leaf_value(leaf, value)  # its error, word for word
            return coerced
        if kind == OBJECT:
            assert completion.object is not None
            return self._enqueue(completion.object, value, container, key, parent, plan, nullable)
        if kind == LIST:
            return self._complete_list(completion, value, container, key, parent, plan, nullable)
        if kind == ABSTRACT:
            object_plan = self._runtime_plan(completion, value, parent, plan)
            return self._enqueue(object_plan, value, container, key, parent, plan, nullable)
        raise TypeError(f"cannot complete {completion}")  # pragma: no cover

    def _complete_list(
        self,
        completion: Completion,
        value: Any,
        container: Any,
        key: str | int,
        parent: Slot | None,
        plan: FieldPlan,
        nullable: bool,
    ) -> list[Any]:
        if not is_iterable(value):
            raise GraphQLError(
                "Expected Iterable, but did not find one for field"
                f" '{plan.parent_type.name}.{plan.field_name}'."
            )
        item = cast(Completion, completion.of)
        items: list[Any] = []
        slot = (container, key, nullable, parent)
        if item.kind == LEAF and item.fast is not None:
            fast = item.fast
            if all(type(v) is fast for v in value):
                items.extend(value)
                return items
        item_nullable = item.kind != NON_NULL
        complete = self._complete
        for i, v in enumerate(value):
            try:
                items.append(complete(item, v, items, i, slot, plan, True))
            except Exception as exc:
                error = located_error(exc, plan.nodes, [*path_of(slot), i])
                if not item_nullable:
                    raise error from None
                items.append(None)
                self._record(error, items, i, slot)
        return items

    def _enqueue(
        self,
        object_plan: ObjectPlan,
        value: Any,
        container: Any,
        key: str | int,
        parent: Slot | None,
        plan: FieldPlan,
        nullable: bool,
    ) -> dict[str, Any]:
        """An object's dict now, its fields at the next level."""
        is_type_of = object_plan.is_type_of
        if is_type_of is not None:
            cls = type(value)
            matches = object_plan.known_classes.get(cls)
            if matches is None:
                # strawberry's is_type_of is an isinstance check: one answer per class.
                matches = bool(is_type_of(value, None))
                object_plan.known_classes[cls] = matches
                if matches:
                    object_plan.known_types.add(cls)
            if not matches:
                raise invalid_return_type_error(object_plan.type, value, plan.field_details)
        form = object_plan.form
        if form is not None and type(value) is form.record_class:
            found = self._from_record(object_plan, value)
            if type(found) is dict:  # completed inline
                return found
            value = found
        d: dict[str, Any] = {}
        batch = self._pending(object_plan)
        batch[0].append(value)
        batch[1].append(d)
        batch[2].append((container, key, nullable, parent))
        return d

    # --- records (gateway/execution/records.py) ------------------------------------------

    def _from_record(self, object_plan: ObjectPlan, record: Any) -> Any:
        """A record at a position with a record form: its response dict when the form
        gives every selected field (``inline``) and completes them all exactly, otherwise
        the strawberry object ``build`` makes of it, to be completed the general way (its
        resolvers then give the fields, and any error, as standard execution would)."""
        form: RecordForm = object_plan.form  # type: ignore[assignment]
        made: dict[int, tuple[Any, dict[str, Any]]] | None = None
        if object_plan.inline and form.shared:
            made = self._shared.get(object_plan)
            if made is None:
                made = self._shared[object_plan] = {}
            hit = made.get(id(record))
            if hit is not None and hit[0] is record:
                return hit[1]
        if object_plan.keeps_records:
            return record  # its fields from the table and batch forms (_records)
        environment = None if form.environment is None else self._environment(form)
        write = object_plan.write
        if write is not None:  # inline: its compiled writer (gateway/execution/writers.py)
            found = write(record, environment, self)
            if found is not None:
                if made is not None:
                    made[id(record)] = (record, found)  # the record kept: its id stays its
                return found
        return form.build(record, environment)

    def _written(self, object_plan: ObjectPlan, results: Any) -> list[Any] | None:
        """Every value a record of an inline, unshared form (a price per SKU, a stock level
        per SKU): their dicts in one pass, None where the writer gave up (that one goes
        the general way); None when the values are anything else."""
        write = object_plan.write
        form = object_plan.form
        if write is None or form is None or form.shared or type(results) is not list:
            return None
        if set(map(type, results)) != {form.record_class}:
            return None
        environment = None if form.environment is None else self._environment(form)
        return [write(record, environment, self) for record in results]

    def _environment(self, form: RecordForm) -> Any:
        environments = self._environments
        if form not in environments:
            assert form.environment is not None
            environments[form] = form.environment(self.context_value)
        return environments[form]

    def _runtime_plan(
        self, completion: Completion, value: Any, parent: Slot | None, plan: FieldPlan
    ) -> ObjectPlan:
        abstract = completion.abstract
        assert abstract is not None and completion.field_details is not None
        resolve_type = abstract.resolve_type or self.type_resolver
        info = self.build_resolve_info(
            plan.field_def, plan.nodes, plan.parent_type, _graphql_path(parent, plan)
        )
        runtime_name = resolve_type(value, info, abstract)
        if self.is_awaitable(runtime_name):
            cast(Any, runtime_name).close()
            raise TypeError(f"{abstract.name}: an asynchronous type resolver is not supported")
        runtime_type: GraphQLObjectType = self.ensure_valid_runtime_type(
            runtime_name, abstract, completion.field_details, info, value
        )
        object_plan = completion.by_type.get(runtime_type.name)
        if object_plan is None:
            # The directive variables are part of the plan's key: same collection.
            object_plan = self._planner().subplan(runtime_type, completion.field_details)
            completion.by_type[runtime_type.name] = object_plan
        return object_plan

    # --- errors and null propagation ---------------------------------------------------

    def _field_error(
        self, exc: Exception, plan: FieldPlan, d: dict[str, Any], slot: Slot | None
    ) -> None:
        error = located_error(exc, plan.nodes, [*path_of(slot), plan.response_name])
        if plan.nullable:
            d[plan.response_name] = None
            self._record(error, d, plan.response_name, slot)
        elif not self._under_nulled(slot):
            self._errors.append(error)
            self._null(slot)

    def _record(
        self, error: GraphQLError, container: Any, key: str | int, owner: Slot | None
    ) -> None:
        """A nullable position (``container[key]``, inside the object or list at
        ``owner``) took the error: report it unless a position above was nulled already
        (graphql-core's CollectedErrors drops those too)."""
        if self._under_nulled(owner):
            return
        self._nulled.add((id(container), key))
        self._errors.append(error)

    def _null(self, slot: Slot | None) -> None:
        while slot is not None:
            container, key, nullable, parent = slot
            self._nulled.add((id(container), key))
            if nullable:
                container[key] = None
                return
            slot = parent
        self._root_nulled = True

    def _under_nulled(self, slot: Slot | None) -> bool:
        if self._root_nulled:
            return True
        nulled = self._nulled
        if not nulled:
            return False
        while slot is not None:
            if (id(slot[0]), slot[1]) in nulled:
                return True
            slot = slot[3]
        return False


def _may_be_stale() -> bool:
    """Some value of this request came from a last-known copy: fields may be ``Stale``
    (gateway/resilience/degrade.py); their paths are recorded as they are unwrapped."""
    degradation = current_degradation.get()
    return degradation is not None and bool(degradation.as_of)


_DICTS = frozenset({dict})


def _any_exception(values: list[Any]) -> bool:
    """Whether any value is an exception: a check per class, not per value."""
    return any(issubclass(kind, Exception) for kind in set(map(type, values)))


def _from_table_one(fn: Callable[[Any, Any], Any], value: Any, environment: Any) -> Any:
    try:
        return fn(value, environment)
    except Exception as exc:
        return exc


def _attribute(value: Any, name: str) -> Any:
    try:
        return getattr(value, name)
    except Exception as exc:
        return exc


async def _checked(results: Awaitable[Sequence[Any]], parents: Sequence[Any]) -> Sequence[Any]:
    found = await results
    if len(found) != len(parents):
        raise TypeError(f"a batch resolver returned {len(found)} values for {len(parents)}")
    return found


def _graphql_path(slot: Slot | None, plan: FieldPlan) -> Path:
    path: Path | None = None
    for key in path_of(slot):
        path = Path(path, key, None)
    return Path(path, plan.response_name, plan.parent_type.name)


def _count(context: Any, reason: str | None) -> None:
    metrics = getattr(context, "metrics", None)
    counter = getattr(metrics, "executions", None)
    if counter is not None:
        if reason is None:
            counter.labels(BREADTH_FIRST, "").inc()
        else:
            counter.labels(STANDARD, reason).inc()
