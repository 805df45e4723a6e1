#!/usr/bin/env python3
"""Checks the mip packages `make natmod` lays out (build/natmod/mip/<arch>/), as mip would
read them: package.json lists every file of the package once, under a full URL mip
accepts (http://, https://, github:, gitlab:) that ends in the file's own path and arch;
the files exist; and each .mpy header says what a board checks before loading it: mpy
version 6 and, for the native module, sub-version 3 and the arch of its directory (a wrong
arch fails to import on the board with "incompatible .mpy arch"); bytecode (asyncio.mpy)
has no arch.

    check_package.py build/natmod/mip
"""

import json
import os
import sys

ARCHS = ["none", "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp",
         "armv7emdp", "xtensa", "xtensawin", "rv32imc"]
MIP_PREFIXES = ("http://", "https://", "github:", "gitlab:")


def check(root, arch):
    errors = []
    d = os.path.join(root, arch)
    with open(os.path.join(d, "package.json")) as f:
        pkg = json.load(f)
    urls = pkg.get("urls", [])
    listed = sorted(dest for dest, _ in urls)
    on_disk = sorted(os.path.relpath(os.path.join(r, n), d).replace(os.sep, "/")
                     for r, _, ns in os.walk(d) for n in ns if n != "package.json")
    if listed != on_disk:
        errors.append("package.json lists %s, the package has %s" % (listed, on_disk))
    if "picoredis/__init__.mpy" not in listed:
        errors.append("no picoredis/__init__.mpy")
    for dest, url in urls:
        if not url.startswith(MIP_PREFIXES):
            errors.append("%s: mip takes only full URLs: %s" % (dest, url))
        if not url.endswith("/%s/%s" % (arch, dest)):
            errors.append("%s: URL %s is not this arch's file" % (dest, url))
    if not isinstance(pkg.get("version"), str):
        errors.append("no version")
    for dest in listed:
        with open(os.path.join(d, dest), "rb") as f:
            head = f.read(3)
        native = dest == "picoredis/__init__.mpy"
        if head[:2] != b"M\x06" or (native and head[2] & 3 != 3):
            errors.append("%s: not an mpy 6%s file: %r" % (dest, ".3" if native else "", head))
            continue
        got = ARCHS[head[2] >> 2] if head[2] >> 2 < len(ARCHS) else "?"
        want = arch if native else "none"
        if got != want:
            errors.append("%s: arch %s, wanted %s" % (dest, got, want))
    return errors


def main():
    root = sys.argv[1]
    failed = 0
    for arch in sorted(os.listdir(root)):
        errors = check(root, arch)
        print("%s  mip package %s" % ("FAIL" if errors else "ok  ", arch))
        for e in errors:
            print("    " + e)
        failed += bool(errors)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
