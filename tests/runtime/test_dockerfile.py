"""The image settings the Helm chart relies on, read from the Dockerfile (no Docker engine here).

The chart runs the container with runAsNonRoot and a read-only root filesystem, points its
probes and Service at the ports ``tokensync run`` listens on by default, and passes only
arguments (``run ...``), so the Dockerfile must agree with it on each of these.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from tokensync.cli import _parser

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arguments for name, arguments in self.instructions if name == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"no {keyword} in the stage FROM {self.base}"
        return found[-1]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for arguments in self.all("ENV"):
            for pair in shlex.split(arguments):
                key, _, value = pair.partition("=")
                values[key] = value
        return values


@cache
def stages() -> list[Stage]:
    """The Dockerfile's build stages, with line continuations joined and ARGs in FROM resolved."""
    text = (ROOT / "Dockerfile").read_text()
    logical = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    build_args: dict[str, str] = {}
    result: list[Stage] = []
    for line in logical.splitlines():
        if not line.strip():
            continue
        keyword, _, arguments = line.strip().partition(" ")
        keyword, arguments = keyword.upper(), arguments.strip()
        if keyword == "ARG" and not result:
            name, _, default = arguments.partition("=")
            build_args[name] = default
        elif keyword == "FROM":
            words = re.sub(r"\$\{(\w+)\}", lambda m: build_args[m.group(1)], arguments).split()
            result.append(Stage(words[0], words[2] if len(words) == 3 and words[1].upper() == "AS" else None))
        else:
            assert result, f"{keyword} before FROM"
            result[-1].instructions.append((keyword, arguments))
    return result


def final() -> Stage:
    return stages()[-1]


def exec_form(arguments: str) -> list[str]:
    """ENTRYPOINT/CMD must be JSON arrays: the shell form would wrap them in /bin/sh -c, and
    SIGTERM would reach the shell instead of the operator (no graceful stop)."""
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(item, str) for item in value), arguments
    return value


def test_runs_as_the_numeric_non_root_user_the_chart_sets() -> None:
    user, _, group = final().last("USER").partition(":")
    assert user == "65532"  # numeric: runAsNonRoot cannot be checked against a user name
    assert group in ("", "65532")


def test_exposes_the_ports_tokensync_run_listens_on_by_default() -> None:
    run_defaults = _parser().parse_args(["run"])
    exposed = {int(port.split("/")[0]) for arguments in final().all("EXPOSE") for port in arguments.split()}
    assert exposed == {run_defaults.metrics_port, run_defaults.health_port} == {8080, 8081}


def test_starts_tokensync_run_and_lets_the_chart_pass_more_arguments() -> None:
    entrypoint = exec_form(final().last("ENTRYPOINT"))
    command = exec_form(final().last("CMD"))
    assert entrypoint == ["tokensync"]
    assert command == ["run"]
    # The chart replaces CMD with e.g. ["run", "--log-format", "json", "-A"]: it must parse.
    assert _parser().parse_args([*command, "--log-format", "json", "-A"]).command == "run"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["tokensync"] == "tokensync.cli:main"


def test_needs_no_writes_at_runtime() -> None:
    environment = final().env()
    assert environment["PYTHONDONTWRITEBYTECODE"] == "1"
    assert environment["PYTHONUNBUFFERED"] == "1"
    assert environment["PIP_NO_CACHE_DIR"] == "1"
    assert not final().all("VOLUME")  # the chart decides what is writable


def test_builds_on_python_311_slim_in_two_stages_and_ships_only_the_installed_package() -> None:
    build, runtime = stages()[0], final()
    assert len(stages()) == 2
    assert build.base == runtime.base == "python:3.11-slim"
    assert build.name is not None
    assert runtime.all("COPY") == [f"--from={build.name} /opt/tokensync /opt/tokensync"]
    assert not runtime.all("RUN")


def pip_install_targets(command: str) -> list[list[str]]:
    """The arguments of each ``pip install`` in a shell command line (``&&``-joined steps)."""
    found = []
    for step in re.split(r"&&|;|\|\|", command):
        words = shlex.split(step, comments=True)
        for index in range(len(words) - 1):
            if words[index].endswith("pip") and words[index + 1] == "install":
                found.append(words[index + 2:])
                break
    return found


