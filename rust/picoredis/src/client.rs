//! The `Redis` object: options, connection and parser state, allocated on the MicroPython
//! heap (so the GC sees the socket, host and credential objects it holds).
//!
//! The unsafe methods here share one contract (in their `# Safety` sections: "the client
//! contract"): VM thread, inside a glue call holding this client's lock (the `&mut self`
//! is the only one); they may raise, so the frames up to the glue's `nlr_push` must hold
//! nothing that needs dropping. The objects they are given must be valid.

use resp::parse::Parser;

use crate::conn::{self, Conn, Deadline};
use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::options::{picoredis_head_t, Options};
use crate::reply::{self, Input};
use crate::session::{self, Effect};
use crate::{handshake, request, sys};

pub const CMD_CACHE: usize = 8;

const BAD_ADDRESS: &str = "host must be a str, port an int";

/// After this long without traffic, the link is checked before a command is sent: a
/// server that restarted or dropped an idle client leaves the socket readable (EOF).
const IDLE_CHECK_MS: u32 = 250;

/// Commands up to this size are sent with a single write.
const COLLECT_MAX: usize = 64 * 1024;
/// The smallest buffer a request is collected in (grown by doubling if it is too small).
const COLLECT_MIN: usize = 512;

/// A pipeline is sent in parts once its request grows past this many bytes (the first
/// part), each next part twice as long up to `LAST_PART`: the server starts on the first
/// commands while the client encodes the rest, and the parts are few (a batch of 1000
/// GETs, 31 KB: 5 writes).
#[cfg(speed)]
const FIRST_PART: usize = 2 * 1024;
#[cfg(speed)]
const LAST_PART: usize = 16 * 1024;

#[repr(C)]
pub struct Client {
    head: picoredis_head_t,
    /// The options, kept up to date with the session commands the user ran (SELECT,
    /// HELLO, AUTH, CLIENT SETNAME, RESET): what a reconnect re-applies.
    pub opts: Options,
    /// Inside MULTI (the server is queueing).
    in_multi: bool,
    /// Keys are WATCHed.
    watching: bool,
    /// The connection was lost inside MULTI or after WATCH: the next command raises
    /// instead of running outside the transaction on a fresh connection.
    transaction_lost: bool,
    /// The stream was given by the user (`sock=`): never reconnected by picoredis.
    user_sock: bool,
    /// This connection belongs to a `PubSub`: push frames are its messages.
    pubsub: bool,
    /// The connect backoff's random state (xorshift32, stirred with the clock).
    #[cfg(feature = "heal")]
    rng: u32,
    /// What a `PubSub` is subscribed to, renewed on every new connection.
    #[cfg(feature = "pubsub")]
    subs: crate::pubsub::Subscriptions,
    /// A `PubSub` connected once: its first connection (opened by the first subscribe)
    /// is no reconnect, so `reconnect=False` does not stop it.
    #[cfg(feature = "pubsub")]
    opened: bool,
    /// A client from `Sentinel.master_for()`: the Sentinel object asked for the primary on
    /// every connect (NULL for other clients).
    #[cfg(feature = "sentinel")]
    pub sentinel: Obj,
    /// The name of the primary the sentinels monitor (`master_for`'s first argument).
    #[cfg(feature = "sentinel")]
    pub service: Obj,
    /// A client from `Sentinel.slave_for()`: a replica of `service` is wanted (sentinel.rs:
    /// `open`), and `turn` picks which one the next connect tries first (the rotation).
    #[cfg(feature = "sentinel")]
    pub replica: bool,
    #[cfg(feature = "sentinel")]
    pub turn: u16,
    /// A Sentinel object: its list of (host, port) tuples, the one that answered last
    /// first (its connection, when open, goes to that one).
    #[cfg(feature = "sentinel")]
    pub sentinels: Obj,
    // (pub(crate): a host that keeps objects alive by scanning this block skips the
    // byte buffers and the parse stack, which hold no objects.)
    pub(crate) conn: Conn,
    pub(crate) parser: Parser,
    /// Bound command objects (`r.get`) by qstr, so calling a command allocates nothing
    /// but its reply (direct-mapped, filled by the glue).
    cmd_cache: [Obj; CMD_CACHE],
}

// Nothing alive across a MicroPython call (which may longjmp) may need dropping.
const _: () = assert!(!core::mem::needs_drop::<Client>());
const _: () = assert!(!core::mem::needs_drop::<SocketInput>());

/// The socket side of a reply being read: the connection plus the reply's deadline.
struct SocketInput<'a> {
    conn: &'a mut Conn,
    /// The reply's time limit (ms), and its deadline once a read needs one: a reply whose
    /// bytes are already buffered (most of a pipeline's) never reads the clock.
    timeout: u32,
    deadline: Option<Deadline>,
}

impl SocketInput<'_> {
    fn deadline(&mut self) -> Deadline {
        let timeout = self.timeout;
        *self
            .deadline
            .get_or_insert_with(|| Deadline::after(timeout))
    }
}

impl Input for SocketInput<'_> {
    fn pending(&self) -> &[u8] {
        self.conn.pending()
    }
    fn consume(&mut self, n: usize) {
        self.conn.consume(n)
    }
    unsafe fn fill(&mut self) -> Result<(), Fail> {
        let deadline = self.deadline();
        // SAFETY: the caller's contract; a reply is read only on an open connection.
        unsafe { self.conn.fill(deadline) }
    }
    unsafe fn read_into(&mut self, dst: &mut [u8]) -> Result<usize, Fail> {
        // Buffered bytes need no deadline (nor a clock read, a Python call in a native
        // module): `read_into` takes them without waiting. (A board's firmware reads its
        // clock cheaply: there, in less flash, the deadline is always taken.)
        let deadline = if cfg!(any(speed, feature = "natmod")) && !self.conn.pending().is_empty() {
            Deadline::UNUSED
        } else {
            self.deadline()
        };
        // SAFETY: the caller's contract; a reply is read only on an open connection.
        unsafe { self.conn.read_into(dst, deadline) }
    }
    fn debug(&self) -> bool {
        self.conn.tracing()
    }
}

