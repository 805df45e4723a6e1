#!/usr/bin/env python3
"""Lays out the mip package of one natmod arch.

    package.py --arch ARCH --module picoredis-ARCH.mpy --mpy-cross MPY_CROSS --out DIR
               [--url-base URL]

DIR/picoredis/__init__.mpy   the native module (picoredis' C glue + Rust core)
DIR/picoredis/asyncio.mpy    mpy_module/python/picoredis/asyncio.py, compiled
DIR/picoredis/_async_common.mpy   the asyncio client's part shared with CPython's, compiled
DIR/package.json             what `mip.install()` / `mpremote mip install` read

A board's `lib/` then holds the same `picoredis` package as a firmware with the frozen
part: `import picoredis`, `from picoredis.asyncio import Redis`. mip accepts only full
URLs (http://, https://, github:, gitlab:) in package.json, so the files' URLs are
URL_BASE/ARCH/... (URL_BASE: where the tree under build/natmod/mip/ is published; README:
"Stock firmware").
"""

import argparse
import json
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PYTHON = os.path.join(ROOT, "mpy_module", "python", "picoredis")
# The Python modules of the package, compiled (picoredis.asyncio imports _async_common).
MODULES = ["asyncio", "_async_common"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", required=True)
    p.add_argument("--module", required=True, help="the natmod .mpy")
    p.add_argument("--mpy-cross", required=True)
    p.add_argument("--out", required=True)
    # Unset: a placeholder that cannot resolve (example.invalid is reserved for that), so
    # an unpublished package fails loudly rather than fetching from somewhere else.
    p.add_argument("--url-base", default="https://example.invalid/picoredis")
    p.add_argument("--version", default="0.2.0")
    a = p.parse_args()

    pkg = os.path.join(a.out, "picoredis")
    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(pkg)
    shutil.copyfile(a.module, os.path.join(pkg, "__init__.mpy"))
    files = ["picoredis/__init__.mpy"]
    for m in MODULES:
        subprocess.run([a.mpy_cross, "-o", os.path.join(pkg, m + ".mpy"), "-s", m + ".py",
                        os.path.join(PYTHON, m + ".py")], check=True)
        files.append("picoredis/%s.mpy" % m)
    package = {
        "urls": [[f, "{}/{}/{}".format(a.url_base.rstrip("/"), a.arch, f)] for f in files],
        "version": a.version,
    }
    with open(os.path.join(a.out, "package.json"), "w") as f:
        json.dump(package, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
