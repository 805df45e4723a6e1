//! `Sentinel` and `RedisCluster` on CPython and PyPy: the PyO3 types over the core's
//! sentinel.rs and cluster.rs (what modpicoredis.c's Sentinel and RedisCluster sections
//! are for MicroPython). A child of glue.rs: the same operations (`Handle::op`: the
//! object's lock, the pool, the guard, the kept objects re-read), the same option parser
//! (`options`), the same methods (`pymethods_with!`), `Command` and `Pipeline` types.
//!
//! Memory: a Sentinel is a `Client` block (its list of sentinels kept by hold.rs like any
//! object it stores); a `master_for` client keeps its Sentinel object and the service
//! name the same way. A RedisCluster is a `Cluster` block whose node clients are blocks
//! of their own, made by the core (`Client::alloc` in cluster.rs): hold.rs finds them in
//! the cluster's block and keeps them, with their sockets, while it stores them
//! (blocks.rs).

use super::*;
use crate::cluster::Cluster;
use crate::sentinel::{self, Want};

// ---- Sentinel ---------------------------------------------------------------------------

/// `Sentinel(sentinels, **options)`: asks Redis Sentinel where the primary and its
/// replicas are (README: Sentinel); `options` are Redis()'s, for the connections to the
/// sentinels.
#[pyclass(module = "picoredis", name = "Sentinel", frozen)]
pub struct Sentinel {
    h: Handle<Client>,
}

pymethods_with! {
closing(args);
#[pymethods]
impl Sentinel {
    #[new]
    #[pyo3(signature = (sentinels, **options))]
    fn new(
        py: Python<'_>,
        sentinels: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let p = self::options(py, "Sentinel", &PyTuple::empty(py), options)?;
        let opts = p.borrow(py).opts;
        let addrs = sentinels.as_ptr();
        let s = Sentinel { h: Handle::new() };
        s.h.op(py, true, &mut |c| {
            // SAFETY: inside the operation; the options' objects are alive (`p`) and
            // pooled so that the new block keeps them; `addrs` is the caller's.
            unsafe {
                given_options(&opts);
                *c = sentinel::new(mp::sentinel_type(), &opts, addrs)? as *mut Client;
                Ok(mp::none())
            }
        })?;
        Ok(s)
    }

    /// `discover_master(name)` → `(host, port)`, or MasterNotFoundError.
    fn discover_master(&self, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.discover(py, name, Want::Primary)
    }

    /// `discover_slaves(name)` → `[(host, port), ...]`: the replicas not flagged down.
    fn discover_slaves(&self, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.discover(py, name, Want::Replicas)
    }

    /// `master_for(name, **options)` → a `Redis` on the primary, wherever it is now.
    #[pyo3(signature = (name, **options))]
    fn master_for(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Redis> {
        Self::client(slf, "Sentinel.master_for", name, options, false)
    }

    /// `slave_for(name, **options)` → a `Redis` on a replica (the primary if none).
    #[pyo3(signature = (name, **options))]
    fn slave_for(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Redis> {
        Self::client(slf, "Sentinel.slave_for", name, options, true)
    }
}}

impl Sentinel {
    fn discover(&self, py: Python<'_>, name: &Bound<'_, PyAny>, want: Want) -> PyResult<Py<PyAny>> {
        let name = name.as_ptr();
        // SAFETY: inside the operation; `name` is the caller's, alive.
        self.h.op(py, true, &mut |c| unsafe {
            sentinel::discover(&mut **c, name, want)
        })
    }

    /// A `master_for` (`replica` false) or `slave_for` client, connected at once as
    /// `Redis()` is; `caller` names the method for its argument errors.
    fn client(
        slf: &Bound<'_, Self>,
        caller: &str,
        name: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
        replica: bool,
    ) -> PyResult<Redis> {
        let py = slf.py();
        let p = self::options(py, caller, &PyTuple::empty(py), options)?;
        let (opts, sock) = {
            let p = p.borrow(py);
            (p.opts, p.sock.clone_ref(py))
        };
        if !sock.is_none(py) {
            return Err(PyValueError::new_err(
                "master_for: the sentinels give the address, not sock=",
            ));
        }
        let (sentinel, service) = (slf.as_ptr(), name.as_ptr());
        let r = Redis { h: Handle::new() };
        r.h.op(py, true, &mut |c| {
            // SAFETY: inside the operation; the objects are alive (`p`, the caller's) and
            // pooled, so that the new client's block keeps them (its Sentinel and the
            // service's name included).
            unsafe {
                given_options(&opts);
                given(sentinel);
                given(service);
                *c = sentinel::client(mp::redis_type(), &opts, sentinel, service, replica)
                    as *mut Client;
                Ok(mp::none())
            }
        })?;
        let none = py.None();
        r.h.connect_to(py, none.as_ptr(), none.as_ptr(), none.as_ptr())?;
        Ok(r)
    }
}

// ---- RedisCluster -----------------------------------------------------------------------

/// A cluster's state is consistent at every call that may raise; an exception that cut
/// an operation short closes every node connection (ffi.rs' `picoredis_abandon`): the one
/// in the middle of a reply is never reused.
impl Block for Cluster {
    unsafe fn settle(&mut self, _f: &Fail) {}
    unsafe fn abandon(&mut self) {
        // SAFETY: the caller's contract.
        let _ = unsafe { self.close() };
    }
}

/// `RedisCluster(host='127.0.0.1', port=7000, *, startup_nodes=None, max_connections=4,
/// read_from_replicas=False, <the Redis options>)` (README: Redis Cluster).
#[pyclass(module = "picoredis", name = "RedisCluster", frozen, subclass)]
pub struct RedisCluster {
    h: Handle<Cluster>,
}

impl RedisCluster {
    /// A command (name first), routed by the core.
    pub(super) fn command(&self, py: Python<'_>, args: &[Obj]) -> PyResult<Py<PyAny>> {
        // SAFETY: inside the operation; `args` are alive for the call (the caller's).
        self.h
            .op(py, false, &mut |c| unsafe { (**c).command(args) })
    }

    /// `connect()`: loads the slot map again (its arguments are not used).
    fn reconnect(&self, py: Python<'_>, _host: Obj, _port: Obj) -> PyResult<Py<PyAny>> {
        // SAFETY: inside the operation.
        self.h.op(py, true, &mut |c| unsafe { (**c).load(None) })
    }

    /// A pipeline's commands (argument tuples), grouped per node by the core.
    pub(super) fn pipeline_run(
        &self,
        py: Python<'_>,
        cmds: &[Obj],
        transaction: bool,
    ) -> PyResult<Py<PyAny>> {
        // SAFETY: inside the operation; the tuples are alive (the caller's) and only this
        // call reaches them.
        self.h.op(py, false, &mut |c| unsafe {
            (**c).pipeline(cmds, transaction)
        })
    }
}

pymethods_with! {
commands(Cluster, args);
#[pymethods]
impl RedisCluster {
    #[new]
    #[pyo3(signature = (*args, startup_nodes = None, max_connections = None,
        read_from_replicas = false, **options))]
    fn new(
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        startup_nodes: Option<Bound<'_, PyAny>>,
        max_connections: Option<Bound<'_, PyAny>>,
        read_from_replicas: bool,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let p = self::options(py, "RedisCluster", args, options)?;
        let (mut opts, sock, port) = {
            let p = p.borrow(py);
            (p.opts, p.sock.clone_ref(py), p.port.clone_ref(py))
        };
        let max_open = match &max_connections {
            Some(m) if !m.is_none() => m.extract::<isize>()?,
            _ => 4,
        };
        if !sock.is_none(py) || max_open < 1 {
            return Err(PyValueError::new_err("no sock=; max_connections >= 1"));
        }
        opts.readonly = read_from_replicas;
        let nodes = match startup_nodes {
            Some(n) if !n.is_none() => n,
            _ => {
                // SAFETY: the options' host is alive (`p`).
                let host = unsafe { Bound::from_borrowed_ptr(py, opts.host) };
                let port = if port.is_none(py) {
                    7000i64.into_pyobject(py)?.into_any()
                } else {
                    port.into_bound(py)
                };
                PyTuple::new(py, [PyTuple::new(py, [host, port])?])?.into_any()
            }
        };
        let nodes = nodes.as_ptr();
        let k = RedisCluster { h: Handle::new() };
        k.h.op(py, true, &mut |c| {
            // SAFETY: inside the operation; the objects are alive (`p`, `nodes`) and
            // pooled, so that the new block keeps those it stores.
            unsafe {
                given_options(&opts);
                given(nodes);
                let nodes = mp::items(nodes);
                for &n in nodes {
                    // (A node that is no pair is the core's TypeError.)
                    if ffi::PyTuple_Check(n) != 0 || ffi::PyList_Check(n) != 0 {
                        for &o in mp::items(n) {
                            given(o);
                        }
                    }
                }
                *c = Cluster::alloc(mp::cluster_type(), &opts, nodes, max_open as usize)?
                    as *mut Cluster;
                Ok(mp::none())
            }
        })?;
        // The slot map, from the first startup node that answers.
        // SAFETY: inside the operation.
        k.h.op(py, true, &mut |c| unsafe { (**c).load(None) })?;
        Ok(k)
    }

    /// `pubsub()`: none on a cluster yet (TypeError, as on MicroPython).
    fn pubsub(&self) -> PyResult<()> {
        Err(PyTypeError::new_err("no pub/sub on a RedisCluster"))
    }
}}