impl Client {
    /// A new, unconnected client object of type `t`, without its lock (the glue adds it).
    ///
    /// # Safety
    /// VM thread; may raise (MemoryError). `t` must be the Redis or PubSub type (whose
    /// objects are this struct); the objects in `opts` must be valid.
    pub unsafe fn alloc(t: *const sys::mp_obj_type_t, opts: &Options, pubsub: bool) -> Obj {
        // Zeroed memory is already a closed connection with empty buffers and cache
        // (null pointers, zero lengths, false flags): only the rest is written, which
        // keeps the code small (no 2 KB struct literal to build and copy).
        // SAFETY: the caller's contract. `p` is fresh zeroed memory for one Client: the
        // fields zero is not valid for are written in place (not read, not dropped)
        // before the object is used.
        unsafe {
            let p = mp::malloc0::<Client>();
            core::ptr::addr_of_mut!((*p).head.base).write(sys::mp_obj_base_t { type_: t });
            core::ptr::addr_of_mut!((*p).opts).write(*opts);
            core::ptr::addr_of_mut!((*p).parser).write(Parser::new(reply::limits()));
            (*p).pubsub = pubsub;
            (*p).conn.debug = opts.debug;
            (*p).conn.write_ms = conn::timeout(opts.timeout_ms);
            p as Obj
        }
    }

    /// The client behind `o`, if `o` is a Redis or PubSub object.
    ///
    /// # Safety
    /// VM thread, holding `o`'s lock (no other `&mut` to it exists for `'a`). `o` must be
    /// a valid object.
    pub unsafe fn from_obj<'a>(o: Obj) -> Option<&'a mut Client> {
        // SAFETY: the caller's contract; a Redis or PubSub object is this struct (made by
        // `alloc`).
        unsafe { mp::is_client(o).then(|| &mut *(o as *mut Client)) }
    }

    /// Whether the connection is open.
    #[cfg(feature = "sentinel")]
    pub fn is_open(&self) -> bool {
        self.conn.is_open()
    }

    /// A `master_for` client (READONLY means its primary was demoted), not a `slave_for`
    /// one (on a replica READONLY is the answer to a write).
    #[cfg(feature = "sentinel")]
    fn follows_primary(&self) -> bool {
        !self.sentinel.is_null() && !self.replica
    }

    /// Whether this client talks over a stream the user gave (`sock=`).
    #[cfg(feature = "pubsub")]
    pub fn user_sock(&self) -> bool {
        self.user_sock
    }

    /// The command cache's slots of `o` (NULL if `o` is not a client), reached without
    /// making a reference to the client: another thread may be inside an operation on it.
    ///
    /// # Safety
    /// VM thread. `o` must be a valid object.
    pub unsafe fn command_cache(o: Obj) -> *mut Obj {
        // SAFETY: the caller's contract; a client object is a `Client`, and only the
        // field's address is taken.
        unsafe {
            if !mp::is_client(o) {
                return core::ptr::null_mut();
            }
            core::ptr::addr_of_mut!((*(o as *mut Client)).cmd_cache) as *mut Obj
        }
    }

    #[cfg(feature = "trace")]
    pub fn debug(&self) -> bool {
        self.conn.debug
    }

    #[cfg(feature = "trace")]
    pub fn set_debug(&mut self, on: bool) {
        self.conn.debug = on;
        self.opts.debug = on;
    }

    /// Changes the address used by the next connect; None keeps a value. Both are checked
    /// before either changes.
    ///
    /// # Safety
    /// The client contract (nothing is raised).
    pub unsafe fn set_address(&mut self, host: Obj, port: Obj) -> Result<(), Fail> {
        // SAFETY: the caller's contract: `host` is a valid object.
        if !mp::is_none(host) && !unsafe { mp::is_str(host) } {
            return Err(Fail::Type(BAD_ADDRESS));
        }
        let port = if mp::is_none(port) {
            self.opts.port
        } else {
            // SAFETY: the caller's contract: `port` is a valid object.
            let is_int = || unsafe { mp::is_int(port) };
            // SAFETY: as above. (An int object counts too: an `array('q')` item.)
            let value = unsafe { mp::int_small(port) };
            let Some(p) = value.or_else(|| is_int().then_some(-1)) else {
                return Err(Fail::Type(BAD_ADDRESS));
            };
            if !(0..=65535).contains(&p) {
                return Err(Fail::Value("port must be 0-65535"));
            }
            p as sys::mp_int_t
        };
        if !mp::is_none(host) {
            self.opts.host = host;
        }
        self.opts.port = port;
        Ok(())
    }

    fn timeout_ms(&self) -> u32 {
        conn::timeout(self.opts.timeout_ms)
    }

    /// Drops the connection after a failure: nothing of an earlier reply can be read after
    /// this. An error from the stream's own close is dropped (the failure that got us here
    /// is the one to report). A transaction in progress is lost with the connection.
    ///
    /// # Safety
    /// The client contract (nothing is raised).
    pub unsafe fn abort(&mut self) {
        let lost = self.in_multi || self.watching || self.transaction_lost;
        // SAFETY: the caller's contract.
        let _ = unsafe { self.close() };
        self.transaction_lost = lost;
    }

