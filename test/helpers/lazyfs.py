#!/usr/bin/python3
"""
A test filesystem that loses what was not fsynced, on command (like Jepsen's LazyFS).

    /usr/bin/python3 lazyfs.py [--names=journal|durable] BACKING_DIR MOUNTPOINT

A FUSE passthrough (Debian's python3-fusepy, on libfuse 2) of BACKING_DIR at MOUNTPOINT. Every
change reaches the backing file at once, so reads see pending writes (read-your-writes, across
handles and processes, and through mmap: the kernel reads pages through this filesystem), but
before a file's bytes or size change the old bytes and size are kept in an undo log of its
inode. fsync or fdatasync on any handle of the inode empties that log: the file's contents are
then durable. On the command `drop`, every undo log is played backwards: each file is exactly as
it was at its last fsync (or as it was when first touched, for one never synced, which for a new
file is empty). That is what a power loss does to data that sat in the page cache.

What is covered (the model, stated once):
  - Data: write, pwrite, O_APPEND writes (made at the backing file's end, whatever offset the
    kernel passed), truncate and ftruncate, O_TRUNC: lost on drop unless the inode was fsynced since.
  - Names (create, mknod, mkdir, rename, unlink, rmdir, link, symlink), with --names=journal (the
    default): one journal for the whole filesystem, as ext4 keeps. A name change is durable once
    anything is fsynced after it (a file or a directory: either commits the journal); a drop undoes
    the later ones newest first (a removed file or directory is kept aside until the commit, so it
    comes back with its inode and its own last synced bytes). Stricter than LazyFS, which keeps
    names at once; POSIX alone would be stricter still (a name is only durable after an fsync of its
    own directory), which is not modelled. With --names=durable, names are durable at once, as in
    LazyFS: a renamed file keeps its new name and gets its inode's last synced contents back; a file
    created and never synced is there, empty.
  - Modes, owners and times: durable at once.
  - Shared writable mmap: its pages reach this filesystem as writes when the kernel writes them
    back, so they count as written then; msync + fsync makes them durable as with write.
  - The kernel's own caches are kept honest by the mount options: no attribute or name caching
    (timeouts 0), and a file's cached pages are dropped when it is opened again (no kernel_cache),
    so a process started after a drop reads what the backing files hold. Drop only while no
    process has files open here (kill the writer first, as a power cut would).
  - Removed names are kept in BACKING_DIR.trash until the next commit.

Control, on stdin, one command a line; each is answered with one line on stdout:
  drop   -> "dropped FILES CHANGES" (inodes rolled back; writes, truncations and name changes undone)
  stats  -> "stats WRITES FSYNCS PENDING_FILES"
  quit   -> unmounts and exits. End of input does the same (the test that started it died).
"ready" is printed once the mount is live.
"""
import errno
import os
import shutil
import stat
import subprocess
import sys
import threading

from fusepy import FUSE, FuseOSError, Operations


