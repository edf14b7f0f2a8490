"""device/db."""
