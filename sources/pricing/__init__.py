"""Pricing: list and sale prices per SKU and currency, cost prices, promotions."""
