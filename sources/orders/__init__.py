"""Orders: customers and addresses, staff accounts, delivery regions (carts and orders to come)."""
