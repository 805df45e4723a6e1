# The debug trace never prints a password: the AUTH request is replaced by a note.
import os
from picoredis import Redis

r = Redis('127.0.0.1', int(os.getenv('PICOREDIS_AUTH_PORT')), debug=True,
          username=os.getenv('PICOREDIS_ACL_USER'), password=os.getenv('PICOREDIS_ACL_PASSWORD'))
print(r.ping())
