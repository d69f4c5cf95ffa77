"""The run filter language: ``metrics.acc > 0.9 and (params.lr = '0.1' or tags.stage in ('a','b'))``.

A small tokenizer and recursive-descent parser compile a filter into a SQL ``WHERE`` fragment with
bound parameters. Every syntax error carries the position of the offending token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mlnb.errors import FilterSyntaxError

__all__ = ["compile_filter", "compile_order_by", "ATTRIBUTES"]

# attribute name -> SQL expression over the runs table
ATTRIBUTES: dict[str, str] = {
    "id": "runs.id",
    "run_id": "runs.id",
    "name": "runs.name",
    "status": "runs.status",
    "notebook": "runs.notebook",
    "experiment": "runs.experiment",
    "user": "runs.user_name",
    "host": "runs.host",
    "git_commit": "runs.git_commit",
    "parent_id": "runs.parent_id",
    "start_time": "runs.start_time",
    "end_time": "runs.end_time",
    "duration": "(runs.end_time - runs.start_time)",
    "source": "runs.source",
}
_PREFIXES = {"metrics": "metric", "metric": "metric", "params": "param", "param": "param",
             "tags": "tag", "tag": "tag", "attributes": "attr", "attribute": "attr", "attr": "attr"}
_KEYWORDS = {"and", "or", "not", "in", "like", "ilike", "is", "null", "true", "false", "asc", "desc"}
_COMPARE = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.]))
  | (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<op>==|!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
  | (?P<ident>(?:[A-Za-z_][\w\-/:]*|`[^`]*`)(?:\.(?:[A-Za-z_0-9][\w\-/:.]*|`[^`]*`))?)
    """,
    re.VERBOSE,
)


