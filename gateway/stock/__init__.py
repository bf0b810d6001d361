"""How much of a SKU's stock each viewer is shown (STOCK_VISIBILITY)."""
