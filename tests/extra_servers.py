"""Extra real redis-servers for the connection-option tests (CPython, stdlib only).

- an AUTH server: the default user needs a password and an ACL user exists;
- a TLS server: a certificate authority and a server certificate made at start with
  openssl, redis-server listening with TLS (and a plain port, only for readiness);
- a restartable server plus a control socket: a test sends b"restart\\n" and gets
  b"ok\\n" once a fresh redis-server listens on the same port again (so reconnects
  across a real server restart can be tested from inside the firmware).

`ExtraServers().env()` gives the environment the tests read (see tests/lib/testenv.py).
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from redis_fixture import RedisServer, free_port, command  # noqa: E402

PASSWORD = "sekret"
ACL_USER, ACL_PASSWORD = "alice", "wonderland"


class RestartableServer(RedisServer):
    def restart(self):
        """Stop redis and start a new one on the same port (the data is gone)."""
        self._kill()
        self._spawn()


def make_certs(directory):
    """A CA and a server certificate for CN=localhost; returns (ca, cert, key) paths."""
    ca_key, ca = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.crt")
    key, csr = os.path.join(directory, "server.key"), os.path.join(directory, "server.csr")
    cert = os.path.join(directory, "server.crt")
    ext = os.path.join(directory, "ext.cnf")
    with open(ext, "w") as f:
        # mbedTLS 2.28 matches the name given to wrap_socket textually against DNS
        # entries, so the loopback address is listed as a DNS name too.
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:127.0.0.1\n")

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=picoredis test CA",
        "-keyout", ca_key, "-out", ca)
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", key, "-out", csr)
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
        "-extfile", ext, "-out", cert)
    return ca, cert, key


class ControlServer(threading.Thread):
    """Restarts `server` when a client sends b"restart\\n"."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(30)
                try:
                    if conn.recv(64).strip() == b"restart":
                        self.server.restart()
                        conn.sendall(b"ok\n")
                except OSError:
                    pass

    def close(self):
        self.sock.close()


class ExtraServers:
    def __enter__(self):
        self.tmp = tempfile.mkdtemp(prefix="picoredis-extra-")
        self.auth = RedisServer().start()
        self.auth.command("ACL", "SETUSER", ACL_USER, "on", ">" + ACL_PASSWORD, "~*", "&*", "+@all")
        self.auth.command("CONFIG", "SET", "requirepass", PASSWORD)
        self.ca, cert, key = make_certs(self.tmp)
        self.tls_port = free_port()
        self.tls = RedisServer(["--tls-port", str(self.tls_port), "--tls-cert-file", cert,
                                "--tls-key-file", key, "--tls-ca-cert-file", self.ca,
                                "--tls-auth-clients", "no"]).start()
        self.restartable = RestartableServer().start()
        self.control = ControlServer(self.restartable)
        self.control.start()
        return self

    def env(self):
        return dict(PICOREDIS_AUTH_PORT=str(self.auth.port),
                    PICOREDIS_AUTH_PASSWORD=PASSWORD,
                    PICOREDIS_ACL_USER=ACL_USER, PICOREDIS_ACL_PASSWORD=ACL_PASSWORD,
                    PICOREDIS_TLS_PORT=str(self.tls_port), PICOREDIS_TLS_CA=self.ca,
                    PICOREDIS_RESTART_PORT=str(self.restartable.port),
                    PICOREDIS_CONTROL_PORT=str(self.control.port))

    def __exit__(self, *exc):
        self.control.close()
        for s in (self.restartable, self.tls, self.auth):
            s.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return False


if __name__ == "__main__":
    with ExtraServers() as x:
        for k, v in x.env().items():
            print("%s=%s" % (k, v))
        print(command(x.auth.port, "PING"))
