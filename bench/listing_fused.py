"""A prototype of the listing not executed field by field, for its measure only: the
listing's ``Product`` and ``Sku`` positions completed by one loop each, written as a
per-position compiled writer would emit it (every leaf read from the record and checked
in place, the batch forms' values written through the inline writers, the SKUs queued
for the next level), everything else the executor's own.

``python -m bench.listing_fused [bench.listing_instructions' or --opcodes and
bench.listing_opcodes' arguments]``

It replaces the executor's ``_level`` for positions of exactly the listing's selection
(bench.queries.LISTING) and has no way back: anything it does not expect stops the run
(a real writer would hand the position to the general completion instead). On the first
request the real executor runs too and the two responses must be equal byte for byte.
Never served. Its figures are in bench/RESULTS.md ("What any executor could still save").
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import orjson

import gateway.schema  # noqa: F401 - the schema before the executor (import order)
from gateway.execution import executor as em
from gateway.execution.catalog_records import _product_name
from gateway.schema.node import encode_id

EX = em.BreadthFirstExecutor
_REAL_LEVEL = EX._level
FUSED: dict[Any, Any] = {}
LISTING_PRODUCT = (
    "id",
    "slug",
    "name",
    "kind",
    "inStock",
    "category",
    "priceRange",
    "promotions",
    "skus",
)
LISTING_SKU = ("id", "code", "name", "price", "stock")


def child(fp):
    c = fp.completion
    while c.kind in (em.NON_NULL, em.LIST):
        c = c.of
    return c.object


def _product(ex, op, batch, res):
    values, dicts, slots = batch
    f = {fp.response_name: fp for fp in op.fields}
    kind = (
        f["kind"].completion.of.enum_names
        if f["kind"].completion.kind == em.NON_NULL
        else f["kind"].completion.enum_names
    )
    cat_p, rng_p, pro_p, sku_p = (
        child(f["category"]),
        child(f["priceRange"]),
        child(f["promotions"]),
        child(f["skus"]),
    )
    cat_made = ex._shared.setdefault(cat_p, {})
    pro_made = ex._shared.setdefault(pro_p, {})
    cat_w, rng_w, pro_w = cat_p.write, rng_p.write, pro_p.write
    cat_c, rng_c, pro_c, sku_c = (
        cat_p.form.record_class,
        rng_p.form.record_class,
        pro_p.form.record_class,
        sku_p.form.record_class,
    )
    sv, sd, ss = ex._pending(sku_p)
    for r, d, slot, ins, c, rng, prs, sks in zip(
        values,
        dicts,
        slots,
        res["inStock"],
        res["category"],
        res["priceRange"],
        res["promotions"],
        res["skus"],
        strict=True,
    ):
        v = encode_id("Product", r.id)
        if type(v) is not str:
            return False
        d["id"] = v
        v = r.slug
        if type(v) is not str:
            return False
        d["slug"] = v
        v = _product_name(r, None)
        if type(v) is not str:
            return False
        d["name"] = v
        v = kind.get(r.kind)
        if v is None:
            return False
        d["kind"] = v
        if type(ins) is not bool:
            return False
        d["inStock"] = ins
        if c is None:
            d["category"] = None
        elif type(c) is cat_c:
            hit = cat_made.get(id(c))
            if hit is not None and hit[0] is c:
                d["category"] = hit[1]
            else:
                o = cat_w(c, None, ex)
                if o is None:
                    return False
                cat_made[id(c)] = (c, o)
                d["category"] = o
        else:
            return False
        if type(rng) is not rng_c:
            return False
        o = rng_w(rng, None, ex)
        if o is None:
            return False
        d["priceRange"] = o
        if type(prs) is not list:
            return False
        items = []
        for p in prs:
            if type(p) is not pro_c:
                return False
            hit = pro_made.get(id(p))
            if hit is not None and hit[0] is p:
                items.append(hit[1])
            else:
                o = pro_w(p, None, ex)
                if o is None:
                    return False
                pro_made[id(p)] = (p, o)
                items.append(o)
        d["promotions"] = items
        if type(sks) is not list or not set(map(type, sks)) <= {sku_c}:
            return False
        its = [{} for _ in sks]
        d["skus"] = its
        sv.extend(sks)
        sd.extend(its)
        ls = (d, "skus", False, slot)
        ss.extend([(its, i, False, ls) for i in range(len(its))])
    return True


def _sku(ex, op, batch, res):
    values, dicts, _ = batch
    f = {fp.response_name: fp for fp in op.fields}
    pr_p, st_p = child(f["price"]), child(f["stock"])
    pr_w, st_w = pr_p.write, st_p.write
    pr_c, st_c = pr_p.form.record_class, st_p.form.record_class
    env = ex._environment(st_p.form)
    for r, d, pr, st in zip(values, dicts, res["price"], res["stock"], strict=True):
        s = r[0]
        v = encode_id("Sku", s.id)
        if type(v) is not str:
            return False
        d["id"] = v
        v = s.code
        if type(v) is not str:
            return False
        d["code"] = v
        v = s.name
        if type(v) is not str:
            return False
        d["name"] = v
        if type(pr) is not pr_c:
            return False
        o = pr_w(pr, None, ex)
        if o is None:
            return False
        d["price"] = o
        if type(st) is not st_c:
            return False
        o = st_w(st, env, ex)
        if o is None:
            return False
        d["stock"] = o
    return True


def fused_for(op):
    if op in FUSED:
        return FUSED[op]
    names = tuple(fp.response_name for fp in op.fields)
    fn = None
    if op.keeps_records and op.type.name == "Product" and names == LISTING_PRODUCT:
        fn = _product
    if op.keeps_records and op.type.name == "Sku" and names == LISTING_SKU:
        fn = _sku
    FUSED[op] = fn
    return fn


async def _level(self, work):
    jobs = []
    pending = []
    pending_jobs = []
    fused = []
    for object_plan, batch in work.items():
        if not batch[0]:
            continue
        if self._nulled or self._root_nulled:
            batch = self._alive(batch)
            if not batch[0]:
                continue
        records = object_plan.keeps_records and self._records(object_plan, batch)
        fn = fused_for(object_plan) if records and not em._may_be_stale() else None
        res = {}
        for field_plan in object_plan.fields:
            if fn is not None and field_plan.from_record is not None:
                continue  # the fused loop reads it from the record
            results = self._resolve(field_plan, batch, records)
            if self.is_awaitable(results):
                pending.append(results)
                pending_jobs.append(len(jobs))
            jobs.append((field_plan, batch, results))
        if fn is not None:
            fused.append(
                (
                    fn,
                    object_plan,
                    batch,
                    len(jobs) - sum(1 for fp in object_plan.fields if fp.from_record is None),
                    len(jobs),
                )
            )
    if pending:
        done = await asyncio.gather(*pending, return_exceptions=True)
        for index, results in zip(pending_jobs, done, strict=True):
            field_plan, batch, _ = jobs[index]
            jobs[index] = (field_plan, batch, results)
    self._next = {}
    skip = set()
    for fn, op, batch, start, end in fused:
        res = {jobs[i][0].response_name: jobs[i][2] for i in range(start, end)}
        if any(type(r) is not list for r in res.values()) or not fn(self, op, batch, res):
            raise AssertionError("prototype: no fallback")
        skip.update(range(start, end))
    for i, (field_plan, batch, results) in enumerate(jobs):
        if i not in skip:
            self._complete_field(field_plan, batch, results)
    return self._fold_synchronous(self._next)


_CHECKED: dict[str, bool] = {"done": False}


async def _checked_run(self: Any, plan: Any) -> Any:
    """The first listing executed both ways; the responses must be equal."""
    if _CHECKED["done"]:
        return await _REAL_RUN(self, plan)
    _CHECKED["done"] = True
    EX._level = _REAL_LEVEL  # type: ignore[method-assign]
    expected = orjson.dumps((await _REAL_RUN(self, plan)).data)
    EX._level = _level  # type: ignore[method-assign]
    result = await _REAL_RUN(self, plan)
    if orjson.dumps(result.data) != expected:
        raise SystemExit("listing_fused: the fused response differs from the executor's")
    return result


_REAL_RUN = EX._run


def main() -> int:
    EX._level = _level  # type: ignore[method-assign]
    EX._run = _checked_run  # type: ignore[method-assign]
    args = sys.argv[1:]
    if "--opcodes" in args:
        from . import listing_opcodes

        sys.argv = ["bench.listing_opcodes", "gateway", *[a for a in args if a != "--opcodes"]]
        return listing_opcodes.main()
    from . import listing_instructions

    sys.argv = ["bench.listing_instructions", "gateway", *args]
    return listing_instructions.main()


if __name__ == "__main__":
    raise SystemExit(main())
