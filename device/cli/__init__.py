"""The sohoa command line."""