def split_requirement(target: str) -> tuple[str, set[str]]:
    """``.[test,x]`` -> (".", {"test", "x"})."""
    match = re.fullmatch(r"([^\[]+)(?:\[([^]]*)\])?", target)
    assert match, target
    return match.group(1), {extra.strip() for extra in (match.group(2) or "").split(",") if extra.strip()}


def readme_install() -> list[str]:
    """The arguments of the pip install in the README's first command (the install a user runs)."""
    readme = (ROOT / "README.md").read_text()
    first_command = next(line for line in readme.split("```sh", 1)[1].splitlines() if line.strip())
    installs = pip_install_targets(first_command)
    assert len(installs) == 1, first_command
    return installs[0]


def test_installs_the_readmes_project_without_the_test_extra_and_not_editable() -> None:
    installs = [args for command in stages()[0].all("RUN") for args in pip_install_targets(command)]
    assert len(installs) == 1  # nothing else (no test tools) is installed into the image
    image_targets = [arg for arg in installs[0] if not arg.startswith("-")]
    readme_targets = [arg for arg in readme_install() if not arg.startswith("-")]
    assert len(image_targets) == len(readme_targets) == 1
    image_project, image_extras = split_requirement(image_targets[0])
    readme_project, readme_extras = split_requirement(readme_targets[0])
    # The same project: the directory holding pyproject.toml, copied there by the build stage.
    assert image_project == readme_project == "."
    assert any(arguments.split()[0] == "pyproject.toml" for arguments in stages()[0].all("COPY"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert readme_extras == {"test"} <= project["optional-dependencies"].keys()
    assert image_extras == set()  # pytest, mypy, the official SDKs, Helm's library: not in the image
    # Editable installs point at /src, which the final stage does not have.
    assert not {"-e", "--editable"} & set(installs[0])


def test_the_dockerfile_comment_quotes_the_readme_install_and_its_own() -> None:
    # The comment says "the README's install, without the test extra and not editable": both
    # commands it quotes must be the real ones (output flags such as -q aside).
    comments = " ".join(line.lstrip("#").strip() for line in (ROOT / "Dockerfile").read_text().splitlines()
                        if line.startswith("#"))
    quoted = [pip_install_targets(text)[0] for text in re.findall(r"`([^`]*pip install[^`]*)`", comments)]
    installs = [args for command in stages()[0].all("RUN") for args in pip_install_targets(command)]

    def meaningful(args: list[str]) -> list[str]:
        return [arg for arg in args if arg not in ("-q", "--quiet")]

    assert [meaningful(args) for args in quoted] == [meaningful(readme_install()), meaningful(installs[0])]


def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(excluding?, regex) per .dockerignore line, in Docker's syntax (``**``, ``*``, ``?``, ``!``)."""
    patterns = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        glob = line.lstrip("!").strip("/")
        regex = ""
        for token in re.split(r"(\*\*/|\*\*|\*|\?|\[[^]]*\])", glob):
            if token.startswith("[") and token.endswith("]"):
                regex += "[" + token[1:-1].replace("!", "^", 1 if token.startswith("[!") else 0) + "]"
            else:
                regex += {"**/": "(.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
        patterns.append((not negated, re.compile(regex)))
    return patterns


def in_build_context(relative: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent directories wins."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    included = True
    for excluding, pattern in dockerignore_patterns():
        if any(pattern.fullmatch(prefix) for prefix in prefixes):
            included = not excluding
    return included


def test_the_build_context_holds_the_whole_package_and_nothing_else() -> None:
    package = ROOT / "operator" / "tokensync"
    package_files = [
        path.relative_to(ROOT).as_posix()
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".typed", ".yaml", ".json")
    ]
    assert "operator/tokensync/cli.py" in package_files
    missing = [path for path in ["pyproject.toml", "README.md", *package_files] if not in_build_context(path)]
    assert not missing
    for left_out in ("tests/runtime/test_dockerfile.py", "docs/kubernetes-emulator.md", ".git/HEAD",
                     "operator/tokensync/__pycache__/cli.cpython-311.pyc", ".venv/bin/python",
                     "operator/tokensync/stray.pyc", "deploy/helm/tokensync/Chart.yaml", "Dockerfile"):
        assert not in_build_context(left_out), left_out


def test_every_copied_source_is_in_the_build_context() -> None:
    for arguments in stages()[0].all("COPY"):
        *sources, _destination = arguments.split()
        for source in sources:
            assert (ROOT / source).exists(), source
            assert in_build_context(source.rstrip("/")), source
