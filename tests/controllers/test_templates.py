"""Secret templates: what a user can write, and what the sandbox refuses."""

from __future__ import annotations

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


def test_an_error_never_carries_the_token_value() -> None:
    for template in ["{{ {}[token] }}", "{{ token | int(base=token) }}", "{{ token.missing_attr }}",
                     "{{ token ~ undefined_name }}", "{{ (token | list)[999] + 1 }}"]:
        try:
            render_templates({"k": template}, VALUES)
        except TemplateError as exc:
            assert "TOKEN-CANARY-123" not in str(exc)
