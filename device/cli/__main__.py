"""`python -m device.cli` runs the sohoa command."""

from device.cli.main import main

main()
