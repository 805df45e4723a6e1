"""Type stubs for `picoredis.asyncio`: the firmware's (Python frozen into it) and the
CPython/PyPy wheel's (rust/picoredis-py/python/picoredis/asyncio.pyi links here: one
description of the API for both hosts); see README.md.

One connection serves any number of tasks; commands are pipelined automatically.
Times are in milliseconds.
"""
from typing import Any, Awaitable, Callable, Dict, List, Optional, Protocol, Set, Tuple, Union

from . import Arg, Reply

OnConnect = Callable[["Redis"], Awaitable[None]]


class StreamReader(Protocol):
    """What connection_factory's reader needs: `readinto` (preferred) or `read`."""
    async def readinto(self, buf: bytearray) -> int:
        """Waits for data; the count put into `buf`, 0 at EOF."""


class StreamWriter(Protocol):
    def write(self, data: Union[bytes, memoryview]) -> Any: ...
    async def drain(self) -> Any: ...
    def close(self) -> Any: ...
    async def wait_closed(self) -> Any:
        """Optional: awaited (in a task of its own) after close()."""


ConnectionFactory = Callable[[], Awaitable[Tuple[Any, StreamWriter]]]


class Redis:
    host: str
    port: int
    timeout: Optional[int]

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 6379,
        timeout: Optional[int] = 3000,
        *,
        username: Optional[Union[str, bytes]] = None,
        password: Optional[Union[str, bytes]] = None,
        db: int = 0,
        client_name: Optional[Union[str, bytes]] = None,
        protocol: int = 2,
        decode_responses: bool = False,
        ssl: bool = False,
        ssl_context: Any = None,
        retries: int = 3,
        backoff_base: int = 50,
        backoff_cap: int = 2000,
        health_check_interval: Optional[int] = None,
        on_connect: Optional[OnConnect] = None,
        server: Optional[str] = None,
        connection_factory: Optional[ConnectionFactory] = None,
    ) -> None:
        """Connects on the first command (or `await connect()`).

        on_connect: an async callable run with the client after every (re)connect, after
        the handshake (HELLO/AUTH/CLIENT SETNAME/SELECT). Until the handshake and
        on_connect are done, every other task's command waits; the commands on_connect
        itself awaits go out at once (commands of tasks it starts wait for it to return:
        do not await them there). If it raises, that connect attempt fails (OSError and
        RedisTimeout are retried with the backoff).

        connection_factory: an async callable returning (reader, writer), awaited for
        every (re)connect instead of asyncio.open_connection(host, port): a transport
        of your own (an in-memory stream, a UART, a tunnel). The reader has
        readinto(buf) (or read(n)); the writer write(data), drain(), close() and,
        optionally, wait_closed(). A PubSub uses its client's factory."""

    async def connect(self) -> None: ...
    async def close(self) -> None: ...
    async def do_cmd(self, cmd: Arg, *args: Arg) -> Reply: ...
    def __call__(self, cmd: Arg, *args: Arg) -> Awaitable[Reply]: ...
    def __getattr__(self, name: str) -> Callable[..., Awaitable[Reply]]: ...
    def backoff_ms(self, attempt: int) -> int:
        """The wait before reconnect attempt `attempt`: a random share of
        min(backoff_cap, backoff_base * 2**attempt)."""
    def pipeline(self, transaction: bool = False) -> "Pipeline": ...
    def pubsub(self) -> "PubSub": ...
    async def __aenter__(self) -> "Redis": ...
    async def __aexit__(self, *exc: Any) -> None: ...


class Pipeline:
    def __call__(self, cmd: Arg, *args: Arg) -> "Pipeline": ...
    def __getattr__(self, name: str) -> Callable[..., "Pipeline"]: ...
    def __len__(self) -> int: ...
    async def execute(self) -> Union[List[Reply], Reply]: ...
    async def __aenter__(self) -> "Pipeline": ...
    async def __aexit__(self, *exc: Any) -> None: ...


class PubSub:
    channels: Set[Arg]
    patterns: Set[Arg]

    async def subscribe(self, *channels: Arg) -> None: ...
    async def psubscribe(self, *patterns: Arg) -> None: ...
    async def unsubscribe(self, *channels: Arg) -> None: ...
    async def punsubscribe(self, *patterns: Arg) -> None: ...
    async def ping(self) -> None: ...
    async def get_message(self, timeout: Optional[int] = 0) -> Optional[Dict[str, Any]]:
        """A message dict, or None after `timeout` ms (None: wait without limit)."""
    def listen(self) -> Any:
        """`async for msg in ps.listen()`: messages, waiting without limit."""
    async def close(self) -> None: ...
    async def __aenter__(self) -> "PubSub": ...
    async def __aexit__(self, *exc: Any) -> None: ...
