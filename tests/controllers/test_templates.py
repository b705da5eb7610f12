"""Secret templates: what a user can write, and what the sandbox refuses."""

from __future__ import annotations

import re

import pytest

from tokensync.controllers.templates import TemplateError, render_templates

VALUES = {"token": "TOKEN-CANARY-123", "tokenType": "bearer_token", "expiresAt": "2026-11-22T10:00:00Z"}


def test_renders_each_key_from_the_token_values() -> None:
    rendered = render_templates(
        {"Authorization": "Bearer {{ token }}", "config.json": '{"type": "{{ tokenType }}"}'}, VALUES
    )
    assert rendered == {"Authorization": "Bearer TOKEN-CANARY-123", "config.json": '{"type": "bearer_token"}'}


def test_filters_work_inside_the_sandbox() -> None:
    assert render_templates({"k": "{{ tokenType | upper }}"}, VALUES) == {"k": "BEARER_TOKEN"}


@pytest.mark.parametrize(
    "template",
    [
        "{{ token.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ self.__init__.__globals__ }}",
        "{% include '/etc/passwd' %}",
        "{{ range(10) | list }}",
        "{{ lipsum() }}",
        "{{ cycler }}",
        "{{ config }}",
        "{{ environ }}",
    ],
)
def test_escapes_are_refused_with_a_clear_error(template: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render_templates({"k": template}, VALUES)
    assert "secret.template['k']" in str(caught.value)


def test_unknown_name_lists_what_is_available() -> None:
    with pytest.raises(TemplateError, match="available: expiresAt, token, tokenType"):
        render_templates({"k": "{{ tokn }}"}, VALUES)


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(TemplateError, match="syntax error on line 2"):
        render_templates({"k": "ok\n{% if %}"}, VALUES)


SECRET_TOKEN = "SAT7fQ2xLm9PzR4kW8vN3bT6yH1cJ5dG0aE"


def pieces(secret: str, size: int = 8) -> list[str]:
    return [secret[i:i + size] for i in range(len(secret) - size + 1)]


@pytest.mark.parametrize("template", [
    "{{ {}[token] }}",
    "{{ (token | int(base=token)) ~ nothing_here }}",  # int() does not fail (it gives 0); the name does
    "{{ token.missing_attr }}",
    "{{ token ~ undefined_name }}",
    "{{ (token | list)[999] + 1 }}",
    "{{ token[1:].encode(token[1:]) }}",  # LookupError: unknown encoding <the token minus one character>
    "{{ 'x' * (token[3:11] | int(base=36)) }}",  # a count computed from the token
    "{{ token[2:] | float }}{{ 1 / 0 }}",
    "{{ token.split(token[4:])[9] }}",
    "{{ {token[1:]: 1}[token[2:]] }}",
])
def test_an_error_never_carries_any_piece_of_the_token(template: str) -> None:
    """Every one of these templates fails; its message names the key, not a piece of the token."""
    with pytest.raises(TemplateError) as caught:
        render_templates({"k": template}, {**VALUES, "token": SECRET_TOKEN})
    message = str(caught.value)
    assert "secret.template['k']" in message
    leaked = [piece for piece in pieces(SECRET_TOKEN) if piece in message]
    assert leaked == [], message


def test_an_expression_error_says_its_kind_and_line() -> None:
    with pytest.raises(TemplateError) as caught:
        render_templates({"k": "ok\n{{ token[1:].encode(token[1:]) }}"}, VALUES)
    assert str(caught.value) == ("secret.template['k']: LookupError on line 2 (an expression failed on the values "
                                 "it was given)")


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("{{ token * 10**9 }}", "repeating a value"),
        ("{{ [token] * 10**7 }}", "repeating a value"),
        ("{{ '%0999999999d' % 1 }}", "%-formatting"),
        ("{{ token.center(10**9) }}", "center() is not available"),
        ("{{ '{:>999999999}'.format(1) }}", "format() is not available"),
        ("{{ token | center(10**9) }}", "No filter named 'center'"),
        ("{{ ('x' * 200000) | replace('', token) }}", "replace() would make"),
        ("{{ token | list | join('x' * 200000) }}", "join() would make"),
        ("{% for a in token %}{% for b in token %}x{% endfor %}{% endfor %}", "a loop inside a loop"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "macros are not available"),
        ("{% for c in token recursive %}{{ loop(c) }}{% endfor %}", "recursive loops"),
        ("{% for c in token %}{{ 'x' * 200000 }}{% endfor %}", "larger than"),
    ],
)
def test_work_and_memory_a_template_can_cost_are_bounded(template: str, why: str) -> None:
    """Templates are spec text from any namespace, rendered in the operator's event loop: each
    of these would allocate gigabytes or run for hours if it were rendered as written."""
    with pytest.raises(TemplateError, match=re.escape(why)):
        render_templates({"k": template}, VALUES)


def test_one_loop_and_bounded_filters_still_work() -> None:
    rendered = render_templates({"k": "{% for c in token %}{{ c }}{% endfor %}|{{ token | replace('-', '_') }}|"
                                      "{{ token | list | join(',') | truncate(9, True, '') }}"}, VALUES)
    assert rendered == {"k": "TOKEN-CANARY-123|TOKEN_CANARY_123|T,O,K,E,N"}


def test_an_error_quotes_only_what_the_template_contains() -> None:
    """``{}[token[1:]]`` fails with jinja2 quoting the missing key: most of the token."""
    with pytest.raises(TemplateError) as caught:
        render_templates({"k": "{{ {}[token[1:]] }}"}, VALUES)
    assert "OKEN-CANARY" not in str(caught.value) and "'<value>'" in str(caught.value)
    with pytest.raises(TemplateError, match="'tokn' is undefined"):
        render_templates({"k": "{{ tokn }}"}, VALUES)
