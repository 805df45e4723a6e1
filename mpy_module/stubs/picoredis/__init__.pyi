"""Type stubs for the built-in `picoredis` module (for IDEs; micropython-stubs style).

The module is implemented in Rust and C (see README.md); these stubs only describe it.
"""
from typing import Any, Callable, Dict, List, Optional, Set, Tuple, Union

Arg = Union[str, bytes, bytearray, memoryview, int, float]
Reply = Union[bytes, str, int, float, bool, None, List[Any], Dict[Any, Any], Set[Any], "RedisError"]


class RedisError(Exception):
    """An error reply: args == (code, message), or (code,) when there is no message."""


class ParseError(Exception):
    """The server's reply broke the protocol or a limit; the connection was closed."""


class RedisTimeout(Exception):
    """No complete reply within the timeout (or, for a command that was reconnecting,
    no connection within connect_timeout); the connection was closed."""


class Redis:
    debug: bool

    def __init__(
        self,
        host: Optional[str] = "127.0.0.1",
        port: int = 6379,
        timeout: Optional[int] = 3000,
        debug: bool = False,
        *,
        server: Optional[str] = None,
        sock: Any = None,
        username: Optional[Union[str, bytes]] = None,
        password: Optional[Union[str, bytes]] = None,
        db: int = 0,
        client_name: Optional[Union[str, bytes]] = None,
        protocol: int = 2,
        connect_timeout: Optional[int] = None,
        decode_responses: bool = False,
        reconnect: bool = True,
        ssl: bool = False,
        ssl_context: Any = None,
        retries: int = 3,
        backoff_base: int = 50,
        backoff_cap: int = 2000,
        health_check_interval: Optional[int] = None,
    ) -> None:
        """Connects at once. Timeouts are in milliseconds (None: no limit); `timeout` bounds
        a whole reply. One call at a time: other threads wait, re-entry raises RuntimeError.

        Healing (picoredis.asyncio's options; builds with the `heal` part): a failed connect
        to host:port is retried `retries` times, retry k after a random wait in
        [0, min(backoff_cap, backoff_base << k)] ms; a link idle longer than
        `health_check_interval` ms answers a PING before the next command (a dead one is
        replaced first; the command is sent once)."""

    def connect(self, host: Optional[str] = None, port: Optional[int] = None) -> None: ...
    def close(self) -> None: ...
    def do_cmd(self, cmd: Arg, *args: Arg) -> Reply: ...
    def __call__(self, cmd: Arg, *args: Arg) -> Reply: ...
    def pipeline(self, transaction: bool = False) -> "Pipeline": ...
    def pubsub(self) -> "PubSub": ...
    def keyslot(self, key: Union[str, bytes, int]) -> int:
        """The cluster part's (RedisCluster shares this methods table): the key's hash
        slot, as RedisCluster.keyslot."""
    def __enter__(self) -> "Redis": ...
    def __exit__(self, *exc: Any) -> None: ...
    def __getattr__(self, command: str) -> Callable[..., Reply]:
        """Any name of ASCII letters and digits is a command: r.hset('h', 'k', 1)."""


class MasterNotFoundError(OSError):
    """No primary to connect to (the `sentinel` part): no sentinel knows the name (all
    unreachable, or none monitors it), or the node the sentinels named is not a primary
    (ROLE). args == (message, name)."""


class Sentinel:
    def __init__(self, sentinels: List[Tuple[str, int]], **options: Any) -> None:
        """`sentinels`: [(host, port), ...], asked in this order. The keyword options are
        Redis()'s (timeout, connect_timeout, username, password, ssl, ssl_context, ...), for
        the connections to the sentinels (not to the primary: see master_for). Nothing is
        connected yet; each sentinel is tried once per question (no retries)."""

    def discover_master(self, name: str) -> Tuple[str, int]:
        """(host, port) of the primary `name`, from the first sentinel that knows it
        (SENTINEL get-master-addr-by-name); unreachable or unknowing sentinels are skipped,
        and the one that answered is asked first next time. MasterNotFoundError if none."""

    def master_for(self, name: str, **options: Any) -> Redis:
        """A Redis client (Redis()'s keyword options but host, port and sock) that asks the
        sentinels for the primary on every (re)connect and checks ROLE there (a replica:
        MasterNotFoundError, retried by the connect retries). A write refused with READONLY
        (the primary was demoted under the connection) drops the connection and is sent
        again once, on the new primary; never a script (EVAL*, FCALL*), a command inside
        MULTI/after WATCH, or a pipeline. Connects at once, as Redis() does."""

    def discover_slaves(self, name: str) -> List[Tuple[str, int]]:
        """[(host, port), ...] of the replicas of `name` not flagged down (s_down, o_down,
        disconnected), from the first sentinel that names one (SENTINEL REPLICAS, or SLAVES
        before Redis 5); [] if none does."""

    def slave_for(self, name: str, **options: Any) -> Redis:
        """A Redis client (Redis()'s keyword options but host, port and sock) on a replica
        of `name`: every (re)connect asks the sentinels for the replicas and tries them in
        turn, one further than the last connect (ROLE must say slave), then, with none
        usable, the primary (ROLE master). A write gets RedisError('READONLY', ...) and the
        connection stays. Connects at once, as Redis() does."""

    def close(self) -> None: ...
    def __enter__(self) -> "Sentinel": ...
    def __exit__(self, *exc: Any) -> None: ...


