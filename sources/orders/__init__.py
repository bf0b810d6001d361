"""Orders: customers and addresses, staff accounts, delivery regions, carts, orders and checkout
attempts."""
