#!/usr/bin/env python3
"""The C-API symbols a PyPy wheel's extension needs, checked against PyPy's libpypy*-c.so
(make wheel): cpyext lacks some of CPython's API, and a missing one otherwise shows only
at import time. Usage: check_pypy_symbols.py WHEEL..."""
import glob
import os
import subprocess
import sys
import tempfile
import zipfile


def symbols(path, defined):
    flag = "--defined-only" if defined else "--undefined-only"
    out = subprocess.run(["nm", "-D", flag, path], check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.split()}


def main(wheels):
    libs = glob.glob("/usr/lib/*/libpypy3*-c.so*") + glob.glob("/usr/lib/pypy3*/bin/libpypy3*-c.so*")
    if not libs:
        print("check_pypy_symbols: no libpypy3*-c.so found")
        return 1
    have = symbols(libs[0], True)
    bad = 0
    for wheel in wheels:
        with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                if name.endswith(".so"):
                    so = z.extract(name, tmp)
                    need = {s for s in symbols(so, False) if s.lstrip("_").startswith("Py")}
                    missing = sorted(need - have)
                    for s in missing:
                        print("%s: %s is not in %s" % (os.path.basename(wheel), s, libs[0]))
                    bad += len(missing)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
