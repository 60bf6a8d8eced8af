"""`python -m tinynet doctor`: check the installation (see tinynet/doctor.py)."""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinynet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    doctor = sub.add_parser(
        "doctor",
        help="print versions, find CuPy/CUDA install faults, check conv2d on every device",
    )
    doctor.add_argument(
        "--device", action="append", metavar="DEVICE",
        help="check only this device (repeatable); default: every available device",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.command == "doctor":
        from .doctor import main as doctor_main

        return doctor_main(args.device)
    return 2


if __name__ == "__main__":
    sys.exit(main())
