//! The `Redis` object: address, options, connection and parser state, allocated on the
//! MicroPython heap (so the GC sees the socket and host objects it holds).

use resp::parse::{Limits, Parser};

use crate::conn::{Conn, Deadline};
use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::reply::{self, Input};
use crate::request;
use crate::sys;

#[repr(C)]
pub struct Client {
    base: sys::mp_obj_base_t,
    host: Obj,
    port: sys::mp_int_t,
    timeout_ms: u32,
    /// The stream was given by the user (`sock=`): never reconnected by picoredis.
    user_sock: bool,
    conn: Conn,
    parser: Parser,
}

pub fn limits() -> Limits {
    Limits {
        max_depth: reply::MAX_DEPTH,
        // A header or simple line must fit the read buffer.
        max_line_len: crate::conn::RBUF,
        ..Limits::default()
    }
}

/// The socket side of a reply being read: the connection plus the reply's deadline.
struct SocketInput<'a> {
    conn: &'a mut Conn,
    deadline: Deadline,
}

impl Input for SocketInput<'_> {
    fn pending(&self) -> &[u8] {
        self.conn.pending()
    }
    fn consume(&mut self, n: usize) {
        self.conn.consume(n)
    }
    unsafe fn fill(&mut self) -> Result<(), Fail> {
        self.conn.fill(self.deadline)
    }
    unsafe fn read_into(&mut self, dst: &mut [u8]) -> Result<usize, Fail> {
        self.conn.read_into(dst, self.deadline)
    }
    fn debug(&self) -> bool {
        self.conn.debug
    }
}

impl Client {
    pub unsafe fn alloc(
        t: *const sys::mp_obj_type_t,
        host: Obj,
        port: isize,
        timeout_ms: u32,
        debug: bool,
    ) -> Obj {
        let p = sys::m_malloc(core::mem::size_of::<Client>()) as *mut Client;
        p.write(Client {
            base: sys::mp_obj_base_t { type_: t },
            host,
            port: port as sys::mp_int_t,
            timeout_ms,
            user_sock: false,
            conn: Conn::new(),
            parser: Parser::new(limits()),
        });
        (*p).conn.debug = debug;
        p as Obj
    }

    pub unsafe fn from_obj<'a>(o: Obj) -> &'a mut Client {
        &mut *(o as *mut Client)
    }

    pub fn debug(&self) -> bool {
        self.conn.debug
    }

    pub fn set_debug(&mut self, on: bool) {
        self.conn.debug = on;
    }

    pub fn set_address(&mut self, host: Obj, port: Obj) {
        if !mp::is_none(host) {
            self.host = host;
        }
        if !mp::is_none(port) {
            // A non-int port raises TypeError here, before anything changes.
            self.port = unsafe { sys::mp_obj_get_int(port) };
        }
    }

    /// Drops the connection: after this nothing of an earlier reply can be read.
    pub unsafe fn abort(&mut self) {
        self.parser.reset();
        self.conn.detach(true);
    }

    /// Connects to `sock` if it is a stream object, else to host:port.
    pub unsafe fn connect(&mut self, sock: Obj) -> Result<(), Fail> {
        self.abort();
        if !mp::is_none(sock) {
            self.user_sock = true;
            self.conn.attach(sock);
        } else {
            self.user_sock = false;
            let socket =
                sys::mp_import_name(mp::qstr(sys::MP_QSTR_socket), mp::none(), mp::small_int(0));
            let getaddrinfo = mp::load_attr(socket, mp::qstr(sys::MP_QSTR_getaddrinfo));
            let stream = mp::load_attr(socket, mp::qstr(sys::MP_QSTR_SOCK_STREAM));
            let port = mp::small_int(self.port as isize);
            let infos =
                mp::call_function(getaddrinfo, &[self.host, port, mp::small_int(0), stream]);
            let Some(&info) = mp::items(infos).first() else {
                return Err(Fail::Os(sys::MP_EHOSTUNREACH as i32));
            };
            let ai = mp::items(info);
            let (Some(&family), Some(&kind), Some(&proto), Some(&addr)) =
                (ai.first(), ai.get(1), ai.get(2), ai.last())
            else {
                return Err(Fail::Os(sys::MP_EINVAL as i32));
            };
            let sock_type = mp::load_attr(socket, mp::qstr(sys::MP_QSTR_socket));
            let s = mp::call_function(sock_type, &[family, kind, proto]);
            // Attached before connecting, so a failed connect still closes the socket.
            self.conn.attach(s);
            self.conn.set_timeout(self.timeout_ms);
            mp::call_method(s, mp::qstr(sys::MP_QSTR_connect), &[addr]);
        }
        self.conn.set_timeout(self.timeout_ms);
        Ok(())
    }

    /// Sends one command and reads its reply.
    pub unsafe fn command(&mut self, args: &[Obj]) -> Result<Obj, Fail> {
        if !self.conn.is_open() {
            // Closed after an error (or by close()): reconnect to our own address. A user
            // stream cannot be reopened by us.
            if self.user_sock {
                return Err(Fail::NotConnected);
            }
            self.connect(mp::none())?;
        }
        self.conn.set_timeout(self.timeout_ms);
        if self.conn.debug {
            mp::print(b"SEND: '");
        }
        let sent = request::encode(&mut self.conn, args).and_then(|_| self.conn.flush());
        if self.conn.debug {
            mp::print(b"'\n");
        }
        sent?;
        let mut input = SocketInput {
            conn: &mut self.conn,
            deadline: Deadline::after(self.timeout_ms),
        };
        reply::read(
            &mut self.parser,
            &mut input,
            reply::Options {
                raise_top_error: true,
            },
        )
    }
}
