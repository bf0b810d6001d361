"""Catalog: categories, brands, suppliers, products, SKUs, bundles, presale terms."""