@dataclass
class Token:
    kind: str  # num, str, op, punct, ident, kw, end
    text: str
    pos: int
    value: Any = None


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            ch = text[pos]
            if ch in "'\"":
                raise FilterSyntaxError(f"Unterminated string starting with {ch}", text, pos)
            if ch == "`":
                raise FilterSyntaxError("Unterminated back-quoted name", text, pos)
            raise FilterSyntaxError(f"Unexpected character {ch!r}", text, pos)
        kind = m.lastgroup or ""
        tok_text = m.group()
        if kind == "ws":
            pos = m.end()
            continue
        tok = Token(kind, tok_text, pos)
        if kind == "num":
            tok.value = float(tok_text) if any(c in tok_text for c in ".eE") else int(tok_text)
        elif kind == "str":
            q = tok_text[0]
            body = tok_text[1:-1].replace(q + q, q)
            tok.value = re.sub(r"\\(.)", r"\1", body)
        elif kind == "ident" and tok_text.lower() in _KEYWORDS:
            tok.kind = "kw"
            tok.value = tok_text.lower()
        tokens.append(tok)
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _unquote(part: str) -> str:
    return part[1:-1] if part.startswith("`") and part.endswith("`") else part


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.params: list[Any] = []

    # -- helpers ----------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def advance(self) -> Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def error(self, message: str, tok: Token | None = None) -> FilterSyntaxError:
        tok = tok or self.tok
        return FilterSyntaxError(message, self.text, tok.pos)

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "kw" and self.tok.value in words

    def describe(self, tok: Token) -> str:
        return "end of filter" if tok.kind == "end" else repr(tok.text)

    # -- grammar ----------------------------------------------------------------------
    def parse(self) -> str:
        if self.tok.kind == "end":
            raise self.error("Empty filter: write a condition such as metrics.acc > 0.9")
        sql = self.or_expr()
        if self.tok.kind != "end":
            raise self.error(f"Expected 'and', 'or' or the end of the filter, got {self.describe(self.tok)}")
        return sql

    def or_expr(self) -> str:
        parts = [self.and_expr()]
        while self.is_kw("or"):
            self.advance()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def and_expr(self) -> str:
        parts = [self.not_expr()]
        while self.is_kw("and"):
            self.advance()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def not_expr(self) -> str:
        if self.is_kw("not"):
            self.advance()
            return f"(NOT {self.not_expr()})"
        return self.primary()

    def primary(self) -> str:
        if self.tok.kind == "punct" and self.tok.text == "(":
            open_tok = self.advance()
            inner = self.or_expr()
            if not (self.tok.kind == "punct" and self.tok.text == ")"):
                raise self.error(
                    f"Expected ')' to close the '(' at column {open_tok.pos + 1}, got {self.describe(self.tok)}"
                )
            self.advance()
            return inner
        return self.comparison()

    def key(self) -> tuple[str, str, Token]:
        tok = self.tok
        if tok.kind != "ident":
            raise self.error(
                f"Expected a key such as metrics.acc, params.lr, tags.x or status, got {self.describe(tok)}"
            )
        self.advance()
        if "." in tok.text and not tok.text.startswith("`"):
            prefix, _, name = tok.text.partition(".")
            kind = _PREFIXES.get(prefix.lower())
            if kind is None:
                raise self.error(
                    f"Unknown key prefix {prefix!r}: use metrics., params., tags. or an attribute", tok
                )
            name = _unquote(name)
            if not name:
                raise self.error(f"Missing name after {prefix}.", tok)
            if kind == "attr":
                return self._attr(name, tok)
            return kind, name, tok
        return self._attr(_unquote(tok.text), tok)

    def _attr(self, name: str, tok: Token) -> tuple[str, str, Token]:
        if name.lower() not in ATTRIBUTES:
            raise self.error(
                f"Unknown attribute {name!r}; use one of {', '.join(sorted(ATTRIBUTES))}, "
                "or metrics.KEY / params.KEY / tags.KEY",
                tok,
            )
        return "attr", name.lower(), tok

    def value(self) -> tuple[Any, Token]:
        tok = self.tok
        if tok.kind in ("num", "str"):
            self.advance()
            return tok.value, tok
        if tok.kind == "kw" and tok.value in ("true", "false"):
            self.advance()
            return tok.value == "true", tok
        if tok.kind == "ident":
            raise self.error(
                f"Expected a value, got {tok.text!r}: quote strings, e.g. '{tok.text}'", tok
            )
        raise self.error(f"Expected a value (a number or a 'quoted string'), got {self.describe(tok)}")

    def comparison(self) -> str:
        kind, name, key_tok = self.key()
        negate = False
        if self.is_kw("is"):
            self.advance()
            if self.is_kw("not"):
                self.advance()
                negate = True
            if not self.is_kw("null"):
                raise self.error(f"Expected NULL after IS, got {self.describe(self.tok)}")
            self.advance()
            return self._null(kind, name, negate)
        if self.is_kw("not"):
            self.advance()
            negate = True
            if not self.is_kw("in", "like", "ilike"):
                raise self.error(f"Expected IN, LIKE or ILIKE after NOT, got {self.describe(self.tok)}")
        if self.is_kw("in"):
            self.advance()
            values = self._value_list()
            return self._in(kind, name, values, negate)
        if self.is_kw("like", "ilike"):
            op = self.advance().value
            val, vtok = self.value()
            if not isinstance(val, str):
                raise self.error(f"{op.upper()} needs a 'quoted pattern'", vtok)
            return self._like(kind, name, op, val, negate)
        if self.tok.kind != "op":
            raise self.error(
                f"Expected a comparison (=, !=, <, <=, >, >=, IN, LIKE, IS NULL) after {key_tok.text!r}, "
                f"got {self.describe(self.tok)}"
            )
        op = _COMPARE[self.advance().text]
        val, vtok = self.value()
        return self._compare(kind, name, op, val, vtok)

    def _value_list(self) -> list[Any]:
        if not (self.tok.kind == "punct" and self.tok.text == "("):
            raise self.error(f"Expected '(' after IN, got {self.describe(self.tok)}")
        self.advance()
        values = []
        while True:
            val, _ = self.value()
            values.append(val)
            if self.tok.kind == "punct" and self.tok.text == ",":
                self.advance()
                continue
            if self.tok.kind == "punct" and self.tok.text == ")":
                self.advance()
                return values
            raise self.error(f"Expected ',' or ')' in the IN list, got {self.describe(self.tok)}")

    # -- SQL builders -----------------------------------------------------------------
    def _bind(self, *values: Any) -> None:
        self.params.extend(values)

    def _sub(self, table: str, name: str, cond: str) -> str:
        self._bind(name)
        return f"runs.id IN (SELECT run_id FROM {table} WHERE key = ? AND {cond})"

    def _null(self, kind: str, name: str, negate: bool) -> str:
        if kind == "attr":
            return f"{ATTRIBUTES[name]} IS {'NOT ' if negate else ''}NULL"
        table = {"metric": "latest_metrics", "param": "params", "tag": "tags"}[kind]
        self._bind(name)
        return f"runs.id {'' if negate else 'NOT '}IN (SELECT run_id FROM {table} WHERE key = ?)"

    def _param_column(self, val: Any) -> tuple[str, Any]:
        if isinstance(val, bool):
            return "value", "true" if val else "false"
        if isinstance(val, (int, float)):
            return "value_num", float(val)
        return "value_text", val

    def _compare(self, kind: str, name: str, op: str, val: Any, vtok: Token) -> str:
        if kind == "metric":
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                raise self.error(f"metrics.{name} is a number: compare it with a number", vtok)
            cond = f"value {op} ?"
            sql = self._sub("latest_metrics", name, cond)
            self._bind(float(val))
            return sql
        if kind == "param":
            col, v = self._param_column(val)
            sql = self._sub("params", name, f"{col} {op} ?")
            self._bind(v)
            return sql
        if kind == "tag":
            sql = self._sub("tags", name, f"value {op} ?")
            self._bind(str(val).lower() if isinstance(val, bool) else str(val))
            return sql
        self._bind(val)
        return f"{ATTRIBUTES[name]} {op} ?"

    def _in(self, kind: str, name: str, values: list[Any], negate: bool) -> str:
        marks = ", ".join("?" for _ in values)
        neg = "NOT " if negate else ""
        if kind == "attr":
            self._bind(*values)
            return f"{ATTRIBUTES[name]} {neg}IN ({marks})"
        if kind == "metric":
            sql = self._sub("latest_metrics", name, f"value {neg}IN ({marks})")
            self._bind(*(float(v) for v in values))
            return sql
        if kind == "tag":
            sql = self._sub("tags", name, f"value {neg}IN ({marks})")
            self._bind(*(str(v) for v in values))
            return sql
        # params: match text and numbers each in their own column
        conds, binds = [], []
        for v in values:
            col, b = self._param_column(v)
            conds.append(f"{col} = ?")
            binds.append(b)
        cond = "(" + " OR ".join(conds) + ")"
        if negate:
            cond = f"NOT {cond}"
        sql = self._sub("params", name, cond)
        self._bind(*binds)
        return sql

    def _like(self, kind: str, name: str, op: str, pattern: str, negate: bool) -> str:
        neg = "NOT " if negate else ""
        if kind == "attr":
            target = ATTRIBUTES[name]
        elif kind == "metric":
            raise self.error(f"LIKE does not apply to metrics.{name}, which is a number")
        else:
            col = "value_text" if kind == "param" else "value"
            target = col
        if op == "ilike":
            expr = f"lower({target}) {neg}LIKE lower(?)"
        else:
            expr = f"{target} {neg}LIKE ?"
        if kind == "attr":
            self._bind(pattern)
            return expr
        table = "params" if kind == "param" else "tags"
        sql = self._sub(table, name, expr)
        self._bind(pattern)
        return sql


