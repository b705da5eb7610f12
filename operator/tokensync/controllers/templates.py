"""Secret templates, rendered in jinja2's sandbox.

A template sees only the values tokensync passes in (token, tokenType, expiresAt, ...):
no globals, no filesystem loader, no environment, no attribute access to Python internals.
StrictUndefined turns a typo into a clear error instead of an empty value.
"""

from __future__ import annotations

from collections.abc import Mapping

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

_environment = ImmutableSandboxedEnvironment(
    loader=None,
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)
_environment.globals.clear()  # no range(), lipsum(), dict(), cycler(), joiner(), namespace()

MAX_TEMPLATE_OUTPUT = 256 * 1024  # a Secret is limited to 1 MiB in all


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


def _render_one(key: str, template: str, values: Mapping[str, str]) -> str:
    try:
        text = _environment.from_string(template).render(**values)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"secret.template[{key!r}]: syntax error on line {exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        names = ", ".join(sorted(values))
        raise TemplateError(f"secret.template[{key!r}]: {exc.message}; available: {names}") from None
    except jinja2.exceptions.SecurityError as exc:
        raise TemplateError(f"secret.template[{key!r}]: not allowed in the sandbox: {exc}") from None
    except Exception as exc:  # any other error inside the template's own expressions
        raise TemplateError(f"secret.template[{key!r}]: {type(exc).__name__}: {exc}") from None
    if len(text) > MAX_TEMPLATE_OUTPUT:
        raise TemplateError(f"secret.template[{key!r}]: output is larger than {MAX_TEMPLATE_OUTPUT} bytes")
    return text
