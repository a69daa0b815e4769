"""The comparison the code skills' tests make, as Python source spliced into each harness after the answer.

`assert f(3) == 5` passes for an f that returns an object whose `__eq__` says True to everything. The tests
ask `__same__(got, expected)` instead: both must be plain data (numbers, strings, bytes, None, and lists,
tuples, dicts, sets of plain data) of exactly the same types, and equal by those builtin types' own `==`,
which no answer can redefine. HumanEval tests, which compare in their own ways, call the entry point
through `__checked__`, which refuses a return value that is not plain data.

The source names no builtin: it reaches every type from a literal (`[].__class__` is list), so an answer
that rebinds `type`, `repr` or `isinstance` changes nothing; and it runs after the answer, so an answer that
defines its own `__same__` is overwritten. Not covered, as in the sandbox runner's threat model: an answer
that deliberately reaches into the harness while the tests run (patching these functions, writing the report).
"""

GUARD = '''
def __plain__(v):
    t = ().__class__.__class__(v)  # type(v): `type` itself is a name an answer could rebind
    if t is [].__class__ or t is ().__class__ or t is {0}.__class__:
        for x in v:
            if not __plain__(x):
                return False
        return True
    if t is {}.__class__:
        for k in v:
            if not __plain__(k) or not __plain__(v[k]):
                return False
        return True
    return (t is (0).__class__ or t is (0.0).__class__ or t is (0j).__class__ or t is True.__class__
            or t is "".__class__ or t is b"".__class__ or t is None.__class__)


def __data__(v):
    """v itself if it is plain data, else a TypeError that says so."""
    if not __plain__(v):
        name = ().__class__.__class__(v).__name__
        raise TypeError(f"got {name}, not plain data (numbers, strings, None, containers of them)")
    return v


def __same__(got, expected):
    """got and expected are plain data of the same types, equal: what a test means by `got == expected`."""
    t = ().__class__.__class__(__data__(got))
    if t is not ().__class__.__class__(expected):
        return False
    if t is [].__class__ or t is ().__class__:
        if got.__len__() != expected.__len__():
            return False
        i = 0
        while i < got.__len__():
            if not __same__(got[i], expected[i]):
                return False
            i += 1
        return True
    if t is {}.__class__:
        if got.__len__() != expected.__len__():
            return False
        for k in got:
            if k not in expected or not __same__(got[k], expected[k]):
                return False
        return True
    return got == expected  # builtin scalars and sets of them: their own ==


def __checked__(fn):
    """fn, refusing a return value that is not plain data: for tests that compare in their own ways."""
    def checked(*args, **kwargs):
        return __data__(fn(*args, **kwargs))
    return checked
'''
