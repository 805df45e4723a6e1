# debug=True prints every request and every reply line exactly; compared
# verbatim with test_debug_output.exp.  One RECV per header line, and a
# bulk's payload plus its CRLF as one RECV line.
from testenv import client
from picoredis import RedisError

r = client(debug=True)


def show(*args):
    try:
        print(repr(r.do_cmd(*args)))
    except RedisError as e:
        print('RedisError', repr(e.args))


show('SET', 'dbg:k', 'v')               # simple string
show('GET', 'dbg:k')                    # bulk
show('GET', 'dbg:missing')              # null bulk
show('INCRBY', 'dbg:n', -3)             # integer, int argument
show('SET', 'dbg:b', b'a\r\nb')         # CRLF inside a bulk payload
show('GET', 'dbg:b')
show('LRANGE', 'dbg:none', 0, -1)       # empty array
show('BLPOP', 'dbg:none', 0.01)         # null array, float argument
show('EVAL', "return {1, {'x'}}", 0)    # nested array
show('EVAL', "return redis.error_reply('CODE some text')", 0)
show('EVAL', "return {redis.error_reply('E1 in array'), 2}", 0)

r.debug = False                          # printing stops
show('PING')
r.debug = True
show('PING')
