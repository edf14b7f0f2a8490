"""Child process for the crash test: imports a fresh page through the CLI, forever.

Usage: python durability_child.py DATA CONFIG FILE_CODE WORKDIR. Each import prints the CLI's
own `stored page …` line only after the page is durable; the parent kills this process at
random moments and then checks that every printed page is really there.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PIL import Image

from device.cli.main import cli


def main() -> None:
    data, config, file_code, workdir = sys.argv[1:5]
    counter = 0
    while True:
        counter += 1
        path = Path(workdir) / f"shot-{os.getpid()}-{counter}.png"
        Image.frombytes("L", (96, 128), os.urandom(96 * 128)).save(path)
        try:
            cli.main(["--data", data, "--config", config, "import", file_code, str(path)],
                     standalone_mode=False)
        except SystemExit as exc:
            if exc.code:
                raise
        sys.stdout.flush()


if __name__ == "__main__":
    main()