class RedisCluster:
    """A Redis Cluster client (the `cluster` part): each command goes to the master of its
    keys' slot (with read_from_replicas, a read of the table to the master or a replica,
    in turn); MOVED, ASK, TRYAGAIN and CLUSTERDOWN are followed within 16 attempts."""

    def __init__(
        self,
        host: Optional[str] = "127.0.0.1",
        port: int = 7000,
        timeout: Optional[int] = 3000,
        debug: bool = False,
        *,
        startup_nodes: Optional[List[Tuple[str, int]]] = None,
        max_connections: int = 4,
        read_from_replicas: bool = False,
        server: Optional[str] = None,
        username: Optional[Union[str, bytes]] = None,
        password: Optional[Union[str, bytes]] = None,
        client_name: Optional[Union[str, bytes]] = None,
        protocol: int = 2,
        connect_timeout: Optional[int] = None,
        decode_responses: bool = False,
        ssl: bool = False,
        ssl_context: Any = None,
        health_check_interval: Optional[int] = None,
    ) -> None:
        """Loads the slot map from the first startup node that answers (`startup_nodes`,
        else host:port). The options apply to every node connection (at most
        `max_connections` open; the idlest closed first). No `sock=`.
        read_from_replicas=True: GET, MGET, EXISTS, STRLEN, TTL, TYPE, HGET, HGETALL,
        LRANGE, SMEMBERS, ZRANGE and the other reads of the README's table go to the
        master and its replicas in turn, on connections that send READONLY."""

    def connect(self, host: Optional[str] = None, port: Optional[int] = None) -> None:
        """Loads the slot map again (the arguments are not used)."""
    def close(self) -> None: ...
    def do_cmd(self, cmd: Arg, *args: Arg) -> Reply: ...
    def __call__(self, cmd: Arg, *args: Arg) -> Reply: ...
    def pipeline(self, transaction: bool = False) -> "Pipeline":
        """Grouped per node (one write each), replies in call order; transaction=True
        only within one slot (RedisError CROSSSLOT otherwise)."""
    def keyslot(self, key: Union[str, bytes, int]) -> int:
        """CRC16/XMODEM of the key (or its {hash tag}) mod 16384."""
    def __enter__(self) -> "RedisCluster": ...
    def __exit__(self, *exc: Any) -> None: ...
    def __getattr__(self, command: str) -> Callable[..., Reply]:
        """Any name of ASCII letters and digits is a command: rc.get('k')."""


class Pipeline:
    def __call__(self, cmd: Arg, *args: Arg) -> "Pipeline": ...
    def __getattr__(self, command: str) -> Callable[..., "Pipeline"]: ...
    def __len__(self) -> int: ...
    def execute(self) -> Optional[List[Reply]]:
        """One write, then every reply (errors in place); EXEC's reply with transaction=True."""
    def reset(self) -> None: ...
    def __enter__(self) -> "Pipeline": ...
    def __exit__(self, *exc: Any) -> None: ...


class PubSub:
    """Remembers its channels and patterns and subscribes to them again on every new
    connection; get_message() reopens a subscribed PubSub whose connection was lost (the
    confirmations arrive as messages). close() ends the subscriptions."""

    def subscribe(self, *channels: Arg) -> None: ...
    def psubscribe(self, *patterns: Arg) -> None: ...
    def unsubscribe(self, *channels: Arg) -> None: ...
    def punsubscribe(self, *patterns: Arg) -> None: ...
    def ping(self) -> None: ...
    def get_message(self, timeout: Optional[int] = 0) -> Optional[Dict[str, Any]]:
        """{'type', 'pattern', 'channel', 'data'} or None after `timeout` ms (None: wait
        without limit)."""
    def close(self) -> None: ...
    def __enter__(self) -> "PubSub": ...
    def __exit__(self, *exc: Any) -> None: ...


class Reader:
    def __init__(self, protocol: int = 2, encoding: Optional[str] = None, *,
                 notEnoughData: Any = False) -> None: ...
    def feed(self, data: Union[bytes, bytearray, memoryview], off: int = 0, len: int = -1,
             /) -> None:
        """Buffers a copy of data[off:off + len] (len -1: to the end), positional only, as
        in hiredis-py. With n bytes in data: ValueError, nothing fed, unless 0 <= off <= n
        and len is -1 or 0 <= len <= n - off; TypeError for a data without the buffer
        protocol or a non-int off/len."""
    def gets(self) -> Any:
        """The next complete reply, or notEnoughData."""
    def is_push(self) -> bool:
        """True when the reply gets() last returned was a RESP3 push frame (`>`):
        out-of-band data (an invalidation, a pub/sub message), not a command's reply."""
        ...

    def has_data(self) -> bool:
        """True while fed bytes are buffered that gets() has not returned as part of a
        reply: part of one, whole replies not yet taken, or what a ParseError stopped at.
        False for a new reader and once every fed byte has been returned."""


def encode(*args: Arg) -> bytes:
    """The RESP request for one command, exactly as Redis sends it: str as UTF-8, buffers
    verbatim, int (any size) and float as text. TypeError (nothing made) for any other
    argument, or for no argument at all. Only in builds with the Reader."""
