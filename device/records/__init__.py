"""device/records."""
