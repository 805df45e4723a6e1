//! The native half of `picoredis.asyncio`: the request queue of one client (`_Mux`) and
//! the object each queued command is awaited through (a waiter).
//!
//! Python does the I/O and the reconnecting; what runs once per command is here, so that
//! a command costs the heap no more than its waiter (and its reply): a bound command
//! (`r.get`, made by the glue) encodes the request straight into the mux's write buffer,
//! appends a new waiter to the client's list of pending calls and returns the waiter,
//! which the task awaits directly (no coroutine, no argument tuple, no request bytes).
//!
//! A waiter parks the awaiting task the way asyncio's own primitives do: it becomes the
//! task's `data` (so `Task.cancel()` calls its `remove`) and, when the reply comes, the
//! task is pushed back on asyncio's run queue. A task cancelled meanwhile leaves the
//! waiter queued: its reply is still taken, and dropped.
//!
//! A waiter shares its mux's lock (its header points to the same lock block), so the glue
//! serialises every call on a mux and on its waiters alike.

use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::options::picoredis_head_t;
use crate::request;
use crate::sys;

const _: () = assert!(!core::mem::needs_drop::<Mux>());
const _: () = assert!(!core::mem::needs_drop::<Waiter>());

/// The request queue of one client. `mark <= out.len`.
#[repr(C)]
pub struct Mux {
    head: picoredis_head_t,
    /// Requests queued and not yet taken by the writer; the buffer is reachable by the GC
    /// through this object.
    out: sys::vstr_t,
    /// How much of `out` is whole requests: a call that raises part-way (MemoryError)
    /// is cut back to here by `abandon`, so no partial request is ever written.
    mark: usize,
    /// The client's list of pending calls, in reply order (shared with Python, which
    /// takes replies off its front).
    pending: Obj,
    /// The `asyncio.core` module: its `cur_task` and `_task_queue` (looked up each time:
    /// a new event loop replaces the queue).
    core: Obj,
    /// The waiter the writer task is parked on while `out` is empty, or None.
    wake: Obj,
    /// When the link last made progress (ms ticks): a read, a write done, or a command
    /// queued with nothing pending (the reply timeout counts from there).
    last_io: u32,
    /// Bound commands may queue (connected, the session complete: handshake and
    /// on_connect done; no health check due): else they return None and the glue calls
    /// the Python fallback, which waits for the session. Only Python sets it, once the
    /// session is complete; `reset` clears it.
    ready: bool,
}

/// Where a waiter is.
const PENDING: u8 = 0;
const DONE: u8 = 1;
const FAILED: u8 = 2;

/// One queued command.
#[repr(C)]
pub struct Waiter {
    /// The lock is the mux's.
    head: picoredis_head_t,
    mux: Obj,
    /// The task parked on it, or None.
    task: Obj,
    /// The reply (DONE) or the exception to raise (FAILED).
    value: Obj,
    state: u8,
}

impl Mux {
    /// A new mux of type `t`, without its lock (the glue adds it). `pending` must be a
    /// list, `core` the `asyncio.core` module (checked by the Python that makes it).
    ///
    /// # Safety
    /// VM thread; may raise (MemoryError). `t` must be the `_Mux` type; `pending` and
    /// `core` valid objects.
    pub unsafe fn alloc(t: *const sys::mp_obj_type_t, pending: Obj, core: Obj) -> Obj {
        // SAFETY: the caller's contract. `p` is fresh zeroed memory for one Mux (zero is
        // an empty vstr, offsets 0, flags false); the object fields are written before
        // the object is used.
        unsafe {
            let p = mp::malloc0::<Mux>();
            core::ptr::addr_of_mut!((*p).head.base).write(sys::mp_obj_base_t { type_: t });
            (*p).pending = pending;
            (*p).core = core;
            (*p).wake = mp::none();
            (*p).last_io = mp::ticks_ms();
            mp::vstr_init(&mut (*p).out, 256);
            p as Obj
        }
    }

    /// The mux behind `o`, if `o` is one.
    ///
    /// # Safety
    /// VM thread, holding `o`'s lock (no other `&mut` to it exists for `'a`). `o` must be
    /// a valid object.
    pub unsafe fn from_obj<'a>(o: Obj) -> Option<&'a mut Mux> {
        // SAFETY: the caller's contract; a _Mux object is this struct (made by `alloc`).
        unsafe { mp::is_mux(o).then(|| &mut *(o as *mut Mux)) }
    }

