"""The commerce GraphQL gateway: one schema over catalog, inventory, pricing and orders."""