    /// `close()`: the user ends the connection (and any transaction with it). The client
    /// is closed whatever happens; an error from the stream's own close is returned.
    ///
    /// # Safety
    /// The client contract (nothing is raised).
    pub unsafe fn close(&mut self) -> Result<Obj, Fail> {
        self.in_multi = false;
        self.watching = false;
        self.transaction_lost = false;
        self.parser.reset();
        // SAFETY: the caller's contract.
        match unsafe { self.conn.detach(true) } {
            Some(exc) => Err(Fail::Exception(exc)),
            None => Ok(mp::none()),
        }
    }

    /// Connects to `sock` if it is a stream object, else to host:port (through TLS when
    /// configured), then authenticates, names the connection and selects the database
    /// (and a `PubSub` subscribes again to what it was subscribed to). With the `heal`
    /// part, a host:port attempt that fails on the way (refused, unreachable, reset, no
    /// answer in time) is retried up to `retries` times, each after a backoff
    /// (`backoff_ms`); a refused handshake (a wrong password) is not. Nothing of a command
    /// is sent here, so retrying is safe.
    ///
    /// # Safety
    /// The client contract.
    #[cfg(not(feature = "heal"))]
    pub unsafe fn connect(&mut self, sock: Obj) -> Result<(), Fail> {
        // SAFETY: the caller's contract.
        unsafe { self.connect_once(sock) }
    }

    /// See above.
    ///
    /// # Safety
    /// The client contract.
    #[cfg(feature = "heal")]
    pub unsafe fn connect(&mut self, sock: Obj) -> Result<(), Fail> {
        let retries = if mp::is_none(sock) {
            self.opts.retries
        } else {
            0
        };
        let mut attempt = 0;
        loop {
            if attempt >= retries {
                // The last attempt (the only one with `retries=0`) runs unprotected, as
                // connecting did before the retries: what it raises reaches the glue as
                // it is, which turns a timeout into RedisTimeout when a command was
                // reconnecting (the constructor's and connect()'s stay OSError).
                // SAFETY: the caller's contract.
                return unsafe { self.connect_once(sock) };
            }
            // SAFETY: the caller's contract.
            let done = unsafe { self.connect_protected(sock) };
            match done {
                // SAFETY: the caller's contract: a Fail holds a valid exception.
                Err(f) if unsafe { retryable(f) } => {
                    attempt += 1;
                    let wait = self.backoff_ms(attempt as u32);
                    // SAFETY: the caller's contract (a KeyboardInterrupt may end the wait).
                    unsafe { mp::delay_ms(wait) };
                }
                _ => return done,
            }
        }
    }

    /// The wait before connect retry `attempt` (1, 2, ...), as `picoredis.asyncio` waits:
    /// a random number of ms in [0, min(backoff_cap, backoff_base << attempt)] (capped
    /// exponential backoff, full jitter), so clients that lost one server do not all
    /// come back in step. The random numbers are xorshift32 stirred with the clock at
    /// each draw (and the client's address: two clients of one board differ).
    #[cfg(feature = "heal")]
    fn backoff_ms(&mut self, attempt: u32) -> u32 {
        let ms = |v: sys::mp_int_t| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
        let top = ms(self.opts.backoff_cap)
            .min(ms(self.opts.backoff_base).saturating_mul(1 << attempt.min(16)));
        let mut x = (self.rng ^ mp::ticks_ms() ^ (self as *const Self as usize as u32)) | 1;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x.checked_rem(top.wrapping_add(1)).unwrap_or(x)
    }

    /// One connect attempt (see `connect`); a failed attempt leaves the client closed (if
    /// it raises, the glue's `picoredis_abandon` closes it).
    ///
    /// # Safety
    /// The client contract.
    unsafe fn connect_once(&mut self, sock: Obj) -> Result<(), Fail> {
        // SAFETY: the caller's contract.
        let done = unsafe { self.open(sock) };
        if done.is_err() {
            // SAFETY: the caller's contract.
            unsafe { self.abort() };
        }
        done
    }

    /// A connect attempt that may be retried: an exception raised on the way (the
    /// socket's connect, DNS, TLS) is returned as `Fail::Exception`, for `connect` to
    /// decide on a retry; the client is left closed.
    ///
    /// # Safety
    /// The client contract.
    #[cfg(feature = "heal")]
    unsafe fn connect_protected(&mut self, sock: Obj) -> Result<(), Fail> {
        let mut done = Err(Fail::NotConnected);
        // SAFETY: the caller's contract; the closure runs within this call and captures
        // only references (nothing to drop), so an exception may skip it.
        let raised = unsafe { mp::protect(&mut || done = self.connect_once(sock)) };
        match raised {
            Some(exc) => {
                // SAFETY: the caller's contract.
                unsafe { self.abort() };
                Err(Fail::Exception(exc))
            }
            None => done,
        }
    }

