"""`python -m tinynet doctor`: check the installation (see tinynet/doctor.py).

Exit status: 0 no fault found; 1 a fault found (a device named with --device that this
machine lacks is a fault: reported on its own line, no traceback); 2 a usage error (an
unknown device type or a malformed name such as "cuda:x").
"""

from __future__ import annotations

import argparse
import sys


def device_name(text: str) -> str:
    """An argparse `type=`: a well-formed device name of a known type (present here or not)."""
    from . import backend

    try:
        type_name, _ = backend._parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    known = backend.backend_types()
    if type_name not in known:
        raise argparse.ArgumentTypeError(
            f"unknown device type {type_name!r} in {text!r}; expected one of {', '.join(known)}"
        )
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinynet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    doctor = sub.add_parser(
        "doctor",
        help="print versions, find CuPy/CUDA install faults, check conv2d on every device",
    )
    doctor.add_argument(
        "--device", action="append", metavar="DEVICE", type=device_name,
        help="check only this device (repeatable); default: every available device",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.command == "doctor":
        from .doctor import main as doctor_main

        return doctor_main(args.device)
    return 2


if __name__ == "__main__":
    sys.exit(main())
