"""Small Python functions `f(x)` by level, shared by the three Absolute-Zero code skills.

Each template draws its constants from the rng and returns the body of `f` and a way to draw valid
inputs. The generated source is ours and trusted, so it is exec'd here, at generation time, to
compute references; the student's code only ever runs in the sandbox.
"""

from __future__ import annotations

import random
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Draw = Callable[[random.Random], Any]
Template = Callable[[random.Random], tuple[str, Draw]]


def _ints(lo: int, hi: int) -> Draw:
    return lambda rng: rng.randint(lo, hi)


def _int_lists(lo: int, hi: int) -> Draw:
    return lambda rng: [rng.randint(lo, hi) for _ in range(rng.randint(3, 6))]


def _words(letters: str) -> Draw:
    return lambda rng: "".join(rng.choice(letters) for _ in range(rng.randint(3, 7)))


def _add(rng):  # level 1: a constant shift
    return f"return x + {rng.randint(1, 9)}", _ints(0, 9)


def _affine(rng):
    a, b = rng.randint(2, 5), rng.randint(1, 9)
    body = rng.choice([f"return {a} * x + {b}", f"return {a} * x - {b}", f"return (x + {b}) * {a}"])
    return body, _ints(0, 9)


def _branch(rng):
    t, a, b = rng.randint(3, 12), rng.randint(1, 5), rng.randint(1, 9)
    return f"if x > {t}:\n    return x - {a}\nreturn x + {b}", _ints(0, 20)


def _parity(rng):
    return f"if x % 2 == 0:\n    return x // 2\nreturn {rng.randint(2, 5)} * x + 1", _ints(1, 30)


def _mod(rng):
    return f"return x % {rng.randint(2, 7)} + {rng.randint(1, 5)}", _ints(0, 30)


def _sum_range(rng):
    return f"s = 0\nfor i in range(x):\n    s += i * {rng.randint(1, 3)}\nreturn s", _ints(0, 10)


def _count_multiples(rng):
    m = rng.randint(2, 5)
    return f"n = 0\nfor i in range(x):\n    if i % {m} == 0:\n        n += 1\nreturn n", _ints(0, 30)


def _digit_sum(rng):
    return "s = 0\nwhile x > 0:\n    s += x % 10\n    x //= 10\nreturn s", _ints(10, 9999)


def _halvings(rng):
    return f"n = 0\nwhile x > {rng.randint(0, 3)}:\n    x //= 2\n    n += 1\nreturn n", _ints(1, 200)


def _sum_evens(rng):
    return "return sum(v for v in x if v % 2 == 0)", _int_lists(0, 20)


def _filter_scale(rng):
    return f"return [v * {rng.randint(2, 3)} for v in x if v > {rng.randint(3, 10)}]", _int_lists(0, 20)


def _spread(rng):
    return "return max(x) - min(x)", _int_lists(0, 50)


def _prefix_sums(rng):
    return "s = 0\nout = []\nfor v in x:\n    s += v\n    out.append(s)\nreturn out", _int_lists(0, 9)


def _reverse(rng):
    return "return x[::-1]", _words("abcdef")


def _count_char(rng):
    c = rng.choice("abc")
    return f"return x.count({c!r})", _words("abc")


# Difficulty as data: which families of function each level draws from.
LEVELS: dict[int, tuple[Template, ...]] = {
    1: (_add,),
    2: (_affine,),
    3: (_branch, _parity, _mod),
    4: (_sum_range, _count_multiples, _digit_sum, _halvings),
    5: (_sum_evens, _filter_scale, _spread, _prefix_sums, _reverse, _count_char),
}


@dataclass(frozen=True)
class Program:
    source: str  # "def f(x):\n    return x + 3\n"
    family: str
    fn: Callable[[Any], Any]
    draw_input: Draw

    def inputs(self, rng: random.Random, count: int) -> list[Any]:
        """`count` inputs with distinct values (the templates' input ranges are large enough)."""
        seen: dict[str, Any] = {}
        while len(seen) < count:
            x = self.draw_input(rng)
            seen.setdefault(repr(x), x)
        return list(seen.values())


def draw(level: int, rng: random.Random) -> Program:
    template = rng.choice(LEVELS[level])
    body, draw_input = template(rng)
    source = "def f(x):\n" + textwrap.indent(body, "    ") + "\n"
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # our own generated source: see the module docstring
    return Program(source, template.__name__.lstrip("_"), namespace["f"], draw_input)
