"""Safe output folders: one writer at a time, nothing half-written, nothing deleted by
mistake, nothing left behind by a killed writer.

Beside an output folder ``PARENT/NAME`` a writer uses::

    PARENT/.NAME.lock           OS lock (flock) held for the whole write; names its pid
    PARENT/.NAME.tmp-<pid>-*    the new output, renamed to NAME when complete
    PARENT/.NAME.old-<pid>-*    the previous output, moved aside until the new one is in
                                place, then removed

and, for a simulation's kept draws, a spool folder ``DIR/.quyhoach-spool-<pid>-*`` with
its own lock inside. A writer that is killed (``kill -9``) leaves these behind; the
next writer of the same folder takes the lock, and since no live writer can then hold
it, removes them (or puts the old output back when the new one never arrived). Spools
are removed by the next process that creates or cleans one, once their lock is free.

An existing folder is replaced only when asked and only when it is a quyhoach output
(its ``manifest.json`` says ``"engine": "quyhoach"``). Symbolic links are never
followed out: a linked output folder is refused, and removal never enters a link.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import stat
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ResultsError

try:  # POSIX; Windows falls back to msvcrt byte-range locks
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

SPOOL_PREFIX = ".quyhoach-spool-"
SPOOL_LOCK = ".lock"
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 64 * 2**20  # a larger manifest.json is not ours: do not read it
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

_held: dict[str, list] = {}  # lock file -> [fd, depth]: this process's locks, re-entrant
_held_guard = threading.Lock()


# ---------------------------------------------------------------- names and checks

def output_path(directory) -> Path:
    """The output folder as a path with a real last component (``.`` made absolute).

    Raises
    ------
    ResultsError
        For the file-system root, which has no parent to write beside.
    """
    target = Path(directory)
    if target.name in ("", ".", ".."):
        target = Path(os.path.abspath(target))
    if not target.name:
        raise ResultsError(f"{directory} cannot be an output folder: choose a folder "
                           "below it, e.g. --out results")
    return target


def refuse_link(path: Path) -> None:
    """Refuse a symbolic link where a real folder or file is expected.

    Raises
    ------
    ResultsError
        Naming the link and where it points.
    """
    if os.path.islink(path):
        raise ResultsError(f"{path} is a symbolic link (to {os.readlink(path)}); quyhoach "
                           "does not write or delete through links: give the real folder "
                           "as --out")


def refuse_links_inside(folder: Path) -> None:
    """Refuse a folder tree holding any symbolic link (it could lead a write outside).

    Raises
    ------
    ResultsError
        Naming the first link found.
    """
    for root, dirs, files in os.walk(folder):  # os.walk does not enter links
        for name in dirs + files:
            if os.path.islink(os.path.join(root, name)):
                raise ResultsError(
                    f"{folder} holds a symbolic link, {os.path.join(root, name)}; quyhoach "
                    "does not write through links: remove the link, or use another --out")


def is_quyhoach_output(folder: Path) -> bool:
    """True when ``folder/manifest.json`` is a regular file saying engine "quyhoach"."""
    path = Path(folder) / MANIFEST
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MANIFEST_BYTES:
            return False
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, unreadable, not JSON or not UTF-8
        return False
    return isinstance(data, dict) and data.get("engine") == "quyhoach"


def _is_empty_dir(path: Path) -> bool:
    with os.scandir(path) as entries:
        return next(entries, None) is None


def check_replaceable(target: Path, accept: Callable[[Path], bool] | None = None) -> None:
    """Refuse to replace anything but a quyhoach output (or an empty folder).

    Parameters
    ----------
    target : pathlib.Path
        An existing path.
    accept : callable, optional
        ``accept(target)`` True for another kind of output this writer may replace
        (e.g. one written by an older version without a manifest).

    Raises
    ------
    ResultsError
        Saying what was found and what to do.
    """
    refuse_link(target)
    if not target.is_dir():
        found = "a file"
    elif _is_empty_dir(target) or is_quyhoach_output(target):
        return
    elif accept is not None and accept(target):
        return
    elif (target / MANIFEST).exists():
        found = "a manifest.json that is not a quyhoach manifest"
    else:
        found = "files but no manifest.json"
    raise ResultsError(f"{target} is not a quyhoach output (expected a folder whose "
                       f"manifest.json says engine \"quyhoach\"; found {found}); --force "
                       "replaces only quyhoach outputs: choose another --out, or move that "
                       "folder away yourself")


def check_writable(directory, *, overwrite: bool,
                   accept: Callable[[Path], bool] | None = None) -> Path:
    """Refuse, before any work, an output folder that a write would refuse later.

    Parameters
    ----------
    directory : str or pathlib.Path
    overwrite : bool
        Whether an existing quyhoach output may be replaced (``--force``).
    accept : callable, optional
        See ``check_replaceable``.

    Returns
    -------
    pathlib.Path
        The output folder (see ``output_path``).

    Raises
    ------
    ResultsError
        For a symbolic link, an existing folder without ``overwrite``, or a folder
        that is not a quyhoach output.
    """
    target = output_path(directory)
    refuse_link(target)
    if os.path.lexists(target):
        if not overwrite:
            raise ResultsError(f"{target} already exists; choose another --out directory "
                               "or pass --force (overwrite=True) to replace it")
        check_replaceable(target, accept)
    return target


def write_error(target: Path, exc: OSError, *, kept: str = "any previous output is "
                "unchanged") -> ResultsError:
    """A clear error for an OS failure (full disk, permissions) while writing ``target``."""
    what = os.strerror(exc.errno) if exc.errno else str(exc)  # pyarrow's are verbose
    where = f" ({exc.filename})" if exc.filename else ""
    hint = ("free disk space" if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
            else "check the folder's permissions and free space")
    return ResultsError(f"could not write {target}: {what}{where}; nothing was written and "
                        f"{kept}: {hint}, then run again")


# ---------------------------------------------------------------- locks

def _lock_nowait(fd: int) -> bool:
    """Take an exclusive OS lock on ``fd``; False when another process holds it."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    import msvcrt  # pragma: no cover - Windows

    try:  # pragma: no cover
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:  # pragma: no cover
        return False
    return True  # pragma: no cover


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (not removed and recreated)."""
    try:
        a, b = os.fstat(fd), os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"pid {text}" if text.isdigit() else "pid unknown"


def lock_path(target: Path) -> Path:
    """The lock file of an output folder: ``.NAME.lock`` beside it."""
    return target.with_name(f".{target.name}.lock")


class OutputLock:
    """Exclusive OS-level lock on an output folder, held while writing it.

    Re-entrant within a process, so a caller may hold it around a whole run (simulate,
    then write) while the writer takes it again. The lock dies with its process, so a
    killed writer never blocks the next one.

    Parameters
    ----------
    directory : str or pathlib.Path
        The output folder; its parent is created if missing.

    Raises
    ------
    ResultsError
        When another process holds the lock (naming the folder and that process's pid),
        or the lock file cannot be created.
    """

    def __init__(self, directory):
        self.target = output_path(directory)
        self.path = lock_path(self.target)

    def __enter__(self) -> OutputLock:
        key = os.path.abspath(self.path)
        with _held_guard:
            if key in _held:
                _held[key][1] += 1
                return self
            _held[key] = [self._acquire(), 1]
        return self

    def __exit__(self, *exc) -> None:
        key = os.path.abspath(self.path)
        with _held_guard:
            entry = _held[key]
            entry[1] -= 1
            if entry[1]:
                return
            del _held[key]
        try:
            if _same_file(entry[0], self.path):  # unlink before unlocking: see _acquire
                os.unlink(self.path)
        except OSError:
            pass  # a lock file left behind is harmless: the next writer reuses it
        finally:
            os.close(entry[0])

    def _acquire(self) -> int:
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(self.target, exc) from exc
        for _ in range(100):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o644)
            except OSError as exc:
                raise ResultsError(f"cannot create the lock file {self.path} for "
                                   f"{self.target}: {exc.strerror}; check that its folder is "
                                   "writable and that the lock file is not a link") from exc
            if not _lock_nowait(fd):
                holder = _holder(fd)
                os.close(fd)
                raise ResultsError(
                    f"{self.target} is being written by another quyhoach process "
                    f"({holder}); wait for it to finish, or choose another --out")
            # The holder before us unlinks the file before unlocking it; if we locked
            # such an unlinked file, the lock guards nothing: retry on the current one.
            if _same_file(fd, self.path):
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode())  # for the refusal's message
                return fd
            os.close(fd)
        raise ResultsError(f"could not lock {self.path}: it keeps being replaced; check "
                           "that no other program is removing files there")


# ---------------------------------------------------------------- removal and cleanup

def remove(path: Path) -> None:
    """Remove a file, link or folder tree; a link is removed, never followed."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)  # rmtree never follows links inside the tree
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass


def clean_stale(target: Path) -> None:
    """Remove the temporaries of killed writers of ``target``; call with its lock held.

    Holding the lock, no live writer can own a ``.NAME.tmp-*`` or ``.NAME.old-*``. A
    previous output moved aside by a writer killed before its new output arrived is put
    back; otherwise it is removed.
    """
    # ours: <pid>-<8 hex>; older versions: mkdtemp's 8 characters, or <pid>
    ours = re.compile(rf"\.{re.escape(target.name)}\.(tmp|old)-(\d+-[0-9a-f]{{8}}|\w{{8}}|\d+)")
    try:
        names = sorted(os.listdir(target.parent))
    except FileNotFoundError:
        return
    for name in names:
        match = ours.fullmatch(name)
        if match is None:
            continue
        path = target.parent / name
        if match[1] == "old" and name == _replaced_by(target):
            continue  # an unfinished batch --force still replaces it: kept until done
        if match[1] == "old" and not os.path.lexists(target) and \
                not os.path.islink(path) and is_quyhoach_output(path):
            os.rename(path, target)
        else:
            remove(path)


def _replaced_by(target: Path) -> str | None:
    """The ``.NAME.old-*`` folder an unfinished ``batch --force`` into ``target`` replaces."""
    try:
        meta = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta.get("replaces") if isinstance(meta, dict) else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _spool_is_stale(folder: Path) -> tuple[bool, int | None]:
    """(stale?, fd holding its lock) for a spool folder; the fd must be closed."""
    try:
        fd = os.open(folder / SPOOL_LOCK, os.O_RDWR | _NOFOLLOW)
    except FileNotFoundError:  # created but not yet locked, or its owner died then
        pid = folder.name[len(SPOOL_PREFIX):].split("-")[0]
        return (pid.isdigit() and not _pid_alive(int(pid))), None
    except OSError:
        return False, None
    if _lock_nowait(fd):
        return True, fd
    os.close(fd)
    return False, None


def clean_stale_spools(parent) -> None:
    """Remove the spool folders in ``parent`` whose owning process is gone."""
    try:
        entries = [e for e in os.scandir(parent) if e.name.startswith(SPOOL_PREFIX)
                   and e.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for entry in entries:
        stale, fd = _spool_is_stale(Path(entry.path))
        try:
            if stale:
                shutil.rmtree(entry.path, ignore_errors=True)
        finally:
            if fd is not None:
                os.close(fd)


class SpoolFolder:
    """A private, locked scratch folder for this process, removed when released.

    If the process is killed the folder stays, but its lock dies with the process, so
    the next ``SpoolFolder`` or ``clean_stale_spools`` in the same place removes it.

    Parameters
    ----------
    directory : str or pathlib.Path, optional
        Where to create it (created if missing); default the system temporary folder.
    """

    def __init__(self, directory=None):
        parent = Path(directory) if directory is not None else Path(tempfile.gettempdir())
        try:
            parent.mkdir(parents=True, exist_ok=True)
            clean_stale_spools(parent)
            self.path = Path(tempfile.mkdtemp(prefix=f"{SPOOL_PREFIX}{os.getpid()}-",
                                              dir=parent))
        except OSError as exc:
            raise write_error(parent, exc, kept="no output was changed") from exc
        fd = -1
        try:
            # Lock a file under another name, then rename it: a cleaner never sees an
            # unlocked lock file of a live spool.
            fresh = self.path / f"{SPOOL_LOCK}.new"
            fd = os.open(fresh, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
            _lock_nowait(fd)
            os.rename(fresh, self.path / SPOOL_LOCK)
        except OSError as exc:
            if fd >= 0:
                os.close(fd)
            shutil.rmtree(self.path, ignore_errors=True)
            raise write_error(parent, exc, kept="no output was changed") from exc
        self._finalizer = weakref.finalize(self, _release_spool, self.path, fd)

    def release(self) -> None:
        """Remove the folder and drop its lock (also done when garbage-collected)."""
        self._finalizer()


def _release_spool(path: Path, fd: int) -> None:
    try:
        shutil.rmtree(path, ignore_errors=True)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- writing

def temp_beside(target: Path) -> Path:
    """A new, empty ``.NAME.tmp-<pid>-*`` folder beside ``target``.

    Made with the usual permissions (umask), not ``mkdtemp``'s owner-only ones: it
    becomes the output, which others may need to read.
    """
    while True:
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{os.urandom(4).hex()}")
        try:
            tmp.mkdir()
        except FileExistsError:
            continue
        return tmp


def move_aside(target: Path) -> Path:
    """Rename ``target`` to a hidden ``.NAME.old-<pid>-*`` beside it; return the new name."""
    old = target.with_name(f".{target.name}.old-{os.getpid()}-{os.urandom(4).hex()}")
    os.rename(target, old)
    return old


def publish(tmp: Path, target: Path) -> None:
    """Put the complete folder ``tmp`` at ``target``, replacing what is there.

    The old folder is renamed aside first, so ``target`` is always either the whole old
    output or the whole new one; the old one is removed once the new one is in place.
    """
    if not os.path.lexists(target):
        os.rename(tmp, target)
        return
    old = move_aside(target)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    remove(old)


@contextmanager
def replacing(directory, *, overwrite: bool,
              accept: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Write a whole output folder safely: yield an empty folder to fill.

    Takes the folder's lock, removes the temporaries of killed writers, refuses an
    existing folder unless ``overwrite`` (and then anything but a quyhoach output),
    and on success puts the filled folder in place of the old one. On any error the
    partial folder is removed and the old output is untouched; an ``OSError`` (full
    disk, permissions) becomes a ``ResultsError`` naming the folder.

    Parameters
    ----------
    directory : str or pathlib.Path
        The output folder.
    overwrite : bool
        Replace an existing quyhoach output.
    accept : callable, optional
        See ``check_replaceable``.

    Yields
    ------
    pathlib.Path
        The temporary folder to write every file into.
    """
    target = output_path(directory)
    refuse_link(target)
    with OutputLock(target):
        clean_stale(target)
        check_writable(target, overwrite=overwrite, accept=accept)
        try:
            tmp = temp_beside(target)
        except OSError as exc:
            raise write_error(target, exc) from exc
        try:
            yield tmp
            publish(tmp, target)
        except OSError as exc:
            remove(tmp)
            raise write_error(target, exc) from exc
        except BaseException:
            remove(tmp)
            raise
