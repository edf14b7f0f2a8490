"""device/archive."""
