# The scripts in examples/ run against the test server and print what they
# promise (compared with test_examples.exp).
import os

EXAMPLES = ('demo.py', 'rate_limiter.py')
root = os.getcwd().rsplit('/tests/unix', 1)[0]  # the runner's cwd is tests/unix
for name in EXAMPLES:
    print('==', name)
    with open(root + '/examples/' + name) as f:
        exec(f.read(), {'__name__': '__main__'})