    /// Queues the command `args` and returns its waiter; None (nothing queued) when the
    /// mux is not `ready` and `force` is false. `this` is the mux's object. A bad argument
    /// raises TypeError with nothing queued.
    ///
    /// # Safety
    /// VM thread, inside a glue call holding the mux's lock; may raise (MemoryError, or
    /// what asyncio's run queue raises): the frames up to the glue's `nlr_push` must hold
    /// nothing that needs dropping. `this` must be this mux's object; `args` valid
    /// objects.
    pub unsafe fn command(&mut self, this: Obj, args: &[Obj], force: bool) -> Result<Obj, Fail> {
        if !force && !self.ready {
            return Ok(mp::none());
        }
        // SAFETY: the caller's contract. Everything that may raise comes before
        // `commit`; if it raises, `abandon` cuts `out` back to `mark`, and a waiter
        // made meanwhile is garbage no one can reach.
        unsafe {
            request::append(&mut self.out, args)?;
            let w = Waiter::alloc(this, self.head.lock);
            self.queue(w)?;
            Ok(w)
        }
    }

    /// `send(data, call)`: queues the request bytes `data` (whole requests: a pipeline)
    /// and, unless None, the Python call object that takes their replies.
    ///
    /// # Safety
    /// As `command`; `data` and `call` must be valid objects.
    pub unsafe fn send(&mut self, data: Obj, call: Obj) -> Result<Obj, Fail> {
        // SAFETY: the caller's contract; the bytes are copied before anything else runs.
        unsafe {
            let Some(bytes) = mp::buffer(data) else {
                return Err(Fail::Type("send() takes bytes, bytearray or memoryview"));
            };
            crate::conn::collect(&mut self.out, bytes);
            self.queue(call)?;
        }
        Ok(mp::none())
    }

    /// Appends `call` (unless None) to the pending calls, wakes the writer, and commits
    /// what `out` holds.
    ///
    /// # Safety
    /// As `command`.
    unsafe fn queue(&mut self, call: Obj) -> Result<(), Fail> {
        // SAFETY: the caller's contract; `pending` is a list (`alloc`'s contract).
        unsafe {
            let was_idle = mp::list_get(self.pending).0 == 0;
            // Wake first: if the append below raises, the writer only finds nothing new.
            self.wake_writer()?;
            if !mp::is_none(call) {
                mp::list_append(self.pending, call);
                if was_idle {
                    self.last_io = mp::ticks_ms();
                }
            }
        }
        self.mark = self.out.len;
        Ok(())
    }

    /// Pushes the parked writer task back on the run queue.
    ///
    /// # Safety
    /// As `command`.
    unsafe fn wake_writer(&mut self) -> Result<(), Fail> {
        let w = self.wake;
        if mp::is_none(w) {
            return Ok(());
        }
        self.wake = mp::none();
        // SAFETY: the caller's contract; `wake` only ever holds a waiter of this mux, whose
        // lock (this mux's) the caller holds; no other reference to it is alive.
        unsafe {
            match Waiter::from_obj(w) {
                Some(w) => w.finish(self.core, mp::none(), false),
                None => Ok(()),
            }
        }
    }

    /// `take()`: the queued requests as bytes (the buffer is emptied), or None if there
    /// are none.
    ///
    /// # Safety
    /// VM thread, inside a glue call holding the mux's lock; may raise (MemoryError:
    /// nothing is taken then).
    pub unsafe fn take(&mut self) -> Result<Obj, Fail> {
        if self.out.len == 0 {
            return Ok(mp::none());
        }
        // SAFETY: the caller's contract; `out` is set up (`alloc`).
        let b = unsafe { mp::bytes(mp::vstr_slice(&mut self.out)) };
        self.out.len = 0;
        self.mark = 0;
        Ok(b)
    }

    /// `wait()`: a waiter the writer task awaits until a request is queued (None if one
    /// already is: take it).
    ///
    /// # Safety
    /// As `take`; `this` must be this mux's object.
    pub unsafe fn wait(&mut self, this: Obj) -> Result<Obj, Fail> {
        if self.out.len > 0 {
            return Ok(mp::none());
        }
        // SAFETY: the caller's contract.
        let w = unsafe { Waiter::alloc(this, self.head.lock) };
        self.wake = w;
        Ok(w)
    }

    /// `reset()`: the connection is gone: queued requests are dropped, bound commands
    /// take the slow path until `ready(True)`.
    pub fn reset(&mut self) {
        self.out.len = 0;
        self.mark = 0;
        self.ready = false;
        self.wake = mp::none();
    }

    pub fn set_ready(&mut self, on: bool) {
        self.ready = on;
    }

    /// `touch()`: the link made progress now.
    pub fn touch(&mut self) {
        self.last_io = mp::ticks_ms();
    }

    /// `idle_ms()`: ms since the link last made progress.
    pub fn idle_ms(&self) -> isize {
        mp::ticks_ms().wrapping_sub(self.last_io) as i32 as isize
    }

    /// An operation on this mux raised part-way: drop the partial request.
    pub fn abandon(&mut self) {
        self.out.len = self.mark.min(self.out.len);
    }
}

