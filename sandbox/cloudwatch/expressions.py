"""Metric math, one period at a time: the part of CloudWatch's expression language alarms here use."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(>=|<=|==|!=|[-+*/(),<>]))")


class Unsupported(ValueError):
    """An alarm the sandbox cannot evaluate (it says so in the alarm's state reason and its log)."""


class MathError(Unsupported):
    """An expression the sandbox cannot evaluate (a function it does not implement, a syntax error)."""


def _tokens(expression: str) -> list[str]:
    tokens, position = [], 0
    expression = expression.strip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if not match or match.end() == position:
            raise MathError(f"cannot read {expression[position:]!r} in {expression!r}")
        tokens.append(next(g for g in match.groups() if g is not None))
        position = match.end()
    return tokens


def _arithmetic(op: str, a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    if op == "/":
        return None if b == 0 else a / b
    operations = {
        "+": lambda: a + b,
        "-": lambda: a - b,
        "*": lambda: a * b,
        "<": lambda: float(a < b),
        ">": lambda: float(a > b),
        "<=": lambda: float(a <= b),
        ">=": lambda: float(a >= b),
        "==": lambda: float(a == b),
        "!=": lambda: float(a != b),
        "AND": lambda: float(bool(a) and bool(b)),
        "OR": lambda: float(bool(a) or bool(b)),
    }
    return operations[op]()


def _function(name: str, arguments: list[float | None], expression: str) -> float | None:
    if name == "FILL" and len(arguments) == 2:
        return arguments[1] if arguments[0] is None else arguments[0]
    if name == "IF" and len(arguments) in (2, 3):
        if arguments[0] is None:
            return None
        return arguments[1] if arguments[0] else (arguments[2] if len(arguments) == 3 else None)
    if name == "ABS" and len(arguments) == 1:
        return None if arguments[0] is None else abs(arguments[0])
    if name in ("MIN", "MAX") and arguments:
        present = [a for a in arguments if a is not None]
        return (min if name == "MIN" else max)(present) if present else None
    raise MathError(f"the sandbox does not evaluate {name}({len(arguments)} arguments) in {expression!r}")


class _Expression:
    """A recursive-descent reader of one metric math expression (CloudWatch's grammar has no library here)."""

    LEVELS = (("AND", "OR"), ("<", ">", "<=", ">=", "==", "!="), ("+", "-"), ("*", "/"))

    def __init__(self, expression: str, variables: dict[str, float | None]):
        self.expression, self.variables = expression, variables
        self.tokens, self.position = _tokens(expression), 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token.upper() != expected):
            raise MathError(f"expected {expected or 'more'} in {self.expression!r}")
        self.position += 1
        return token

    def value(self) -> float | None:
        result = self.level(0)
        if self.position != len(self.tokens):
            raise MathError(f"unexpected {self.tokens[self.position]!r} in {self.expression!r}")
        return result

    def level(self, depth: int) -> float | None:
        if depth == len(self.LEVELS):
            return self.unary()
        result = self.level(depth + 1)
        while (self.peek() or "").upper() in self.LEVELS[depth]:
            op = self.take().upper()
            result = _arithmetic(op, result, self.level(depth + 1))
        return result

    def unary(self) -> float | None:
        if self.peek() == "-":
            self.take()
            result = self.unary()
            return None if result is None else -result
        return self.atom()

    def atom(self) -> float | None:
        item = self.take()
        if item == "(":
            result = self.level(0)
            self.take(")")
            return result
        if item[0].isdigit():
            return float(item)
        if self.peek() == "(":
            self.take("(")
            arguments = [] if self.peek() == ")" else [self.level(0)]
            while self.peek() == ",":
                self.take(",")
                arguments.append(self.level(0))
            self.take(")")
            return _function(item.upper(), arguments, self.expression)
        if item not in self.variables:
            raise MathError(f"{item!r} is not the id of a query of the alarm ({self.expression!r})")
        return self.variables[item]


def evaluate_expression(expression: str, variables: dict[str, float | None]) -> float | None:
    """One period of a metric math expression: numbers, the queries' ids, + - * /, comparisons (1 or 0),
    AND / OR, FILL(x, value), IF(condition, a[, b]), ABS, MIN / MAX of arguments. A missing value (None) makes
    arithmetic on it missing, as a time series without a datapoint at that timestamp; FILL gives it a value;
    a division by zero has no datapoint. Anything else raises MathError (the sandbox implements no more)."""
    return _Expression(expression, variables).value()
