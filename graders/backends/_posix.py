"""Linux isolation primitives for the local sandbox: prctl, unshare, mount, /proc.

Standard library only (ctypes), because the supervisor process that uses
them runs as ``python -I -S`` without site-packages. Every call raises
``OSError`` with the C errno on failure, so callers can record *why* an
isolation step was not available instead of guessing.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import socket
import stat
import struct

PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = "16sH22x"  # struct ifreq: name[16] + short flags, padded to 40 bytes

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.unshare.argtypes = [ctypes.c_int]


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def prctl(option: int, arg: int) -> None:
    """Call prctl(2) with one argument."""
    _check(_libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)), "prctl")


def unshare(flags: int) -> None:
    """Move the calling process into new namespaces (unshare(2))."""
    _check(_libc.unshare(flags), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """Call mount(2); ``None`` arguments are passed as NULL."""

    def enc(text: str | None) -> bytes | None:
        return None if text is None else os.fsencode(text)

    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def write_id_maps(pid: int, ids: list[tuple[int, int]], deny_setgroups: bool) -> None:
    """Map (uid, gid) pairs 1:1 in the new user namespace of process ``pid``.

    A process may map only its own ids into its own new namespace, and only
    after denying setgroups; several ids need CAP_SETUID/CAP_SETGID in the
    *parent* namespace, i.e. a writer that stayed outside (see ``unshare_user``).
    """
    maps = [("uid_map", "".join(f"{uid} {uid} 1\n" for uid in sorted({uid for uid, _ in ids})))]
    maps.append(("gid_map", "".join(f"{gid} {gid} 1\n" for gid in sorted({gid for _, gid in ids}))))
    if deny_setgroups:
        maps.insert(0, ("setgroups", "deny"))
    for name, text in maps:
        with open(f"/proc/{pid}/{name}", "w", encoding="ascii") as handle:
            handle.write(text)


def unshare_user(flags: int, ids: list[tuple[int, int]]) -> None:
    """Unshare with CLONE_NEWUSER among ``flags`` and map ``ids``, written by a helper left outside."""
    go_r, go_w = os.pipe()
    helper = os.fork()
    if helper == 0:  # still in the parent namespace, with root's capabilities there
        os.close(go_w)
        code = 1
        try:
            if os.read(go_r, 1) == b"y":
                write_id_maps(os.getppid(), ids, deny_setgroups=False)
                code = 0
        finally:
            os._exit(code)
    os.close(go_r)
    try:
        unshare(flags)
        os.write(go_w, b"y")
    finally:
        os.close(go_w)  # without "y" the helper gives up
        _, status = os.waitpid(helper, 0)
    if status != 0:
        raise OSError(1, "the helper could not write the user namespace's id maps")


def loopback_up() -> None:
    """Bring ``lo`` up in the current network namespace (it starts down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        got = fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, struct.pack(_IFREQ, b"lo", 0))
        flags = struct.unpack_from("16sH", got)[1]
        fcntl.ioctl(sock.fileno(), _SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | _IFF_UP))


def bind(source: str, target: str, read_only: bool) -> None:
    """Bind-mount ``source`` on ``target``, read-only or writable (needs a private mount namespace)."""
    mount(source, target, None, MS_BIND | MS_REC)
    current = os.statvfs(target).f_flag
    # A bind below a read-only bind comes out read-only too: writable ones are remounted.
    if read_only == bool(current & os.ST_RDONLY):
        return
    # The remount must keep the flags the kernel locked on the original mount
    # (nosuid/nodev/noexec), or it fails with EPERM inside a user namespace.
    locked = current & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount(None, target, None, MS_REMOUNT | MS_BIND | locked | (MS_RDONLY if read_only else 0))


def mask(directory: str, keep: dict[str, bool]) -> None:
    """Hide ``directory`` under an empty tmpfs, except the paths in ``keep`` (path -> read-only).

    ``keep`` paths are opened before the tmpfs covers them and bound from
    ``/proc/self/fd``: that is how a path stays reachable below a directory
    (e.g. ``/root``, mode 0700) that the job's user may not traverse.
    """
    fds = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path in keep}
    try:
        mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
        for path, fd in fds.items():
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                os.makedirs(path, mode=0o755, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
                open(path, "a").close()
            bind(f"/proc/self/fd/{fd}", path, read_only=keep[path])
    finally:
        for fd in fds.values():
            os.close(fd)


def descendants(root: int) -> list[tuple[int, str]]:
    """(pid, state) of every process below ``root``, from one scan of /proc."""
    parent_of: dict[int, int] = {}
    state_of: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):  # exited while we were looking
            continue
        pid = int(entry.name)
        state_of[pid], parent_of[pid] = fields[0].decode(), int(fields[1])
    children: dict[int, list[int]] = {}
    for pid, ppid in parent_of.items():
        children.setdefault(ppid, []).append(pid)
    found: list[tuple[int, str]] = []
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found.append((pid, state_of[pid]))
        stack.extend(children.get(pid, []))
    return found


def id_mapped(ident: int, table: str) -> bool:
    """Whether ``ident`` exists in our user namespace (``table``: "uid_map" or "gid_map")."""
    try:
        with open(f"/proc/self/{table}", encoding="ascii") as handle:
            rows = [tuple(map(int, line.split())) for line in handle if line.strip()]
    except OSError:
        return True  # a kernel without user namespaces: every id exists
    return any(inside <= ident < inside + count for inside, _, count in rows)


def first_untraversable(path: str, uid: int, gid: int) -> str | None:
    """The outermost directory above ``path`` that ``uid``/``gid`` may not enter, if any."""
    parents = os.path.abspath(path).split("/")[1:-1]
    for depth in range(len(parents) + 1):
        directory = "/" + "/".join(parents[:depth])
        try:
            info = os.stat(directory)
        except OSError:
            return None
        if info.st_uid == uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid == gid:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return directory
    return None


def chown_tree(root: str, uid: int, gid: int) -> None:
    """Give a directory tree to ``uid``/``gid``, never following links out of it."""
    os.chown(root, uid, gid, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            # A hard link planted by an earlier job may point at a file outside: leave it alone.
            if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                continue
            os.chown(path, uid, gid, follow_symlinks=False)
