"""device/capture."""
