"""Entry point of the sohoa command (placeholder until the CLI lands)."""


def main() -> None:
    raise SystemExit("sohoa: not yet")
