"""Notebook parameters: read the cell tagged ``parameters`` with ``ast`` (no kernel), validate what the
caller passes against it, and write the ``injected-parameters`` cell papermill-style.

Types come from an annotation (``lr: float = 0.1``) or else from the default's type; a default of
``None`` or a non-literal default accepts anything. ``int`` is accepted (and converted) for ``float``;
``bool`` is never taken for a number.
"""

from __future__ import annotations

import ast
import difflib
import io
import keyword
import math
import tokenize
from dataclasses import dataclass, field
from typing import Any

from mlnb.execute._errors import ParameterError

__all__ = [
    "Parameter",
    "ParametersCell",
    "RawValue",
    "find_parameters",
    "parse_parameters_source",
    "resolve_parameters",
    "injection_source",
    "format_parameters_table",
]

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


class RawValue(str):
    """A parameter value as typed on a command line (``-p NAME VALUE``).

    It is read like a YAML scalar (``yaml.safe_load``), with the declared type breaking ties:
    ``-p name 2024`` stays the string ``"2024"`` when ``name`` is a ``str``, ``-p lr 1e-3`` is a
    float when ``lr`` is a ``float`` (YAML alone would say "string").
    """

    __slots__ = ()


_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "<required>"})()


# --------------------------------------------------------------------------------------------
# Type specs
# --------------------------------------------------------------------------------------------