def compile_filter(text: str | None) -> tuple[str, list[Any]]:
    """Compile a filter into ``(sql, params)``; an empty filter gives ``("1=1", [])``."""
    if text is None or not text.strip():
        return "1=1", []
    p = _Parser(text)
    sql = p.parse()
    return sql, p.params


def compile_order_by(text: str | list[str] | None) -> tuple[str, list[Any]]:
    """Compile ``"metrics.acc DESC, start_time"`` into an ORDER BY clause (without the keywords)."""
    if text is None or (isinstance(text, str) and not text.strip()) or text == []:
        return "runs.start_time DESC, runs.id DESC", []
    if isinstance(text, (list, tuple)):
        text = ", ".join(text)
    p = _Parser(text)
    parts: list[str] = []
    binds: list[Any] = []
    while True:
        kind, name, _tok = p.key()
        direction = "ASC"
        if p.is_kw("asc", "desc"):
            direction = p.advance().value.upper()
        if kind == "attr":
            expr = ATTRIBUTES[name]
        else:
            table, col = {"metric": ("latest_metrics", "value"), "param": ("params", "value_num"),
                          "tag": ("tags", "value")}[kind]
            expr = f"(SELECT {col} FROM {table} t WHERE t.run_id = runs.id AND t.key = ?)"
            binds.append(name)
            if kind == "param":  # numbers first by value, then text values
                expr2 = "(SELECT value_text FROM params t WHERE t.run_id = runs.id AND t.key = ?)"
                binds.append(name)
                parts.append(f"{expr} {direction} NULLS LAST")
                parts.append(f"{expr2} {direction} NULLS LAST")
                expr = ""
        if expr:
            parts.append(f"{expr} {direction} NULLS LAST")
        if p.tok.kind == "punct" and p.tok.text == ",":
            p.advance()
            continue
        if p.tok.kind != "end":
            raise p.error(f"Expected ',', ASC, DESC or the end of the order, got {p.describe(p.tok)}")
        break
    parts.append("runs.id DESC")
    return ", ".join(parts), binds
