"""Secret templates, rendered in jinja2's sandbox.

A template sees only the values tokensync passes in (token, tokenType, expiresAt, ...):
no globals, no filesystem loader, no environment, no attribute access to Python internals.
StrictUndefined turns a typo into a clear error instead of an empty value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_TEMPLATE_OUTPUT = 256 * 1024  # a Secret is limited to 1 MiB in all

# Filters whose work is bounded by their input; the rest (center, indent, wordwrap, format...)
# take a width or a count and could make one small template allocate gigabytes.
_SAFE_FILTERS = (
    "abs", "capitalize", "d", "default", "e", "escape", "first", "float", "int", "join", "last", "length",
    "list", "lower", "replace", "reverse", "round", "string", "title", "tojson", "trim", "truncate", "upper",
    "urlencode",
)


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """jinja2's sandbox, plus bounds on what one expression may allocate: a template is spec
    text from any namespace, and it is rendered in the operator's event loop."""

    intercepted_binops = frozenset(["*", "**", "%"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        # The messages name no number: one computed from the token (token[3:11] | int) would
        # carry a piece of it into status and Events.
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise jinja2.exceptions.SecurityError("an exponent above 64 is too large")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(count, int) \
                        and len(sequence) * count > MAX_TEMPLATE_OUTPUT:
                    raise jinja2.exceptions.SecurityError("repeating a value that many times is too large")
        if operator == "%" and isinstance(left, str):
            raise jinja2.exceptions.SecurityError("%-formatting is not available; use ~ to join values")
        return super().call_binop(context, operator, left, right)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        # Methods that pad or format to a width the template chooses.
        if getattr(obj, "__name__", "") in ("format", "format_map", "center", "ljust", "rjust", "zfill", "expandtabs"):
            raise jinja2.exceptions.SecurityError(f"{obj.__name__}() is not available in a template")
        return super().call(context, obj, *args, **kwargs)


_environment = _BoundedSandbox(
    loader=None,
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)
_environment.globals.clear()  # no range(), lipsum(), dict(), cycler(), joiner(), namespace()
_environment.filters = {name: _environment.filters[name] for name in _SAFE_FILTERS}


def _bounded_replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, before, after = str(value), str(old), str(new)
    hits = text.count(before) if before else len(text) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    if len(text) + hits * max(0, len(after) - len(before)) > MAX_TEMPLATE_OUTPUT:
        raise jinja2.exceptions.SecurityError("replace() would make a value that is too large")
    return text.replace(before, after, -1 if count is None else count)


def _bounded_join(value: Any, separator: Any = "") -> str:
    items, glue = [str(item) for item in value], str(separator)
    if sum(map(len, items)) + len(glue) * max(0, len(items) - 1) > MAX_TEMPLATE_OUTPUT:
        raise jinja2.exceptions.SecurityError("join() would make a value that is too large")
    return glue.join(items)


_environment.filters["replace"] = _bounded_replace
_environment.filters["join"] = _bounded_join


def _check_structure(tree: nodes.Template) -> str | None:
    """Refuse what makes the work grow faster than the template: loops in loops, macros (which
    can recurse or loop inside a loop), recursive loops, and include/import/extends."""
    for kind, what in ((nodes.Macro, "macros"), (nodes.CallBlock, "call blocks"),
                       (nodes.Include, "include"), (nodes.Import, "import"), (nodes.FromImport, "import"),
                       (nodes.Extends, "extends")):
        if any(True for _ in tree.find_all(kind)):
            return f"{what} are not available in a template" if what.endswith("s") else \
                f"{what} is not available in a template"
    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            return "recursive loops are not available in a template"
        if any(True for _ in loop.find_all(nodes.For)):
            return "a loop inside a loop is not available in a template"
    return None


class TemplateError(ValueError):
    """A template that cannot be rendered: the message says which key and why."""


def render_templates(
    templates: Mapping[str, str], values: Mapping[str, str], *, secret_names: tuple[str, ...] = ("token",)
) -> dict[str, str]:
    """Render each key; the values named in ``secret_names`` are scrubbed from any error text."""
    rendered: dict[str, str] = {}
    for key in sorted(templates):
        try:
            rendered[key] = _render_one(key, templates[key], values)
        except TemplateError as exc:
            message = str(exc)
            for name in secret_names:
                secret = values.get(name)
                if secret:
                    message = message.replace(secret, "<redacted>")
            raise TemplateError(message) from None
    return rendered


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


_TYPE_NAMES = frozenset(["str", "int", "float", "bool", "dict", "list", "tuple", "NoneType", "str object",
                         "int object", "dict object", "list object", "tuple object", "Undefined"])


def _scrubbed(detail: str, template: str) -> str:
    """Error text may quote values the template computed (``{}[token[1:]]`` quotes most of the
    token): keep only quoted text that the template itself contains, or a type's name."""
    def keep(match: re.Match[str]) -> str:
        quoted = match.group()[1:-1]
        return match.group() if quoted in template or quoted in _TYPE_NAMES else "'<value>'"

    return _QUOTED.sub(keep, detail)


def _template_line(exc: BaseException) -> int | None:
    """The template line an error was raised on (jinja2 puts template frames in the traceback)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _render_one(key: str, template: str, values: Mapping[str, str]) -> str:
    try:
        problem = _check_structure(_environment.parse(template))
        if problem is not None:
            raise TemplateError(f"secret.template[{key!r}]: {problem}")
        pieces: list[str] = []
        size = 0
        for piece in _environment.from_string(template).generate(**values):
            size += len(piece)
            if size > MAX_TEMPLATE_OUTPUT:
                break  # stop rendering as soon as it is too large, not after
            pieces.append(piece)
        text = "".join(pieces)
    except TemplateError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        detail = f"syntax error on line {exc.lineno}: {exc.message}"
        raise TemplateError(f"secret.template[{key!r}]: {_scrubbed(detail, template)}") from None
    except jinja2.UndefinedError as exc:
        detail = f"{exc.message}; available: {', '.join(sorted(values))}"
        raise TemplateError(f"secret.template[{key!r}]: {_scrubbed(detail, template)}") from None
    except jinja2.exceptions.SecurityError as exc:
        detail = f"not allowed in the sandbox: {exc}"
        raise TemplateError(f"secret.template[{key!r}]: {_scrubbed(detail, template)}") from None
    except Exception as exc:  # any other error inside the template's own expressions
        # Its text may hold what the template computed from the token (an unknown encoding
        # named by token[1:], say), whatever quoting it uses: only its kind and line are told.
        line = _template_line(exc)
        where = f" on line {line}" if line is not None else ""
        raise TemplateError(f"secret.template[{key!r}]: {type(exc).__name__}{where} "
                            "(an expression failed on the values it was given)") from None
    if size > MAX_TEMPLATE_OUTPUT:
        raise TemplateError(f"secret.template[{key!r}]: output is larger than {MAX_TEMPLATE_OUTPUT} bytes")
    return text
