"""Writing a file so that it is either complete or absent: every file tinynet writes goes here.

The data goes to ONE temporary file beside the target, named `.<name>.tinynet-tmp-<pid>-<hex>`
so that it is recognisable, which replaces the target in one `os.replace` only once it is
complete and fsynced (the folder is fsynced after the rename). On every exit path Python can
see (an exception, Ctrl-C, SIGTERM) the temporary file is removed and the target is left as
it was; a process killed outright (SIGKILL, power loss) can leave one behind, and the next
write of the same target removes those whose writer process is gone.

Modes: a file that is replaced keeps its permission bits; a new file gets the mode `open()`
would give (0o666 less the umask). The umask is read from /proc/self/status, elsewhere from
a probe file created as open() creates files; the process umask is never changed, not even
briefly (another thread may be creating files at the same time).

SIGTERM and SIGINT: while a write is in progress, handlers are installed that abort the
write (when the previous disposition would end the process or raise KeyboardInterrupt) or
defer the signal until the write is done (when a program installed its own handler). The
previous handlers are restored afterwards and a deferred or aborting signal is delivered
again, so the program sees the signal exactly as it would have, minus the temporary file.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import stat
import threading

__all__ = ["atomic_path", "new_file_mode", "TMP_MARK"]

TMP_MARK = ".tinynet-tmp-"  # in every temporary file name: `.<name>.tinynet-tmp-<pid>-<hex>`
_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), signal.SIGINT) if s is not None)


class _SignalGuard:
    """Around one write: SIGTERM/SIGINT abort it (or wait for it); old handlers come back.

    An aborting signal is handled in the handler itself: remove the temporary file, put
    the previous handlers back, and act as they would (SIGTERM's default ends the process
    at once; Python's SIGINT handler raises KeyboardInterrupt). Doing it there, not in an
    exception handler further up, leaves no window where the file could be forgotten.
    """

    def __init__(self):
        self.previous: dict[int, object] = {}
        self.pending: list[int] = []
        self.abortable = False  # until the first release(), inside the with block
        self.tmp: str | None = None  # the temporary file to remove if the write is aborted

    @staticmethod
    def _stops(handler) -> bool:
        return handler in (signal.SIG_DFL, signal.default_int_handler)

    def _handler(self, signum, frame):
        if self.abortable and self._stops(self.previous.get(signum)):
            self._abort(signum)
        elif signum not in self.pending:  # the program's own handler runs after the write
            self.pending.append(signum)

    def _abort(self, signum: int):
        self.abortable = False
        if self.tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.tmp)
            self.tmp = None
        self._restore()
        signal.raise_signal(signum)  # SIG_DFL: the process ends here, as it would have
        raise KeyboardInterrupt if signum == signal.SIGINT else SystemExit(128 + signum)

    def _restore(self):
        previous, self.previous = self.previous, {}
        for s, prev in previous.items():
            signal.signal(s, prev)

    def hold(self):
        """Signals wait from here (a step that must not be cut in half)..."""
        self.abortable = False

    def release(self):
        """...to here, where one that would have stopped the write stops it now."""
        for s in list(self.pending):
            if self._stops(self.previous.get(s)):
                self.pending.remove(s)
                self._abort(s)
        self.abortable = True

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self  # only the main thread may set handlers; signals go there anyway
        for s in _SIGNALS:
            prev = signal.getsignal(s)
            if prev is None or prev == signal.SIG_IGN:
                continue  # set outside Python (cannot restore it) or ignored: leave it
            self.previous[s] = prev
            signal.signal(s, self._handler)
        return self

    def __exit__(self, *exc):
        self.abortable = False
        self._restore()
        pending, self.pending = self.pending, []
        for s in pending:  # as if it arrived now, under the program's own handler
            signal.raise_signal(s)
        return False


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # maybe another thread of ours is writing it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _remove_stale(directory: str, base: str) -> None:
    """Remove temporary files of earlier writes of `base` whose writer process is gone."""
    pattern = re.compile(re.escape(f".{base}{TMP_MARK}") + r"(\d+)-[0-9a-f]+(\..*)?$")
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        m = pattern.match(name)
        if m and not _pid_alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, name))


def _fsync(path: str, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:
            return  # e.g. Windows cannot open a folder: nothing to sync there
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def _create_temp(directory: str, base: str, suffix: str) -> str:
    for _ in range(100):
        name = f".{base}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}{suffix}"
        tmp = os.path.join(directory, name)
        try:  # 0o666 as open() uses: the kernel applies the umask and default ACLs
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
            )
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file for {base!r} in {directory}")


@contextlib.contextmanager
def atomic_path(path, suffix: str = ""):
    """Yield a temporary path beside `path` to write to; on leaving, it becomes `path`.

    Example:
        >>> with atomic_path("model.safetensors") as tmp:
        ...     save_file(arrays, tmp)
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    _remove_stale(directory, base)
    try:
        keep = stat.S_IMODE(os.stat(path).st_mode)  # a replaced file keeps its permission bits
    except FileNotFoundError:
        keep = None
    with _SignalGuard() as guard:
        try:
            guard.tmp = _create_temp(directory, base, suffix)  # signals wait meanwhile
            guard.release()
            yield guard.tmp
            # the writer may have replaced the file (safetensors does, with mode 0600)
            os.chmod(guard.tmp, new_file_mode(directory) if keep is None else keep)
            _fsync(guard.tmp)
            guard.hold()  # replacing and forgetting the name are one step
            os.replace(guard.tmp, path)
            guard.tmp = None
            guard.release()
            _fsync(directory, directory=True)
        finally:
            guard.hold()
            if guard.tmp is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(guard.tmp)
                guard.tmp = None


def _umask_from_proc() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def new_file_mode(directory: str | os.PathLike = ".") -> int:
    """The mode open() would give a new file: 0o666 less the process umask.

    Reads the umask from /proc/self/status (Linux); elsewhere creates and removes one
    empty probe file in `directory` and reads its mode. The umask is never changed.
    """
    umask = _umask_from_proc()
    if umask is not None:
        return 0o666 & ~umask
    probe = os.path.join(
        os.fspath(directory), f".probe{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"
    )
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        return stat.S_IMODE(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
        os.unlink(probe)