class LazyFS(Operations):
    def __init__(self, root, mountpoint, journal):
        self.root = os.path.realpath(root)
        # Names: durable at once (False, as LazyFS), or only at the next fsync of anything (True).
        self.journal = journal
        # Journal mode: how to undo each name change since the last commit, oldest first; removed names kept aside.
        self.names = []
        self.trash = self.root + '.trash'
        os.makedirs(self.trash, exist_ok=True)
        self.in_trash = []
        self.trashed = 0
        self.mountpoint = mountpoint
        self.mutex = threading.RLock()
        # inode -> [fd kept open on it, [(offset, old bytes, old size), ...]]
        self.pending = {}
        # fh -> True when opened with O_APPEND
        self.appending = {}
        self.writes = 0
        self.fsyncs = 0

    def _full(self, path):
        return os.path.join(self.root, path.lstrip('/'))

    # ---- the undo log ----

    def _remember(self, fd, offset, length):
        """Keeps what a change of [offset, offset+length) and of the size would destroy."""
        st = os.fstat(fd)
        size = st.st_size
        end = min(offset + length, size)
        old = os.pread(fd, end - offset, offset) if end > offset else b''
        entry = self.pending.get(st.st_ino)
        if entry is None:
            entry = self.pending[st.st_ino] = [os.dup(fd), []]
        entry[1].append((offset, old, size))

    def _forget(self, ino):
        entry = self.pending.pop(ino, None)
        if entry is not None:
            os.close(entry[0])

    def _forget_if_last_link(self, full):
        """Before unlink or rename over: a name whose inode goes away takes its undo log along."""
        try:
            st = os.lstat(full)
        except OSError:
            return
        if st.st_nlink <= 1:
            self._forget(st.st_ino)

    def drop(self):
        with self.mutex:
            files = 0
            undone = 0
            for undo in reversed(self.names):
                try:
                    undo()
                except OSError as err:
                    print(f'note: a name change could not be undone: {err}', file=sys.stderr, flush=True)
                undone += 1
            self.names.clear()
            self.in_trash.clear()
            for ino, (fd, records) in list(self.pending.items()):
                for offset, old, size in reversed(records):
                    if old:
                        os.pwrite(fd, old, offset)
                    os.ftruncate(fd, size)
                    undone += 1
                files += 1
                self._forget(ino)
            return files, undone

    # ---- files ----

    @staticmethod
    def _backing_flags(flags):
        """The backing file's: no O_APPEND or O_TRUNC (done here, undoably), and readable when written (for the undo log)."""
        flags &= ~(os.O_APPEND | os.O_TRUNC)
        if flags & os.O_ACCMODE == os.O_WRONLY:
            flags = (flags & ~os.O_ACCMODE) | os.O_RDWR
        return flags

    def open(self, path, fi):
        with self.mutex:
            flags = self._backing_flags(fi.flags) & ~(os.O_CREAT | os.O_EXCL)
            fd = os.open(self._full(path), flags)
            if fi.flags & os.O_TRUNC:
                self._truncate_fd(fd, 0)
            fi.fh = fd
            self.appending[fd] = bool(fi.flags & os.O_APPEND)
            return 0

    def create(self, path, mode, fi):
        with self.mutex:
            full = self._full(path)
            flags = self._backing_flags(fi.flags)
            existed = os.path.lexists(full)
            fd = os.open(full, flags | os.O_CREAT, mode)
            if existed and fi.flags & os.O_TRUNC:
                self._truncate_fd(fd, 0)
            if not existed:
                self._undo_name(lambda: self._unlink_now(full))
            fi.fh = fd
            self.appending[fd] = bool(fi.flags & os.O_APPEND)
            return 0

    def read(self, path, size, offset, fi):
        with self.mutex:
            return os.pread(fi.fh, size, offset)

    def write(self, path, data, offset, fi):
        with self.mutex:
            fd = fi.fh
            if self.appending.get(fd):
                offset = os.fstat(fd).st_size
            self._remember(fd, offset, len(data))
            self.writes += 1
            return os.pwrite(fd, data, offset)

    def _truncate_fd(self, fd, length):
        size = os.fstat(fd).st_size
        if length == size:
            return
        self._remember(fd, length, max(0, size - length))
        os.ftruncate(fd, length)

    def truncate(self, path, length, fi=None):
        with self.mutex:
            if fi is not None:
                self._truncate_fd(fi.fh, length)
                return 0
            fd = os.open(self._full(path), os.O_RDWR)
            try:
                self._truncate_fd(fd, length)
            finally:
                os.close(fd)
            return 0

    def fsync(self, path, datasync, fi):
        with self.mutex:
            self.fsyncs += 1
            self._forget(os.fstat(fi.fh).st_ino)
            self._commit_names()
            return 0

    def flush(self, path, fi):
        return 0

    def release(self, path, fi):
        with self.mutex:
            self.appending.pop(fi.fh, None)
            os.close(fi.fh)
            return 0

    # ---- names: durable at once, or (journal) at the next fsync of anything ----

    def getattr(self, path, fh=None):
        st = os.lstat(self._full(path))
        return {
            k: getattr(st, k)
            for k in ('st_mode', 'st_ino', 'st_nlink', 'st_uid', 'st_gid', 'st_size', 'st_atime', 'st_mtime', 'st_ctime', 'st_blocks')
        }

    def access(self, path, amode):
        if not os.access(self._full(path), amode):
            raise FuseOSError(errno.EACCES)
        return 0

    def readdir(self, path, fh):
        return ['.', '..'] + os.listdir(self._full(path))

    def readlink(self, path):
        return os.readlink(self._full(path))

    def _to_trash(self, full):
        """Journal mode: a name that goes away is kept aside until the next commit, so a drop can put it back."""
        self.trashed += 1
        kept = os.path.join(self.trash, str(self.trashed))
        os.rename(full, kept)
        self.in_trash.append(kept)
        return kept

    def _undo_name(self, undo):
        if self.journal:
            self.names.append(undo)

    def _commit_names(self):
        """Journal mode, on any fsync: every name change so far is durable; what was removed is gone for good."""
        self.names.clear()
        for kept in self.in_trash:
            try:
                st = os.lstat(kept)
                if stat.S_ISDIR(st.st_mode):
                    shutil.rmtree(kept, ignore_errors=True)
                else:
                    if st.st_nlink <= 1:
                        self._forget(st.st_ino)
                    os.unlink(kept)
            except OSError:
                pass
        self.in_trash.clear()

    def _unlink_now(self, full):
        st = os.lstat(full)
        if st.st_nlink <= 1:
            self._forget(st.st_ino)
        os.unlink(full)

    def mknod(self, path, mode, dev):
        with self.mutex:
            full = self._full(path)
            os.mknod(full, mode, dev)
            self._undo_name(lambda: self._unlink_now(full))
            return 0

    def mkdir(self, path, mode):
        with self.mutex:
            full = self._full(path)
            os.mkdir(full, mode)
            self._undo_name(lambda: os.rmdir(full))
            return 0

    def rmdir(self, path):
        with self.mutex:
            full = self._full(path)
            if not self.journal:
                return os.rmdir(full)
            if os.listdir(full):
                raise FuseOSError(errno.ENOTEMPTY)
            kept = self._to_trash(full)
            self._undo_name(lambda: os.rename(kept, full))
            return 0

    def unlink(self, path):
        with self.mutex:
            full = self._full(path)
            if not self.journal:
                self._forget_if_last_link(full)
                return os.unlink(full)
            kept = self._to_trash(full)
            self._undo_name(lambda: os.rename(kept, full))
            return 0

    def rename(self, old, new):
        with self.mutex:
            src, dst = self._full(old), self._full(new)
            if not self.journal:
                self._forget_if_last_link(dst)
                return os.rename(src, dst)
            kept = None
            if os.path.lexists(dst):
                if os.path.isdir(dst) and os.listdir(dst):
                    raise FuseOSError(errno.ENOTEMPTY)
                kept = self._to_trash(dst)
            try:
                os.rename(src, dst)
            except OSError:
                if kept is not None:
                    os.rename(kept, dst)
                    self.in_trash.remove(kept)
                raise

            def undo():
                os.rename(dst, src)
                if kept is not None:
                    os.rename(kept, dst)

            self._undo_name(undo)
            return 0

    def link(self, target, name):
        with self.mutex:
            new = self._full(target)
            os.link(self._full(name), new)
            self._undo_name(lambda: os.unlink(new))
            return 0

    def symlink(self, name, target):
        with self.mutex:
            new = self._full(name)
            os.symlink(target, new)
            self._undo_name(lambda: os.unlink(new))
            return 0

    def chmod(self, path, mode):
        return os.chmod(self._full(path), mode)

    def chown(self, path, uid, gid):
        return os.chown(self._full(path), uid, gid)

    def utimens(self, path, times=None):
        return os.utime(self._full(path), times)

    def statfs(self, path):
        stv = os.statvfs(self._full(path))
        return {
            k: getattr(stv, k)
            for k in ('f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail', 'f_ffree', 'f_files', 'f_flag', 'f_frsize', 'f_namemax')
        }

    def fsyncdir(self, path, datasync, fh):
        with self.mutex:
            self.fsyncs += 1
            self._commit_names()
            return 0

    def init(self, path):
        print('ready', flush=True)
        threading.Thread(target=self._control, daemon=True).start()

    def _control(self):
        for line in sys.stdin:
            command = line.strip()
            if command == 'drop':
                files, undone = self.drop()
                print(f'dropped {files} {undone}', flush=True)
            elif command == 'stats':
                with self.mutex:
                    print(f'stats {self.writes} {self.fsyncs} {len(self.pending)}', flush=True)
            elif command == 'quit':
                break
            else:
                print(f'error unknown command {command!r}', flush=True)
        # Lazily: a process still in the mount must not keep it (or this process) alive.
        subprocess.run(['fusermount', '-u', '-z', self.mountpoint], check=False)
        shutil.rmtree(self.trash, ignore_errors=True)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    if len(args) != 2 or any(a not in ('--names=journal', '--names=durable') for a in sys.argv[1:] if a.startswith('--')):
        sys.exit('usage: lazyfs.py [--names=journal|durable] BACKING_DIR MOUNTPOINT')
    backing, mountpoint = args
    FUSE(
        LazyFS(backing, mountpoint, journal='--names=durable' not in sys.argv),
        mountpoint,
        raw_fi=True,
        foreground=True,
        nothreads=False,
        fsname='lazyfs',
        attr_timeout=0,
        entry_timeout=0,
        negative_timeout=0,
        use_ino=True,
    )


if __name__ == '__main__':
    main()
