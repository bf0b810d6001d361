"""The demo shop: a deterministic generator that fills the four sources' databases with a
realistic small shop (a category tree, every product kind, stock, prices, promotions,
customers and staff), so developers can run and explore the gateway with one command.

Entry points live in ``sources.demo.seed``: ``seed_demo_shop``, ``is_seeded`` and
``DEMO_STAFF``.
"""
