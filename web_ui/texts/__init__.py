"""The web UI's texts, one module per area, each with a VI and an EN dict of key -> text."""
