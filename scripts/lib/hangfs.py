# A FUSE filesystem with one file, `stat`, whose read never returns: what a file on a hung
# NFS or FUSE mount does. Regular and non-empty, so joulemon's bounded reader (which refuses
# FIFOs and devices) opens it and blocks in read(2). Usage: hangfs.py MOUNTPOINT -f
import errno, stat, sys, time, fuse
from fuse import Fuse
fuse.fuse_python_api = (0, 2)
class St(fuse.Stat):
    def __init__(self, mode, nlink, size=0):
        self.st_mode = mode; self.st_ino = 0; self.st_dev = 0; self.st_nlink = nlink
        self.st_uid = 0; self.st_gid = 0; self.st_size = size; self.st_atime = self.st_mtime = self.st_ctime = 0
class Hang(Fuse):
    def getattr(self, path):
        if path == "/": return St(stat.S_IFDIR | 0o555, 2)
        if path == "/stat": return St(stat.S_IFREG | 0o444, 1, 4096)
        return -errno.ENOENT
    def readdir(self, path, offset):
        for n in (".", "..", "stat"): yield fuse.Direntry(n)
    def open(self, path, flags):
        return 0 if path == "/stat" else -errno.ENOENT
    def read(self, path, size, offset):
        while True: time.sleep(3600)
h = Hang(); h.multithreaded = True; h.parse(); h.main()
