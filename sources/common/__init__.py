"""What every source shares: engines, the money type, migrations and call accounting."""
