# Ctrl-C while a client works: SIGINT sent to this process at random moments while it runs
# LRANGEs of 1000 and GETs in a loop. Each time the KeyboardInterrupt must reach the script,
# and the client must answer the next commands right (reconnected if the interrupt aborted a
# reply), the interpreter still able to allocate.
#
# The firmware used to be built with MicroPython's asynchronous Ctrl-C (the unix port's
# MICROPY_ASYNC_KBD_INTR), which raises from the signal handler at whatever instruction the
# signal lands on: inside the allocator it left the heap locked ("MemoryError: memory
# allocation failed, heap is locked" on the next command, every run). The picoredis unix
# variant (ports/unix/picoredis) raises it where the VM or an interrupted system call checks
# for pending exceptions, as a board does. A stock unix firmware (the native module's tests
# run there) still has the asynchronous Ctrl-C: nothing a module can change, so skipped there.
#
# The signal comes from a shell started in the background (`kill -INT $PPID`: the shell's
# parent is this process), so it arrives after os.system() returns.
import os
import random
import sys
import time
from ptest import add, run, eq, check
from testenv import client

ROUNDS = 40
ROUND_MS = 1500  # a signal lost (none arrived): the round gives up after this
KEY, LIST, N = 'intr:k', 'intr:list', 1000


def asynchronous_ctrl_c():
    impl = sys.implementation
    return impl.name == 'micropython' and getattr(impl, '_build', '') != 'picoredis'


def interrupt_in(ms):
    os.system('(sleep %d.%03d; kill -INT $PPID) &' % (ms // 1000, ms % 1000))


def ms_now():
    return time.ticks_ms()


def interrupted_commands_leave_the_client_working():
    r = client()
    r.set(KEY, 'abc')
    r.DEL(LIST)
    for i in range(0, N, 100):
        r.rpush(LIST, *['element-%d' % j for j in range(i, i + 100)])
    interrupted = wrong = 0
    for n in range(ROUNDS):
        interrupt_in(random.randint(5, 40))
        t0 = ms_now()
        try:
            while time.ticks_diff(ms_now(), t0) < ROUND_MS:
                items = r.lrange(LIST, 0, -1)
                if len(items) != N or items[0] != b'element-0' or items[-1] != b'element-999':
                    wrong += 1
                if r.get(KEY) != b'abc':
                    wrong += 1
        except KeyboardInterrupt:
            interrupted += 1
        # After the interrupt: the same client answers (a new connection if the reply was
        # cut), and the interpreter allocates.
        eq(r.get(KEY), b'abc', 'GET after interrupt %d' % n)
        eq(len(r.lrange(LIST, 0, -1)), N, 'LRANGE after interrupt %d' % n)
        eq(r.ping(), b'PONG', 'PING after interrupt %d' % n)
    eq(wrong, 0, 'replies wrong between interrupts')
    # Most rounds must have been interrupted inside the loop, or this tested nothing.
    check(interrupted >= ROUNDS * 3 // 4, 'only %d of %d rounds interrupted' % (interrupted, ROUNDS))
    r.DEL(LIST, KEY)
    r.close()


if asynchronous_ctrl_c():
    print('NOTE stock unix firmware (Ctrl-C raised from the signal handler): skipped')
else:
    add('interrupted commands leave the client working',
        interrupted_commands_leave_the_client_working)
run()
