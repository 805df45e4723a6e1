//! The `Redis` object: address, options, connection and parser state, allocated on the
//! MicroPython heap (so the GC sees the socket and host objects it holds).

use resp::parse::{Limits, Parser};

use crate::conn::{self, Conn, Deadline};
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
    /// Bound command objects (`r.get`) by qstr, so calling a command allocates nothing
    /// but its reply (direct-mapped, filled by the glue).
    cmd_cache: [Obj; CMD_CACHE],
}

pub const CMD_CACHE: usize = 8;

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
            cmd_cache: [mp::NULL; CMD_CACHE],
        });
        (*p).conn.debug = debug;
        p as Obj
    }

    pub unsafe fn from_obj<'a>(o: Obj) -> &'a mut Client {
        &mut *(o as *mut Client)
    }

    pub fn command_cache(&mut self) -> &mut [Obj; CMD_CACHE] {
        &mut self.cmd_cache
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

    /// Reconnects a client closed after an error (or by close()) to its own address. A
    /// user's stream cannot be reopened by picoredis.
    unsafe fn ensure_connected(&mut self) -> Result<(), Fail> {
        if self.conn.is_open() {
            return Ok(());
        }
        if self.user_sock {
            return Err(Fail::NotConnected);
        }
        self.connect(mp::none())
    }

    /// Sends the requests that `encode` queues with one write: collected whole in a
    /// temporary vstr (freed right after, so no garbage is left), printed when tracing.
    unsafe fn send_collected(
        &mut self,
        encode: impl FnOnce(&mut Conn) -> Result<(), Fail>,
    ) -> Result<(), Fail> {
        let mut v: sys::vstr_t = core::mem::zeroed();
        sys::vstr_init(&mut v, conn::WBUF);
        self.conn.collect = &mut v;
        let queued = encode(&mut self.conn);
        self.conn.collect = core::ptr::null_mut();
        let data = mp::vstr_slice(&mut v);
        let sent = queued.and_then(|_| {
            if self.conn.debug {
                crate::text::print_repr(b"SEND: ", data, false);
            }
            self.conn.write_all(data)
        });
        sys::vstr_clear(&mut v);
        sent
    }

    fn options(&self, raise_top_error: bool) -> reply::Options {
        reply::Options {
            raise_top_error,
            decode: false,
        }
    }

    /// Reads one reply with the deadline starting now.
    unsafe fn read_reply(&mut self, raise_top_error: bool) -> Result<Obj, Fail> {
        let opts = self.options(raise_top_error);
        let mut input = SocketInput {
            conn: &mut self.conn,
            deadline: Deadline::after(self.timeout_ms),
        };
        reply::read(&mut self.parser, &mut input, opts)
    }

    /// Sends one command and reads its reply.
    pub unsafe fn command(&mut self, args: &[Obj]) -> Result<Obj, Fail> {
        request::check(args)?;
        self.ensure_connected()?;
        self.conn.set_timeout(self.timeout_ms);
        if self.conn.debug {
            self.send_collected(|c| request::encode(c, args))?;
        } else {
            request::encode(&mut self.conn, args)?;
            self.conn.flush()?;
        }
        self.read_reply(true)
    }

    /// Sends every command of `cmds` (each a tuple of arguments) in one write, then reads
    /// all their replies: a list with server errors in place. With `transaction`, the
    /// commands are wrapped in MULTI/EXEC and the result is EXEC's reply (None when a
    /// WATCHed key changed); an error at queue time raises, after all replies are read.
    pub unsafe fn pipeline(&mut self, cmds: &[Obj], transaction: bool) -> Result<Obj, Fail> {
        for &cmd in cmds {
            request::check(mp::items(cmd))?;
        }
        self.ensure_connected()?;
        self.conn.set_timeout(self.timeout_ms);
        let multi = [mp::str_utf8(b"MULTI")];
        let exec = [mp::str_utf8(b"EXEC")];
        self.send_collected(|c| {
            if transaction {
                request::encode(c, &multi)?;
            }
            for &cmd in cmds {
                request::encode(c, mp::items(cmd))?;
            }
            if transaction {
                request::encode(c, &exec)?;
            }
            Ok(())
        })?;
        if !transaction {
            let out = sys::mp_obj_new_list(cmds.len(), core::ptr::null_mut());
            for slot in mp::items_mut(out) {
                *slot = self.read_reply(false)?;
            }
            return Ok(out);
        }
        // MULTI's +OK, one +QUEUED (or an error) per command, then EXEC's reply. Every
        // reply is read before anything is raised, so the link stays in step.
        let multi_reply = self.read_reply(false)?;
        let mut first_error = Some(multi_reply).filter(|&v| is_error(v));
        for _ in cmds {
            let v = self.read_reply(false)?;
            if first_error.is_none() && is_error(v) {
                first_error = Some(v);
            }
        }
        let result = self.read_reply(false)?;
        if is_error(result) {
            return Err(Fail::Reply(first_error.unwrap_or(result)));
        }
        Ok(result)
    }
}

unsafe fn is_error(v: Obj) -> bool {
    reply::is_error(v)
}
