"""Load a spec from YAML (or a dict), apply ``--set`` overrides, and explain every problem.

Each problem names its place in the file (dotted path and line:column) and how to fix it, so the
CLI can print them all at once and exit 2 without a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ._datafiles import read_empirical_files
from ._explain import explain, reference_problems
from ._flow import REFERENCE_ERRORS, FlowSpec
from ._overrides import apply_overrides, mark_overridden
from ._problems import Problem, SpecError, duplicate_keys, sorted_problems

__all__ = ["Problem", "SpecError", "apply_overrides", "load_spec", "parse_spec", "validate_dict"]


def load_spec(path: str | Path, overrides: Iterable[str] = ()) -> FlowSpec:
    """Read a YAML spec file, apply ``path=value`` overrides, validate it.

    Raises :class:`SpecError` (never a bare traceback-worthy error) for anything wrong.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(p), [Problem("", "no such file; check the path")]) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SpecError(
            str(p), [Problem("", f"cannot read the file ({reason}); check the path")]
        ) from None
    except UnicodeDecodeError:
        raise SpecError(
            str(p), [Problem("", "the file is not UTF-8 text; save the spec as UTF-8 YAML")]
        ) from None
    return parse_spec(text, source=str(p), base_dir=p.parent, overrides=overrides)


def parse_spec(
    text: str,
    source: str = "<spec>",
    base_dir: Path | None = None,
    overrides: Iterable[str] = (),
) -> FlowSpec:
    """Parse YAML text into a validated :class:`FlowSpec`.

    ``base_dir`` is where relative data files (empirical ``file:``) are looked up; ``overrides``
    are ``dotted.path=value`` strings applied before validation (see :func:`apply_overrides`).
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or exc
        msg = f"malformed YAML: {what}; check indentation, colons and quoting"
        raise SpecError(source, [Problem("", msg, line, col)]) from None
    if not isinstance(data, dict):
        msg = "the spec must be a YAML mapping (key: value lines), starting with 'name:'"
        raise SpecError(source, [Problem("", msg, 1, 1)])
    problems = duplicate_keys(node)
    overrides = list(overrides)
    for item in overrides:
        try:
            apply_overrides(data, [item])
        except ValueError as exc:
            problems.append(Problem("--set", str(exc)))
    problems += read_empirical_files(data, base_dir or Path.cwd(), node)
    try:
        spec = validate_dict(data, source, node)
    except SpecError as exc:
        # a data file that could not be read already explains the empty 'values'
        unread = {p.path[: -len(".file")] for p in problems if p.path.endswith(".file")}
        found = [p for p in exc.problems if p.path not in unread]
        problems += mark_overridden(found, overrides)
    if problems:
        raise SpecError(source, problems)
    return spec


def validate_dict(
    data: Mapping[str, Any], source: str = "<spec>", node: yaml.Node | None = None
) -> FlowSpec:
    """Validate a plain dict (e.g. built in Python) into a :class:`FlowSpec`.

    ``node`` (the composed YAML of the same data) lets problems carry line and column numbers.
    """
    try:
        return FlowSpec.model_validate(data)
    except ValidationError as exc:
        problems = explain(exc, data, node)
        if not any(str(e["msg"]).find(REFERENCE_ERRORS) >= 0 for e in exc.errors()):
            # pydantic skipped the cross-reference check because some field is invalid:
            # run it on the valid parts so that every problem is reported at once
            problems += reference_problems(data, node)
        raise SpecError(source, sorted_problems(problems)) from None
