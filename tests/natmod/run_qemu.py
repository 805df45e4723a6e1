#!/usr/bin/env python3
"""Runs tests/qemu's bare-metal tests against the native .mpy module on a stock firmware
(one built without picoredis) under QEMU.

    run_qemu.py --package build/natmod/mip/ARCH --stage-addr ADDR
                --qemu "QEMU COMMAND -kernel firmware.elf" [TEST ...]

The package is what `make natmod` lays out for mip: picoredis/__init__.mpy (the native
module) and picoredis/asyncio.mpy. The boards have no filesystem, so for each test a fresh
QEMU boots and, over the raw REPL (MicroPython's tools/pyboard.py), the package's files are
written in small pieces to RAM the firmware does not use (ADDR: above its heap and below
its stack, through uctypes.bytearray_at, so staging them costs no heap), a filesystem
serving them is mounted, `import picoredis` (and picoredis.asyncio, for a test that uses
it) loads them as from a board's filesystem, the filesystem is unmounted, and the test
(tests/qemu/lib/*.py + the test) runs with the heap the module leaves, as on a board. Its output must equal its .exp. Prints the heap the imported module takes. Exit
status non-zero on any failure.
"""

import argparse
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
QEMU_TESTS = os.path.join(ROOT, "tests", "qemu")
SKIP = {"test_frozen.py"}  # checks the frozen package, which a stock firmware lacks
CHUNK = 2048

SETUP = """\
import sys, io, vfs, gc, uctypes
class _NatmodFile(io.IOBase):
    def __init__(self, addr, size):
        self.addr = addr
        self.size = size
        self.off = 0
    def ioctl(self, request, arg):
        return 0 if request == 4 else -1
    def readinto(self, buf):
        n = min(len(buf), self.size - self.off)
        buf[:n] = uctypes.bytearray_at(self.addr + self.off, n)
        self.off += n
        return n
class _NatmodFS:
    def mount(self, readonly, mkfs):
        pass
    def umount(self):
        pass
    def chdir(self, path):
        pass
    def stat(self, path):
        path = path.strip('/')
        if path in _natmod_files:
            return (0x8000, 0, 0, 0, 0, 0, _natmod_files[path][1], 0, 0, 0)
        if any(f.startswith(path + '/') for f in _natmod_files):
            return (0x4000, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        raise OSError(2)
    def open(self, path, mode):
        return _NatmodFile(*_natmod_files[path.strip('/')])
def _natmod_import(with_asyncio):
    gc.collect()
    before = gc.mem_alloc()
    vfs.mount(_NatmodFS(), '/natmod')
    sys.path.insert(0, '/natmod')
    import picoredis
    gc.collect()
    print('NATMOD_HEAP', gc.mem_alloc() - before)
    if with_asyncio:
        import picoredis.asyncio
    vfs.umount('/natmod')
    sys.path.pop(0)
    gc.collect()
"""

def package_files(package):
    files = {}
    for path in sorted(glob.glob(os.path.join(package, "picoredis", "*.mpy"))):
        with open(path, "rb") as f:
            files["picoredis/" + os.path.basename(path)] = f.read()
    return files


def run_one(pyboard, qemu, files, stage_addr, test):
    if test is None:
        source = ""
    else:
        source = "".join(open(p).read() for p in sorted(glob.glob(os.path.join(QEMU_TESTS, "lib", "*.py"))))
        source += open(test).read()
    pyb = pyboard.Pyboard("execpty:" + qemu)
    try:
        pyb.enter_raw_repl(soft_reset=False)
        pyb.exec_(SETUP)
        table = {}
        addr = stage_addr
        for name, data in files.items():
            table[name] = (addr, len(data))
            for off in range(0, len(data), CHUNK):
                piece = data[off:off + CHUNK]
                pyb.exec_("uctypes.bytearray_at({}, {})[:] = {!r}".format(addr + off, len(piece), piece))
            addr += (len(data) + 3) & ~3
        pyb.exec_("_natmod_files = {!r}".format(table))
        out = pyb.exec_("_natmod_import({})".format("picoredis.asyncio" in source)).decode()
        heap = int(out.split()[-1]) if out.startswith("NATMOD_HEAP") else None
        if test is None:
            return heap, out, b""
        ret, ret_err = pyb.exec_raw(source, timeout=120)
        return heap, out, ret + ret_err
    finally:
        pyb.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--package", required=True, help="a mip package dir of `make natmod`")
    p.add_argument("--qemu", required=True, help="the QEMU command line, up to -kernel FILE")
    p.add_argument("--stage-addr", required=True, type=lambda v: int(v, 0),
                   help="RAM the firmware leaves unused, for the package's bytes")
    p.add_argument("--micropython", default=os.path.join(ROOT, "build", "deps", "micropython"))
    p.add_argument("--heap-only", action="store_true",
                   help="only import the module and print the heap it takes (make size)")
    p.add_argument("tests", nargs="*")
    a = p.parse_args()
    sys.path.insert(0, os.path.join(a.micropython, "tools"))
    import pyboard

    files = package_files(a.package)
    if "picoredis/__init__.mpy" not in files:
        sys.exit("run_qemu.py: no picoredis/__init__.mpy in " + a.package)
    if a.heap_only:
        heap, out, _ = run_one(pyboard, a.qemu, files, a.stage_addr, None)
        if heap is None:
            sys.exit("run_qemu.py: import failed: " + out)
        print(heap)
        return
    tests = a.tests or [t for t in sorted(glob.glob(os.path.join(QEMU_TESTS, "test_*.py")))
                        if os.path.basename(t) not in SKIP]
    failed = 0
    label = os.path.basename(os.path.normpath(a.package))
    for test in tests:
        name = os.path.basename(test)
        heap, import_out, got = run_one(pyboard, a.qemu, files, a.stage_addr, test)
        want = open(test + ".exp", "rb").read()
        got = got.replace(b"\r\n", b"\n")
        if heap is not None and got == want:
            print("pass  {}  {}  (module heap {} B)".format(label, name, heap))
        else:
            failed += 1
            print("FAIL  {}  {}".format(label, name))
            print("  import: " + import_out.strip())
            for line in got.decode(errors="replace").splitlines()[-15:]:
                print("  | " + line)
    print("natmod {}: {} passed, {} failed".format(label, len(tests) - failed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