// ---- test hooks -------------------------------------------------------------------------

/// For the host's tests: the objects a `Redis` keeps between calls (hold.rs).
#[pyfunction]
fn _kept(py: Python<'_>, r: &Bound<'_, Redis>) -> PyResult<Vec<Py<PyAny>>> {
    let h = &r.get().h;
    h.lock.take(py)?;
    // SAFETY: the lock is ours: no operation runs on the client; the objects are alive
    // (held), each gets a reference of its own for the list.
    let kept = unsafe {
        (*h.core.get())
            .held
            .objects()
            .iter()
            .map(|&o| Py::from_borrowed_ptr(py, o))
            .collect()
    };
    h.lock.give();
    Ok(kept)
}

/// For the host's tests: how many blocks of the core's are alive (blocks.rs).
#[pyfunction]
fn _blocks() -> usize {
    crate::blocks::count()
}

// ---- module -----------------------------------------------------------------------------

/// Adds the types and MasterNotFoundError (an OSError, as on MicroPython) to the module,
/// and tells `mp` the types the core names.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Sentinel>()?;
    m.add_class::<RedisCluster>()?;
    m.add_function(wrap_pyfunction!(_kept, m)?)?;
    m.add_function(wrap_pyfunction!(_blocks, m)?)?;
    // SAFETY: the GIL is held; the new type is owned by the module from here on, and the
    // type objects live as long as it.
    unsafe {
        let t = ffi::PyErr_NewException(
            c"picoredis.MasterNotFoundError".as_ptr(),
            ffi::PyExc_OSError,
            ptr::null_mut(),
        );
        let mnf = Bound::from_owned_ptr_or_err(py, t)?;
        mp::init_types(
            py.get_type::<Redis>().as_ptr(),
            py.get_type::<Sentinel>().as_ptr(),
            py.get_type::<RedisCluster>().as_ptr(),
            mnf.as_ptr(),
        );
        m.add("MasterNotFoundError", mnf)?;
    }
    Ok(())
}