class TypeSpec:
    """What values a parameter accepts. ``check`` returns ``(ok, value converted to the type)``."""

    accepts_str = False

    def check(self, value: Any) -> tuple[bool, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __str__(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<type {self}>"


class AnyType(TypeSpec):
    accepts_str = True

    def __init__(self, label: str = "any") -> None:
        self.label = label

    def check(self, value: Any) -> tuple[bool, Any]:
        return True, value

    def __str__(self) -> str:
        return self.label


class NoneType_(TypeSpec):
    def check(self, value: Any) -> tuple[bool, Any]:
        return value is None, value

    def __str__(self) -> str:
        return "None"


class ScalarType(TypeSpec):
    def __init__(self, py: type) -> None:
        self.py = py
        self.accepts_str = py is str

    def check(self, value: Any) -> tuple[bool, Any]:
        if self.py is bool:
            return isinstance(value, bool), value
        if isinstance(value, bool):
            return False, value
        if self.py is int:
            return isinstance(value, int), value
        if self.py is float:
            if isinstance(value, (int, float)):
                return True, float(value)
            return False, value
        return isinstance(value, self.py), value

    def __str__(self) -> str:
        return self.py.__name__


class SequenceType(TypeSpec):
    def __init__(self, item: TypeSpec | None, tuple_: bool = False, label: str | None = None) -> None:
        self.item, self.tuple_ = item, tuple_
        self.label = label or ("tuple" if tuple_ else "list")

    def check(self, value: Any) -> tuple[bool, Any]:
        if not isinstance(value, (list, tuple)):
            return False, value
        items = list(value)
        if self.item is not None:
            for i, v in enumerate(items):
                ok, items[i] = self.item.check(v)
                if not ok:
                    return False, value
        return True, tuple(items) if self.tuple_ else items

    def __str__(self) -> str:
        return f"{self.label}[{self.item}]" if self.item is not None else self.label


class DictType(TypeSpec):
    def __init__(self, key: TypeSpec | None = None, value: TypeSpec | None = None) -> None:
        self.key, self.value = key, value

    def check(self, value: Any) -> tuple[bool, Any]:
        if not isinstance(value, dict):
            return False, value
        if self.key is None and self.value is None:
            return True, value
        out = {}
        for k, v in value.items():
            ok_k, k2 = self.key.check(k) if self.key else (True, k)
            ok_v, v2 = self.value.check(v) if self.value else (True, v)
            if not (ok_k and ok_v):
                return False, value
            out[k2] = v2
        return True, out

    def __str__(self) -> str:
        if self.key is None and self.value is None:
            return "dict"
        return f"dict[{self.key or 'any'}, {self.value or 'any'}]"


class UnionType(TypeSpec):
    def __init__(self, options: list[TypeSpec]) -> None:
        self.options = options
        self.accepts_str = any(o.accepts_str for o in options)

    def check(self, value: Any) -> tuple[bool, Any]:
        # Prefer an option that takes the value as it is (so 1 stays int in ``int | float``).
        for o in self.options:
            ok, v = o.check(value)
            if ok and type(v) is type(value):
                return True, v
        for o in self.options:
            ok, v = o.check(value)
            if ok:
                return True, v
        return False, value

    def __str__(self) -> str:
        return " | ".join(str(o) for o in self.options)


class LiteralType(TypeSpec):
    def __init__(self, values: list[Any]) -> None:
        self.values = values
        self.accepts_str = any(isinstance(v, str) for v in values)

    def check(self, value: Any) -> tuple[bool, Any]:
        return any(type(value) is type(v) and value == v for v in self.values), value

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


_NAMED: dict[str, TypeSpec] = {
    "int": ScalarType(int),
    "float": ScalarType(float),
    "bool": ScalarType(bool),
    "str": ScalarType(str),
    "list": SequenceType(None),
    "List": SequenceType(None),
    "Sequence": SequenceType(None, label="list"),
    "tuple": SequenceType(None, tuple_=True),
    "Tuple": SequenceType(None, tuple_=True),
    "dict": DictType(),
    "Dict": DictType(),
    "Mapping": DictType(),
    "Any": AnyType(),
    "object": AnyType(),
    "None": NoneType_(),
}


def _annotation_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # typing.Optional, t.List
        return node.attr
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return None


def type_from_annotation(node: ast.expr, source: str) -> TypeSpec:
    """Translate an annotation into a TypeSpec; anything unknown accepts any value."""
    text = ast.get_source_segment(source, node) or ast.unparse(node)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # "float" (string annotation)
        try:
            return type_from_annotation(ast.parse(node.value, mode="eval").body, node.value)
        except SyntaxError:
            return AnyType(text)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([type_from_annotation(node.left, source), type_from_annotation(node.right, source)])
    name = _annotation_name(node)
    if name is not None:
        spec = _NAMED.get(name)
        return spec if spec is not None else AnyType(text)
    if isinstance(node, ast.Subscript):
        base = _annotation_name(node.value)
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if base == "Optional" and len(args) == 1:
            return _union([type_from_annotation(args[0], source), NoneType_()])
        if base == "Union":
            return _union([type_from_annotation(a, source) for a in args])
        if base == "Literal":
            try:
                return LiteralType([ast.literal_eval(a) for a in args])
            except ValueError:
                return AnyType(text)
        if base in ("list", "List", "Sequence", "set", "Set") and len(args) == 1:
            return SequenceType(type_from_annotation(args[0], source))
        if base in ("tuple", "Tuple"):
            item = type_from_annotation(args[0], source) if len(args) == 2 and _is_ellipsis(args[1]) else None
            return SequenceType(item, tuple_=True)
        if base in ("dict", "Dict", "Mapping") and len(args) == 2:
            return DictType(type_from_annotation(args[0], source), type_from_annotation(args[1], source))
    return AnyType(text)


def _is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis


def _union(options: list[TypeSpec]) -> TypeSpec:
    flat: list[TypeSpec] = []
    for o in options:
        flat.extend(o.options if isinstance(o, UnionType) else [o])
    if any(isinstance(o, AnyType) for o in flat):
        return AnyType(" | ".join(str(o) for o in flat))
    return UnionType(flat)


def type_from_default(value: Any) -> TypeSpec:
    if value is None or value is _MISSING:
        return AnyType()
    if isinstance(value, bool):
        return _NAMED["bool"]
    for t in (int, float, str):
        if isinstance(value, t):
            return ScalarType(t)
    if isinstance(value, list):
        return SequenceType(None)
    if isinstance(value, tuple):
        return SequenceType(None, tuple_=True)
    if isinstance(value, dict):
        return DictType()
    return AnyType()


# --------------------------------------------------------------------------------------------
# Reading the parameters cell
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One name the ``parameters`` cell assigns: its type, default and inline ``# comment``."""

    name: str
    type: TypeSpec
    default: Any = _MISSING  # the literal value; _MISSING when required or not a literal
    default_source: str = ""  # the default as written ("" when required)
    comment: str = ""
    annotation: str | None = None
    lineno: int = 0

    @property
    def required(self) -> bool:
        return not self.default_source

    @property
    def has_literal_default(self) -> bool:
        return self.default is not _MISSING

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": str(self.type),
            "default": self.default_source or None,
            "required": self.required,
            "comment": self.comment,
        }


@dataclass
class ParametersCell:
    """The notebook's ``parameters`` cell (``index``/``cell_id``) and what it declares."""

    index: int
    cell_id: str | None
    parameters: list[Parameter] = field(default_factory=list)
    syntax_error: str | None = None

    def by_name(self) -> dict[str, Parameter]:
        return {p.name: p for p in self.parameters}


def _comments(source: str) -> dict[int, tuple[str, bool]]:
    """line -> (comment text, whether the line holds only the comment)."""
    out: dict[int, tuple[str, bool]] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                alone = not tok.line[: tok.start[1]].strip()
                out[tok.start[0]] = (tok.string.lstrip("#").strip(), alone)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return out


def _blank_magics(source: str) -> str:
    """Blank IPython-only lines (``%magic``, ``!shell``) so ``ast`` can read the rest."""
    lines = source.splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith(("%", "!")):
            lines[i] = ""
    return "\n".join(lines)


def parse_parameters_source(source: str) -> tuple[list[Parameter], str | None]:
    """Parameters assigned at the top level of ``source``; the second item is a syntax error, if any."""
    code = _blank_magics(source)
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        return [], f"line {e.lineno}: {e.msg}"
    comments = _comments(code)
    found: dict[str, Parameter] = {}

    def comment_for(node: ast.stmt) -> str:
        end = node.end_lineno or node.lineno
        for line in range(end, node.lineno - 1, -1):
            c = comments.get(line)
            if c and not c[1]:
                return c[0]
        above, line = [], node.lineno - 1
        while line in comments and comments[line][1]:
            above.insert(0, comments[line][0])
            line -= 1
        return " ".join(above)

    def add(name: str, value_node: ast.expr | None, ann: ast.expr | None, node: ast.stmt) -> None:
        default: Any = _MISSING
        default_source = ""
        if value_node is not None:
            default_source = ast.get_source_segment(code, value_node) or ast.unparse(value_node)
            try:
                default = ast.literal_eval(value_node)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                default = _MISSING
        if ann is not None:
            spec = type_from_annotation(ann, code)
            ann_text = ast.get_source_segment(code, ann) or ast.unparse(ann)
        else:
            spec = type_from_default(default)
            ann_text = None
        found.pop(name, None)  # a later assignment wins, as in Python
        found[name] = Parameter(
            name=name,
            type=spec,
            default=default,
            default_source=default_source,
            comment=comment_for(node),
            annotation=ann_text,
            lineno=node.lineno,
        )

    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            add(node.target.id, node.value, node.annotation, node)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    add(target.id, node.value, None, node)
                elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(node.value, (ast.Tuple, ast.List)):
                    if len(target.elts) == len(node.value.elts):
                        for t, v in zip(target.elts, node.value.elts):
                            if isinstance(t, ast.Name):
                                add(t.id, v, None, node)
    return list(found.values()), None


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _tags(cell: dict[str, Any]) -> list[str]:
    tags = (cell.get("metadata") or {}).get("tags") or []
    return tags if isinstance(tags, list) else []


def find_parameters(nb: dict[str, Any]) -> ParametersCell | None:
    """The first cell tagged ``parameters`` and its parameters, or None when there is none."""
    for index, cell in enumerate(nb.get("cells", [])):
        if PARAMETERS_TAG in _tags(cell):
            params, err = parse_parameters_source(_source(cell))
            return ParametersCell(index=index, cell_id=cell.get("id"), parameters=params, syntax_error=err)
    return None


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _yaml_scalar(raw: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        return raw


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def coerce(value: Any, spec: TypeSpec) -> tuple[bool, Any]:
    """Check ``value`` against ``spec``; a :class:`RawValue` is parsed first (YAML, type-aware)."""
    if not isinstance(value, RawValue):
        return spec.check(value)
    raw = str(value)
    if raw.strip() == "None" and spec.check(None)[0]:
        return True, None  # Python's spelling of null, where None is allowed
    parsed = _yaml_scalar(raw)
    ok, v = spec.check(parsed)
    if ok:
        return True, v
    if spec.accepts_str:
        ok, v = spec.check(raw)
        if ok:
            return True, v
    if isinstance(parsed, str):
        for conv in (int, float):
            try:
                number = conv(raw)
            except ValueError:
                continue
            ok, v = spec.check(number)
            if ok:
                return True, v
    return False, parsed


def _plain(value: Any) -> Any:
    """A :class:`RawValue` read as a YAML scalar, anything else as it is (no declared type known)."""
    if isinstance(value, RawValue):
        return None if value.strip() == "None" else _yaml_scalar(str(value))
    return value


def _injectable(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_injectable(v) for v in value)
    if isinstance(value, dict):
        return all(_injectable(k) and _injectable(v) for k, v in value.items())
    return False


@dataclass
class ResolvedParameters:
    """What to inject (only the names given), the effective values (defaults + injected), warnings."""

    injected: dict[str, Any]
    effective: dict[str, Any]
    warnings: list[str]


def resolve_parameters(
    cell: ParametersCell | None,
    given: dict[str, Any],
    notebook: str | None = None,
) -> ResolvedParameters:
    """Validate ``given`` against the ``parameters`` cell; raise :class:`ParameterError` listing every
    problem and the valid parameters. Without a parameters cell nothing can be checked: say so."""
    warnings: list[str] = []
    problems: list[str] = []
    injected: dict[str, Any] = {}
    for name in given:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            problems.append(f"{name!r} is not a valid Python name")

    if cell is None:
        if given:
            warnings.append(
                "the notebook has no cell tagged 'parameters': parameters are injected at the top "
                "and cannot be validated (tag the cell holding the defaults 'parameters' to check "
                "names and types)"
            )
        for name, value in given.items():
            value = _plain(value)
            if not _injectable(value):
                problems.append(f"{name}: cannot inject a value of type {type(value).__name__}")
            injected[name] = value
        if problems:
            raise ParameterError(problems, None, notebook)
        return ResolvedParameters(injected, dict(injected), warnings)

    if cell.syntax_error and given:
        raise ParameterError(
            [
                f"the cell tagged 'parameters' (cell {cell.index + 1}) does not parse "
                f"({cell.syntax_error}); fix it so parameters can be checked"
            ],
            None,
            notebook,
        )

    declared = cell.by_name()
    for name, value in given.items():
        spec = declared.get(name)
        if spec is None:
            if name.isidentifier():
                close = difflib.get_close_matches(name, list(declared), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(f"unknown parameter {name!r}{hint}")
            continue
        ok, converted = coerce(value, spec.type)
        if not ok:
            problems.append(f"{name} must be {spec.type}, got {_describe(converted)}")
            continue
        if not _injectable(converted):
            problems.append(f"{name}: cannot inject a value of type {type(converted).__name__}")
            continue
        injected[name] = converted
    for p in cell.parameters:
        if p.required and p.name not in given:
            problems.append(f"missing required parameter {p.name!r} ({p.type}, no default)")
    if problems:
        raise ParameterError(problems, cell.parameters, notebook)

    effective = {p.name: p.default for p in cell.parameters if p.has_literal_default and _injectable(p.default)}
    effective.update(injected)
    return ResolvedParameters(injected, effective, warnings)


# --------------------------------------------------------------------------------------------
# Injection and help
# --------------------------------------------------------------------------------------------


def py_literal(value: Any) -> str:
    """Python source for a value (``float('nan')`` and ``float('inf')`` included)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, list):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(py_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def injection_source(values: dict[str, Any]) -> str:
    """The injected cell's source, papermill's layout: a ``# Parameters`` header, one line a name."""
    return "\n".join(["# Parameters", *(f"{k} = {py_literal(v)}" for k, v in values.items())]) + "\n"


def format_parameters_table(cell: ParametersCell | None, notebook: str = "") -> str:
    """The ``--help-params`` text: name, type, default and comment of each parameter."""
    title = f"Parameters of {notebook}" if notebook else "Parameters"
    if cell is None:
        return (
            f"{title}: none declared (no cell is tagged 'parameters').\n"
            "Values passed with -p are injected at the top of the notebook without validation."
        )
    head = f"{title} (cell {cell.index + 1}, tagged 'parameters'):"
    if cell.syntax_error:
        return f"{head}\n  the cell does not parse: {cell.syntax_error}"
    if not cell.parameters:
        return f"{head}\n  (the cell assigns no names)"
    rows = [("NAME", "TYPE", "DEFAULT", "DESCRIPTION")]
    for p in cell.parameters:
        default = p.default_source if p.default_source else "(required)"
        if len(default) > 40:
            default = default[:37] + "..."
        rows.append((p.name, str(p.type), default, p.comment))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [head]
    for r in rows:
        lines.append(
            ("  " + "  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3]).rstrip()
        )
    return "\n".join(lines)
