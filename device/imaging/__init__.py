"""device/imaging."""
