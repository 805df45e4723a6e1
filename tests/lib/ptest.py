# Tiny test framework for MicroPython (and CPython).
#
#   from ptest import test, run, eq, raises
#
#   @test
#   def test_something():
#       eq(1 + 1, 2)
#
#   run()
#
# run() prints `PASS name` or `FAIL name: <exception repr>` (followed by an
# indented traceback) for each test, then `N passed, M failed`; the runner
# (tests/run_unix_tests.py) parses exactly these lines.
import sys

try:
    import io
except ImportError:  # pragma: no cover
    io = None

_tests = []


def test(fn):
    """Decorator: register fn as a test named after the function."""
    _tests.append((fn.__name__, fn))
    return fn


def add(name, fn, *args):
    """Register fn(*args) under an explicit name (for table-driven tests)."""
    _tests.append((name, lambda: fn(*args)))


class AssertFailed(Exception):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise AssertFailed(msg)


def eq(got, want, what=""):
    if not (type(got) is type(want) and got == want):
        raise AssertFailed("%s%r (%s) != expected %r (%s)" % (
            what + ": " if what else "", _short(got), type(got).__name__,
            _short(want), type(want).__name__))


def raises(exc_types, fn, *args, **kw):
    """Call fn; it must raise one of exc_types. Returns the exception."""
    try:
        result = fn(*args, **kw)
    except exc_types as e:
        return e
    raise AssertFailed("expected %r, got return value %r" % (exc_types, _short(result)))


def _short(v, limit=200):
    r = repr(v)
    return r if len(r) <= limit else r[:limit] + "...(%d chars)" % len(r)


def _traceback(e):
    if io is None or not hasattr(sys, "print_exception"):
        try:
            import traceback
            return traceback.format_exc()
        except ImportError:
            return ""
    buf = io.StringIO()
    sys.print_exception(e, buf)
    return buf.getvalue()


def _describe(e):
    # AssertFailed carries a ready-made message; repr() would escape it twice.
    if isinstance(e, AssertFailed):
        return "AssertFailed(%s)" % e.args[0]
    return repr(e)


def run(before_each=None):
    """Run the registered tests in order; before_each() runs before each one
    (typically to give every test a fresh client, so one failure that
    desynchronises a connection can't cascade into the next tests)."""
    passed = failed = 0
    for name, fn in _tests:
        try:
            if before_each is not None:
                before_each()
            fn()
        except Exception as e:
            failed += 1
            print("FAIL %s: %s" % (name, _describe(e)))
            lines = [l for l in _traceback(e).split("\n") if l]
            if len(lines) > 8:  # deep recursion makes endless tracebacks
                lines = lines[:1] + ["  ..."] + lines[-6:]
            for line in lines:
                print("    " + line)
        else:
            passed += 1
            print("PASS %s" % name)
    print("%d passed, %d failed" % (passed, failed))
    return failed == 0
