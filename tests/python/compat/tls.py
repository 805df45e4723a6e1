# MicroPython's `tls` module, as the shared test files (tests/unix/test_tls.py) use it,
# over CPython's and PyPy's `ssl`: what differs is that load_verify_locations takes the
# CA's bytes (ssl: cadata=, as text) and that CERT_NONE switches the name check off
# (ssl refuses CERT_NONE while check_hostname is on; MicroPython checks no name then).
import ssl as _ssl
from ssl import CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED, PROTOCOL_TLS_CLIENT  # noqa: F401


class SSLContext(_ssl.SSLContext):
    def load_verify_locations(self, cadata=None, *args, **kwargs):
        if isinstance(cadata, (bytes, bytearray)):
            return _ssl.SSLContext.load_verify_locations(self, cadata=bytes(cadata).decode())
        return _ssl.SSLContext.load_verify_locations(self, cadata, *args, **kwargs)

    @property
    def verify_mode(self):
        return _ssl.SSLContext.verify_mode.fget(self)

    @verify_mode.setter
    def verify_mode(self, value):
        if value == CERT_NONE:
            self.check_hostname = False
        _ssl.SSLContext.verify_mode.fset(self, value)
