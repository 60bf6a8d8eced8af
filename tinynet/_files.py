"""Writing a file so that it is either complete or absent: every file tinynet writes goes here.

The data goes to a temporary file beside the target, which replaces the target in one
`os.replace` only once it is complete; on any error it is removed and the target is left
as it was. A reader never sees half a checkpoint, data set or picture.
"""

from __future__ import annotations

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_path(path, suffix: str = ".tmp"):
    """Yield a temporary path beside `path` to write to; on leaving, it becomes `path`.

    Example:
        >>> with atomic_path("model.safetensors") as tmp:
        ...     save_file(arrays, tmp)
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, new_file_mode())  # mkstemp makes 0600; the file gets open()'s mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def new_file_mode() -> int:
    """The mode open() would give a new file: 0666 less the process umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