    /// Opens the stream and runs the handshake (`connect` without the retries).
    ///
    /// # Safety
    /// The client contract.
    unsafe fn open(&mut self, sock: Obj) -> Result<(), Fail> {
        // SAFETY: the caller's contract.
        unsafe {
            // The old stream is replaced: an error from its close does not stop the new one.
            let _ = self.close();
            // A master_for / slave_for client's node comes from the sentinels: sentinel.rs
            // opens it and checks its ROLE before anything else (a PubSub's subscriptions).
            #[cfg(feature = "sentinel")]
            if !self.sentinel.is_null() {
                crate::sentinel::open(self)?;
            } else {
                self.open_node(sock)?;
            }
            #[cfg(not(feature = "sentinel"))]
            self.open_node(sock)?;
            #[cfg(feature = "pubsub")]
            {
                self.opened = true;
            }
            #[cfg(feature = "pubsub")]
            if self.subs.any() {
                // The subscriptions, renewed before anything else is sent: their
                // confirmations arrive as messages, as the first ones did.
                let cmds = self.subs.commands();
                self.send_collected(false, 64, &|c| {
                    for args in cmds.iter().filter(|a| a.len() > 1) {
                        request::encode(c, args)?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        }
    }

    /// Opens the stream (`sock`, or a socket to host:port) and runs the handshake.
    ///
    /// # Safety
    /// The client contract; the client is closed.
    pub unsafe fn open_node(&mut self, sock: Obj) -> Result<(), Fail> {
        // SAFETY: the caller's contract. `attach` or `open_socket` leaves the connection
        // open, as the handshake's `send_collected` and `read_reply` need; the closure
        // runs within this call, captures only references (nothing to drop), and sends
        // the handshake's own objects.
        unsafe {
            if !mp::is_none(sock) {
                self.user_sock = true;
                self.conn.attach(sock, mp::NULL);
            } else {
                self.user_sock = false;
                self.open_socket()?;
            }
            self.conn.write_ms = self.timeout_ms();
            self.conn.set_timeout(self.timeout_ms());
            let opts = self.opts;
            handshake::run(&opts, &mut |args, secret| {
                let size = request::check(args)?;
                self.send_collected(secret, size, &|conn| request::encode(conn, args))?;
                self.read_reply(true).map(|_| ())
            })
        }
    }

    /// Whether the node says it is a `role` (`master`, `slave`): the first word of its
    /// `ROLE` reply.
    ///
    /// # Safety
    /// The client contract; the connection must be open.
    #[cfg(feature = "sentinel")]
    pub unsafe fn has_role(&mut self, role: &[u8]) -> Result<bool, Fail> {
        // SAFETY: the caller's contract; the reply's items are read at once.
        unsafe {
            let question = [mp::qstr_obj(mp::qstr(sys::MP_QSTR_ROLE))];
            self.send_collected(false, 16, &|c| request::encode(c, &question))?;
            let reply = self.read_reply(true)?;
            let first = if mp::type_is(reply, mp::list_type()) {
                mp::items(reply).first().copied()
            } else {
                None
            };
            Ok(first.and_then(|r| mp::buffer(r)) == Some(role))
        }
    }

    /// Opens a socket to host:port (through TLS when configured) and attaches it.
    ///
    /// # Safety
    /// The client contract.
    unsafe fn open_socket(&mut self) -> Result<(), Fail> {
        // SAFETY: the caller's contract; every object here is one of the options or one
        // MicroPython returned. `getaddrinfo`'s result is a list of tuples that only this
        // call can reach, so their items stay put while they are read.
        unsafe {
            let socket = mp::import(mp::qstr(sys::MP_QSTR_socket));
            let getaddrinfo = mp::load_attr(socket, mp::qstr(sys::MP_QSTR_getaddrinfo));
            let stream = mp::load_attr(socket, mp::qstr(sys::MP_QSTR_SOCK_STREAM));
            let port = mp::small_int(self.opts.port as isize);
            let infos = mp::call_function(
                getaddrinfo,
                &[self.opts.host, port, mp::small_int(0), stream],
            );
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
            self.conn.attach(s, mp::NULL);
            let connect_ms = u32::try_from(self.opts.connect_timeout_ms).unwrap_or(u32::MAX);
            self.conn.set_timeout(connect_ms);
            mp::call_method(s, mp::qstr(sys::MP_QSTR_connect), &[addr]);
            no_delay(socket, s);
            if !mp::is_none(self.opts.ssl_context) {
                #[cfg(feature = "tls")]
                {
                    let tls = crate::tls::wrap(s, self.opts.ssl_context, self.opts.host)?;
                    self.conn.attach(tls, s);
                    self.conn.set_timeout(connect_ms);
                }
                // (The glue refuses ssl= without TLS; this is the backstop.)
                #[cfg(not(feature = "tls"))]
                return Err(Fail::Value("picoredis was built without TLS"));
            }
        }
        Ok(())
    }

    /// Makes sure there is a healthy connection to send on. A connection that was closed
    /// (after an error, or by close()) is reopened (`connect`: with its retries), when
    /// `reconnect` allows it; one that sat idle is first polled, since a server restart
    /// leaves it readable at EOF, and one idle past `health_check_interval` answers a
    /// PING first (a link that died silently is replaced: the command is not sent yet,
    /// so it is never sent twice). Bytes that
    /// no command asked for (other than RESP3 pushes) make the link untrustworthy: it is
    /// closed and the command fails with ParseError, unsent. A transaction lost with the
    /// old connection fails the command too, rather than running it outside.
    ///
    /// # Safety
    /// The client contract.
    pub unsafe fn ensure_connected(&mut self) -> Result<(), Fail> {
        // SAFETY: the caller's contract; `fill` runs only on the open connection.
        unsafe {
            if let Some(&first) = self.conn.pending().first() {
                let push = self.opts.protocol == 3 && first == b'>';
                if !(self.pubsub || push) {
                    self.abort();
                    return Err(Fail::Protocol(
                        "unsolicited data from the server: connection closed",
                    ));
                }
            }
            if self.conn.is_open() {
                let idle = self.conn.idle_ms();
                // Readable while nothing was asked: EOF (the server closed it) or bytes
                // nobody asked for. RESP3 push frames are fine (replies skip them); anything
                // else means this link cannot be trusted. (A pub/sub connection is readable
                // whenever messages wait: not a sign.)
                if !self.pubsub && idle >= IDLE_CHECK_MS && self.conn.readable_now() {
                    match self.conn.fill(Deadline::after(1)) {
                        Err(Fail::Timeout) => {}
                        Ok(()) if self.opts.protocol == 3 => {}
                        _ => self.abort(),
                    }
                }
                if self.conn.is_open() {
                    if !self.health_check_due(idle) {
                        return Ok(());
                    }
                    // The link answers (an error reply too): the command may go. Otherwise
                    // it is dead, and replaced below: the command was not sent yet.
                    match self.ping() {
                        Ok(_) | Err(Fail::Reply(_)) => return Ok(()),
                        Err(_) => self.abort(),
                    }
                }
            }
            if core::mem::take(&mut self.transaction_lost) {
                return Err(Fail::TransactionLost);
            }
            #[cfg(feature = "pubsub")]
            let first = self.pubsub && !self.opened;
            #[cfg(not(feature = "pubsub"))]
            let first = false;
            if self.user_sock || !(self.opts.reconnect || first) {
                return Err(Fail::NotConnected);
            }
            self.connect(mp::none())
        }
    }

    /// Whether the link, idle for `idle` ms, gets a health check before the next command:
    /// idle longer than `health_check_interval` (none when it is None). Not inside MULTI
    /// (the server would queue the PING into the transaction), nor on a pub/sub
    /// connection (which idles while it waits for messages, and answers PING as one).
    #[cfg(feature = "heal")]
    fn health_check_due(&self, idle: u32) -> bool {
        !self.pubsub
            && !self.in_multi
            && u32::try_from(self.opts.health_check_ms).is_ok_and(|limit| idle > limit)
    }

    /// Without the `heal` part there is no health check.
    #[cfg(not(feature = "heal"))]
    fn health_check_due(&self, _idle: u32) -> bool {
        false
    }

    /// The health check: PING, and its reply read, before a command is sent.
    ///
    /// # Safety
    /// The client contract; the connection must be open.
    unsafe fn ping(&mut self) -> Result<Obj, Fail> {
        const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
        // SAFETY: the caller's contract (the connection is open).
        unsafe {
            #[cfg(feature = "trace")]
            if self.conn.tracing() {
                crate::text::print_repr(b"SEND: ", PING, false);
            }
            self.conn.write(PING)?;
            self.conn.flush()?;
            self.read_reply(true)
        }
    }

    /// Refuses, before anything is sent, what this connection must not run.
    fn admit(&self, e: Effect, in_multi: bool) -> Result<(), Fail> {
        match e {
            Effect::Subscribe => Err(Fail::Refused(if cfg!(feature = "pubsub") {
                b"ERR SUBSCRIBE needs a connection of its own: use pubsub()"
            } else {
                b"ERR SUBSCRIBE needs a connection of its own"
            })),
            Effect::Monitor => Err(Fail::Refused(b"ERR MONITOR needs a connection of its own")),
            // Queued, its effect would be unknown until EXEC: a reconnect could not
            // restore it.
            e if in_multi && e.changes_session() => Err(Fail::Refused(
                b"ERR session command inside MULTI: use pipeline(transaction=True)",
            )),
            _ => Ok(()),
        }
    }

    /// Follows a command's effect on the session once its reply (`ok`: not an error)
    /// is read, so a reconnect restores what the user last set (EXEC, DISCARD and RESET
    /// end MULTI and WATCH whatever their reply).
    ///
    /// # Safety
    /// The client contract; `args` must be valid objects.
    unsafe fn observe(&mut self, e: Effect, args: &[Obj], ok: bool) {
        self.before_send(e);
        if !ok {
            return;
        }
        let o = &mut self.opts;
        // SAFETY: the caller's contract: `args` are valid objects.
        unsafe {
            match e {
                Effect::Multi => self.in_multi = true,
                Effect::Watch => self.watching = true,
                Effect::Unwatch => self.watching = false,
                Effect::Select => {
                    if let Some(db) = session::int_arg(args.get(1)) {
                        o.db = db as sys::mp_int_t;
                    }
                }
                Effect::Auth => match args {
                    [_, password] => {
                        o.username = mp::none();
                        o.password = mp::frozen(*password);
                    }
                    [_, user, password] => {
                        o.username = mp::frozen(*user);
                        o.password = mp::frozen(*password);
                    }
                    _ => {}
                },
                Effect::SetName => {
                    if let Some(&name) = args.get(2) {
                        o.client_name = mp::frozen(name);
                    }
                }
                Effect::Hello => {
                    if let Some(p) = session::int_arg(args.get(1)) {
                        o.protocol = p as sys::mp_int_t;
                    }
                    let mut i = 2;
                    while let Some(word) = args.get(i) {
                        if session::word_is(Some(word), b"auth") {
                            if let (Some(&u), Some(&p)) = (args.get(i + 1), args.get(i + 2)) {
                                o.username = mp::frozen(u);
                                o.password = mp::frozen(p);
                            }
                            i += 3;
                        } else if session::word_is(Some(word), b"setname") {
                            if let Some(&n) = args.get(i + 1) {
                                o.client_name = mp::frozen(n);
                            }
                            i += 2;
                        } else {
                            i += 1;
                        }
                    }
                }
                Effect::Reset => {
                    o.db = 0;
                    o.protocol = 2;
                    o.client_name = mp::none();
                    o.username = mp::none();
                    o.password = mp::none();
                }
                Effect::None
                | Effect::Subscribe
                | Effect::Monitor
                | Effect::Exec
                | Effect::Discard => {}
            }
        }
    }

    /// Before sending a command with effect `e`: EXEC, DISCARD and RESET end MULTI and
    /// WATCH whatever their reply (a lost reply included), so nothing is lost with them.
    fn before_send(&mut self, e: Effect) {
        if matches!(e, Effect::Exec | Effect::Discard | Effect::Reset) {
            self.in_multi = false;
            self.watching = false;
        }
    }

    /// Sends the requests that `encode` queues with one write: collected whole in a
    /// temporary vstr (freed right after, so no garbage is left), printed when tracing
    /// (except `secret` requests, which hold a password).
    ///
    /// # Safety
    /// The client contract; the connection must be open. `encode` may raise as well: it
    /// must hold nothing that needs dropping.
    pub unsafe fn send_collected(
        &mut self,
        secret: bool,
        size_hint: usize,
        // A trait object, not a generic: one copy of this function serves commands,
        // pipelines, pub/sub and the handshake (flash on boards).
        encode: &dyn Fn(&mut Conn) -> Result<(), Fail>,
    ) -> Result<(), Fail> {
        let mut v = mp::vstr_empty();
        // SAFETY: the caller's contract. `v` is set up here and lives on this frame, where
        // the GC sees its buffer; `collect` points to it only while `encode` runs (and an
        // exception leaves the connection to be abandoned, which clears `collect`); its
        // text is written, then it is cleared.
        unsafe {
            mp::vstr_init(&mut v, size_hint.max(COLLECT_MIN));
            self.conn.collect = &mut v;
            let queued = encode(&mut self.conn);
            self.conn.collect = core::ptr::null_mut();
            let data = mp::vstr_slice(&mut v);
            let sent = queued.and_then(|_| {
                if self.conn.tracing() {
                    if secret {
                        mp::print(
                            b"SEND: (connection handshake: not shown, it holds credentials)\n",
                        );
                    } else {
                        crate::text::print_repr(b"SEND: ", data, false);
                    }
                }
                self.conn.write_all(data)
            });
            mp::vstr_clear(&mut v);
            sent
        }
    }

    /// Reads one reply, the deadline starting now. RESP3 push frames that arrive before
    /// it (client-side caching invalidations, stray messages) are skipped, except on a
    /// pub/sub connection, where they are the messages.
    ///
    /// # Safety
    /// The client contract; the connection must be open.
    pub unsafe fn read_reply(&mut self, raise_top_error: bool) -> Result<Obj, Fail> {
        let opts = reply::Options {
            raise_top_error,
            decode: self.opts.decode_responses,
        };
        let timeout = self.timeout_ms();
        loop {
            let mut input = SocketInput {
                conn: &mut self.conn,
                timeout,
                deadline: None,
            };
            // SAFETY: the caller's contract; `input` and `opts` are plain data (asserted).
            let (value, push) = unsafe { reply::read(&mut self.parser, &mut input, opts)? };
            if !push || self.pubsub {
                return Ok(value);
            }
        }
    }

    /// Sends one command and reads its reply.
    ///
    /// A `master_for` client whose command is refused with `READONLY` is talking to a
    /// replica (its primary was demoted by a failover): the connection is dropped, so the
    /// next connect asks the sentinels again. The refused command did not run, so it is
    /// sent again, once, on the new connection, unless it is a script (`EVAL*`, `FCALL*`:
    /// it may have run in part before the write it was refused) or the refusal came inside
    /// MULTI or after WATCH (the transaction is lost with the connection: the next command
    /// raises, as after any lost connection). Nothing else is ever sent again.
    ///
    /// # Safety
    /// The client contract; `args` must be valid objects, alive for the call (a buffer
    /// among them keeping its storage until it is sent).
    pub unsafe fn command(&mut self, args: &[Obj]) -> Result<Obj, Fail> {
        // SAFETY: the caller's contract.
        let reply = unsafe { self.command_once(args) };
        #[cfg(feature = "sentinel")]
        // SAFETY: the caller's contract; the connection is dropped before the command is
        // sent again, so the retry goes to a new connection.
        unsafe {
            if let Err(Fail::Reply(exc)) = reply {
                if self.follows_primary() && crate::fail::is_readonly(exc) {
                    let in_transaction = self.in_multi || self.watching;
                    self.abort();
                    if !in_transaction && !is_script(args) {
                        return self.command_once(args);
                    }
                }
            }
        }
        reply
    }

    /// `command` without the READONLY rule.
    ///
    /// # Safety
    /// As `command`.
    unsafe fn command_once(&mut self, args: &[Obj]) -> Result<Obj, Fail> {
        // SAFETY: the caller's contract. Each step runs only once the one before it has
        // succeeded, so the connection is open when the command is sent and read.
        unsafe {
            let size = request::check(args)?;
            let effect = session::effect(args);
            self.admit(effect, self.in_multi)?;
            self.ensure_connected()?;
            self.before_send(effect);
            self.conn.set_timeout(self.timeout_ms());
            // One write per command: small ones through the connection's buffer; larger
            // ones (up to COLLECT_MAX) collected whole in a temporary buffer freed right
            // after, as header, value and CRLF in separate writes meet Nagle and the
            // server's delayed ACK; beyond that, written piece by piece rather than doubled
            // in RAM.
            if self.conn.tracing() || (size > conn::WBUF && size <= COLLECT_MAX) {
                self.send_collected(false, size, &|c| request::encode(c, args))?;
            } else {
                request::encode(&mut self.conn, args)?;
                self.conn.flush()?;
            }
            let reply = self.read_reply(true);
            if effect != Effect::None {
                self.observe(effect, args, reply.is_ok());
            }
            reply
        }
    }

    /// Sends a command without reading a reply (pub/sub: its answers come as messages).
    #[cfg(feature = "pubsub")]
    ///
    /// # Safety
    /// As `command`.
    pub unsafe fn send_only(&mut self, args: &[Obj]) -> Result<Obj, Fail> {
        // SAFETY: the caller's contract; the command is sent only on an open connection.
        unsafe {
            let size = request::check(args)?;
            self.ensure_connected()?;
            // Followed once connected (a reconnect renews what was subscribed before), and
            // before it is sent: if the send fails, the next connection has it.
            self.subs.follow(args);
            self.conn.set_timeout(self.timeout_ms());
            self.send_collected(false, size, &|c| request::encode(c, args))?;
        }
        Ok(mp::none())
    }

    /// Forgets what a `PubSub` was subscribed to (its `close()`): nothing is renewed on a
    /// later connection.
    #[cfg(feature = "pubsub")]
    pub fn forget_subscriptions(&mut self) {
        self.subs.clear();
    }

    #[cfg(feature = "pubsub")]
    /// The next pub/sub message, waiting up to `wait_ms` for one to start (0: only if
    /// one is already there); None when there is none. A message that has started is
    /// read completely (bounded by `timeout`), so the link never stops mid-message.
    ///
    /// A subscribed PubSub heals: a connection found closed (or closed by the server
    /// while waiting) is reopened, with the connect backoff, and its subscriptions
    /// renewed; the confirmations come as messages. Once per call: a new connection that
    /// fails as well raises. Messages published while it was away are lost.
    ///
    /// # Safety
    /// The client contract.
    pub unsafe fn get_message(&mut self, wait_ms: u32) -> Result<Obj, Fail> {
        let mut healed = false;
        loop {
            // SAFETY: the caller's contract.
            unsafe {
                if !self.conn.is_open() {
                    if !self.subs.any() {
                        return Err(Fail::NotConnected);
                    }
                    healed = true;
                    self.ensure_connected()?;
                }
                match self.next_message(wait_ms) {
                    Err(Fail::Closed | Fail::Os(_))
                        if !healed && self.opts.reconnect && self.subs.any() =>
                    {
                        self.abort();
                    }
                    other => return other,
                }
            }
        }
    }

    #[cfg(feature = "pubsub")]
    /// `get_message` on the open connection.
    ///
    /// # Safety
    /// The client contract; the connection must be open.
    unsafe fn next_message(&mut self, wait_ms: u32) -> Result<Obj, Fail> {
        let decode = self.opts.decode_responses;
        // SAFETY: the caller's contract; the connection is open (checked above).
        unsafe {
            if self.conn.pending().is_empty() {
                if wait_ms == 0 {
                    if !self.conn.readable_now() {
                        return Ok(mp::none());
                    }
                } else {
                    match self.conn.fill(Deadline::after(wait_ms)) {
                        Err(Fail::Timeout) => return Ok(mp::none()),
                        other => other?,
                    }
                }
            }
            let v = self.read_reply(false)?;
            crate::pubsub::message(v, decode)
        }
    }

    /// Sends every command of `cmds` (each a tuple of arguments) in one write, then reads
    /// all their replies (see `run_pipeline`): RedisCluster's way in.
    ///
    /// # Safety
    /// The client contract; `cmds` must be tuples (or lists) of valid objects that no
    /// Python code can change during the call.
    #[cfg(feature = "cluster")]
    pub unsafe fn pipeline(&mut self, cmds: &[Obj], transaction: bool) -> Result<Obj, Fail> {
        // SAFETY: the caller's contract.
        unsafe { self.run_pipeline(Runs::tuples(cmds), transaction) }
    }

    /// Sends every command of `cmds` in one write (in a build for speed: in parts, as it
    /// is encoded), then reads all their replies: a list with server errors in place.
    /// With `transaction`, the commands are wrapped in MULTI/EXEC and the result is EXEC's
    /// reply (None when a WATCHed key changed); an error at queue time raises, after all
    /// replies are read.
    ///
    /// # Safety
    /// The client contract; `cmds`' objects valid and not changed by any Python code during
    /// the call (the glue hands over its own queue).
    pub unsafe fn run_pipeline(&mut self, cmds: Runs, transaction: bool) -> Result<Obj, Fail> {
        let mut size = 64;
        let mut count = 0;
        // MULTI inside a plain pipeline: follow it, as the server will.
        let mut in_multi = self.in_multi;
        // Whether any command touches the session (most pipelines: none, and their
        // replies need no second look; a board build looks anyway, in less flash).
        let mut effects = cfg!(not(speed));
        // SAFETY: the caller's contract (each command's items stay put).
        unsafe {
            for args in cmds {
                count += 1;
                size += request::check(args)?;
                let e = session::effect(args);
                self.admit(e, in_multi && !transaction)?;
                effects |= e != Effect::None;
                match e {
                    Effect::Multi => in_multi = true,
                    Effect::Exec | Effect::Discard | Effect::Reset => in_multi = false,
                    _ => {}
                }
            }
        }
        // SAFETY: the caller's contract; the commands are sent only on an open
        // connection. Every slot of `out` is filled before it is read or returned (a
        // failed read returns early, and `out` is dropped unseen); it and the replies it
        // holds are this call's alone, so their items stay put while read.
        unsafe {
            self.ensure_connected()?;
            if transaction {
                self.before_send(Effect::Exec);
            }
            self.conn.set_timeout(self.timeout_ms());
            let multi = [mp::qstr_obj(mp::qstr(sys::MP_QSTR_MULTI))];
            let exec = [mp::qstr_obj(mp::qstr(sys::MP_QSTR_EXEC))];
            // In a build for speed: every argument is checked (above), so nothing can fail
            // now but the link, and a long pipeline goes out in parts as it is encoded
            // (the first soon, the next ones twice as long each): the server works on the
            // first commands while the rest are encoded. (Traced: printed and sent whole.)
            #[cfg(speed)]
            let parts = !self.conn.tracing();
            #[cfg(speed)]
            let size = if parts {
                size.min(FIRST_PART * 2)
            } else {
                size
            };
            self.send_collected(false, size, &|c| {
                if transaction {
                    request::encode(c, &multi)?;
                }
                #[cfg(speed)]
                let mut part = FIRST_PART;
                for args in cmds {
                    request::encode(c, args)?;
                    #[cfg(speed)]
                    if parts && c.collected() >= part {
                        c.send_part()?;
                        part = (part * 2).min(LAST_PART);
                    }
                }
                if transaction {
                    request::encode(c, &exec)?;
                }
                Ok(())
            })?;
            // Every reply is read before anything is raised, so the link stays in step.
            // With a transaction they are MULTI's +OK, a +QUEUED (or an error) per
            // command, then EXEC's reply, which is the result.
            let n = count + if transaction { 2 } else { 0 };
            let out = mp::new_list(n);
            for slot in mp::items_mut(out) {
                *slot = self.read_reply(false)?;
            }
            let replies = mp::items(out);
            // A master_for client refused with READONLY is on a demoted primary: the
            // replies are all read (the link is in step), but the next command goes to
            // the new primary. Nothing of a pipeline is sent again.
            #[cfg(feature = "sentinel")]
            if self.follows_primary()
                && replies
                    .iter()
                    .any(|&v| reply::is_error(v) && crate::fail::is_readonly(v))
            {
                self.abort();
            }
            let result = replies.last().copied().unwrap_or(mp::none());
            // The session effects, in order: of each reply, or of EXEC's results.
            if effects {
                let results = if !transaction {
                    replies
                } else if mp::type_is(result, mp::list_type()) {
                    mp::items(result)
                } else {
                    &[]
                };
                let mut runs = cmds;
                for &v in results {
                    let Some(args) = runs.next() else {
                        break;
                    };
                    let e = session::effect(args);
                    if e != Effect::None {
                        self.observe(e, args, !reply::is_error(v));
                    }
                }
            }
            if !transaction {
                return Ok(out);
            }
            if reply::is_error(result) {
                // EXECABORT: the error that made the server refuse the queue says more.
                let first = replies.iter().copied().find(|&v| reply::is_error(v));
                return Err(Fail::Reply(first.unwrap_or(result)));
            }
            Ok(result)
        }
    }
}

/// A pipeline's commands, each as its arguments: tuples of arguments (the glue's queue on
/// a board, and what RedisCluster hands over), or, in a build for speed, the glue's flat
/// queue: runs `n, name, args...` (`n` a small int, the run's length after it), which
/// allocates nothing per command. A flat run that does not fit ends it (the glue never
/// makes one).
#[derive(Clone, Copy)]
pub struct Runs<'a> {
    rest: &'a [Obj],
    #[cfg(speed)]
    tuples: bool,
}

impl<'a> Runs<'a> {
    #[cfg(speed)]
    pub fn flat(queue: &'a [Obj]) -> Self {
        Runs {
            rest: queue,
            tuples: false,
        }
    }

    /// # Safety
    /// VM thread; `cmds` must be tuples (or lists) whose items stay put for `'a`.
    #[cfg(any(not(speed), feature = "cluster"))]
    pub unsafe fn tuples(cmds: &'a [Obj]) -> Self {
        Runs {
            rest: cmds,
            #[cfg(speed)]
            tuples: true,
        }
    }
}

impl<'a> Iterator for Runs<'a> {
    type Item = &'a [Obj];

    fn next(&mut self) -> Option<&'a [Obj]> {
        let (&first, rest) = self.rest.split_first()?;
        #[cfg(speed)]
        if !self.tuples {
            let (args, rest) = rest.split_at_checked(mp::small_int_value(first)? as usize)?;
            self.rest = rest;
            return Some(args);
        }
        self.rest = rest;
        // SAFETY: made by `Runs::tuples`, whose contract this is.
        Some(unsafe { mp::items(first) })
    }
}

/// Whether a failed connect attempt may succeed if tried again: the network or the server
/// failed it (refused, unreachable, reset, no answer in time: OSError, RedisTimeout), not
/// the session (a wrong password) nor the user (KeyboardInterrupt).
///
/// # Safety
/// VM thread (nothing is raised). An `Obj` inside `f` must be a valid exception.
#[cfg(feature = "heal")]
unsafe fn retryable(f: Fail) -> bool {
    match f {
        Fail::Timeout | Fail::Closed | Fail::Os(_) => true,
        // SAFETY: the caller's contract.
        Fail::Exception(exc) => unsafe {
            #[cfg(feature = "sentinel")]
            if mp::type_is(exc, mp::master_not_found_type()) {
                return true;
            }
            mp::type_is(exc, mp::os_error_type())
        },
        _ => false,
    }
}

/// Whether `args` is a script call (EVAL, EVALSHA, EVAL_RO, FCALL, ...), which may have
/// done part of its work before a write in it was refused.
///
/// # Safety
/// VM thread (nothing is raised). `args` must be valid objects.
#[cfg(feature = "sentinel")]
unsafe fn is_script(args: &[Obj]) -> bool {
    // SAFETY: the caller's contract; the name's bytes are only compared, at once.
    let name = args.first().and_then(|&a| unsafe { mp::buffer(a) });
    name.is_some_and(|n| {
        [&b"eval"[..], b"fcall"].iter().any(|p| {
            n.get(..p.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(p))
        })
    })
}

/// Turns Nagle's algorithm off: a request is complete when written, and waiting to
/// coalesce it with more data only adds latency. The option's number comes from the socket
/// module when it has it (lwIP's differs); the unix port's module lacks the constants,
/// so Linux's values are used there.
///
/// # Safety
/// The client contract; `socket` is the socket module, `s` a socket.
unsafe fn no_delay(socket: Obj, s: Obj) {
    // SAFETY: the caller's contract.
    unsafe {
        if !mp::has_method(s, mp::qstr(sys::MP_QSTR_setsockopt)) {
            return;
        }
        let level = mp::load_attr_maybe(socket, mp::qstr(sys::MP_QSTR_IPPROTO_TCP))
            .unwrap_or(mp::small_int(6));
        let option = mp::load_attr_maybe(socket, mp::qstr(sys::MP_QSTR_TCP_NODELAY))
            .unwrap_or(mp::small_int(1));
        mp::call_method(
            s,
            mp::qstr(sys::MP_QSTR_setsockopt),
            &[level, option, mp::small_int(1)],
        );
    }
}