impl Waiter {
    /// A new pending waiter of `mux`, sharing its lock block `lock`.
    ///
    /// # Safety
    /// VM thread; may raise (MemoryError). `mux` must be a mux object and `lock` its lock.
    unsafe fn alloc(mux: Obj, lock: *mut core::ffi::c_void) -> Obj {
        // SAFETY: the caller's contract; fresh zeroed memory for one Waiter, every field
        // written before the object is used.
        unsafe {
            let p = mp::malloc0::<Waiter>();
            core::ptr::addr_of_mut!((*p).head.base).write(sys::mp_obj_base_t {
                type_: mp::waiter_type(),
            });
            (*p).head.lock = lock;
            (*p).mux = mux;
            (*p).task = mp::none();
            (*p).value = mp::none();
            p as Obj
        }
    }

    /// The waiter behind `o`, if `o` is one.
    ///
    /// # Safety
    /// VM thread, holding `o`'s lock (its mux's; no other `&mut` to it exists for `'a`).
    /// `o` must be a valid object.
    pub unsafe fn from_obj<'a>(o: Obj) -> Option<&'a mut Waiter> {
        // SAFETY: the caller's contract; a waiter object is this struct (made by `alloc`).
        unsafe { mp::is_waiter(o).then(|| &mut *(o as *mut Waiter)) }
    }

    /// The `asyncio.core` module, from the mux.
    ///
    /// # Safety
    /// VM thread, holding the mux's lock, with no `&mut` to the mux alive.
    unsafe fn core(&self) -> Result<Obj, Fail> {
        // SAFETY: the caller's contract; the borrow ends here.
        match unsafe { Mux::from_obj(self.mux) } {
            Some(m) => Ok(m.core),
            None => Err(Fail::Type("not a picoredis waiter")),
        }
    }

    /// Resumes the awaiting task: the reply (Ok), the exception to raise (Err), or NULL
    /// after parking the current task here (the glue then yields).
    ///
    /// # Safety
    /// VM thread, inside a glue call holding the waiter's lock; may raise (what reading
    /// `cur_task` or setting its `data` raises). `this` must be this waiter's object.
    pub unsafe fn next(&mut self, this: Obj) -> Result<Obj, Fail> {
        match self.state {
            DONE => Ok(self.value),
            FAILED => Err(Fail::Exception(self.value)),
            _ => {
                // SAFETY: the caller's contract. The task is recorded only once it points
                // here: a raise in between leaves nothing half-parked.
                unsafe {
                    let core = self.core()?;
                    let task = mp::load_attr(core, mp::qstr(sys::MP_QSTR_cur_task));
                    mp::store_attr(task, mp::qstr(sys::MP_QSTR_data), this);
                    self.task = task;
                }
                Ok(mp::NULL)
            }
        }
    }

    /// `take(reply)`: the reply came (an error reply is raised in the awaiting task).
    ///
    /// # Safety
    /// As `finish`.
    pub unsafe fn take(&mut self, reply: Obj) -> Result<Obj, Fail> {
        // SAFETY: the caller's contract.
        unsafe {
            let failed = mp::is_redis_error(reply);
            let core = self.core()?;
            self.finish(core, reply, failed)?;
        }
        Ok(mp::none())
    }

    /// `finish(value, exc)`: done with `value`, or failed with `exc` when it is not None
    /// (an exception instance, else TypeError).
    ///
    /// # Safety
    /// As `finish`.
    pub unsafe fn finish_with(&mut self, value: Obj, exc: Obj) -> Result<Obj, Fail> {
        // SAFETY: the caller's contract.
        unsafe {
            let core = self.core()?;
            if mp::is_none(exc) {
                self.finish(core, value, false)?;
            } else if mp::is_exception(exc) {
                self.finish(core, exc, true)?;
            } else {
                return Err(Fail::Type("finish(): exc must be an exception or None"));
            }
        }
        Ok(mp::none())
    }

    /// Records the outcome (once: later calls change nothing) and pushes the parked task,
    /// if any, back on asyncio's run queue.
    ///
    /// # Safety
    /// VM thread, inside a glue call holding the waiter's lock; may raise (what the run
    /// queue raises): the waiter is settled before. `core` must be the `asyncio.core`
    /// module; `value` a valid object.
    unsafe fn finish(&mut self, core: Obj, value: Obj, failed: bool) -> Result<(), Fail> {
        if self.state != PENDING {
            return Ok(());
        }
        self.state = if failed { FAILED } else { DONE };
        self.value = value;
        let task = self.task;
        self.task = mp::none();
        if !mp::is_none(task) {
            // SAFETY: the caller's contract.
            unsafe {
                let queue = mp::load_attr(core, mp::qstr(sys::MP_QSTR__task_queue));
                mp::call_method(queue, mp::qstr(sys::MP_QSTR_push), &[task]);
            }
        }
        Ok(())
    }

    /// `remove(task)`: the parked task was cancelled (asyncio calls this): it is not
    /// woken; the command stays queued and its reply will be dropped.
    pub fn remove(&mut self) {
        self.task = mp::none();
    }

    /// Whether the outcome is in (`done`).
    pub fn done(&self) -> bool {
        self.state != PENDING
    }
}
