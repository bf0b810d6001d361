"""Inventory: warehouses, stock per SKU per warehouse, the supplier (drop-ship) stock feed."""
