"""Parameter files as plain data: YAML mappings, ``base:`` chains, merged overrides.

This is everything about parameters that does not need the schema (:mod:`helpers.config`
validates the result): reading a YAML file that must hold a mapping (a key given twice is an error:
YAML would silently keep the last one), following ``base: other.yml`` to the files it builds on,
merging nested overrides, and accepting overrides the way users pass them (a mapping, or its
JSON/YAML text from ``--set`` or ``papermill -p``, with nested or dotted keys).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


class ParameterError(ValueError):
    """A parameter file asks for something that does not exist or cannot work."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a mapping that gives one key twice (naming both lines)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise ParameterError(
                    f"key {key!r} is given twice (lines {first_line[key]} and {line}); "
                    "keep one of them"
                )
            first_line[key] = line
        return super().construct_mapping(node, deep=deep)


def load_yaml_text(text: str) -> Any:
    """YAML (or JSON) text as data; a key given twice raises :class:`ParameterError`."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def describe_validation_error(err: dict[str, Any]) -> str:
    """One pydantic error as 'key = value: what is allowed', the form every parameter error takes."""
    loc = ".".join(str(p) for p in err["loc"] if not isinstance(p, int)) or "(top level)"
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        return (
            f"unknown key '{loc}' (value {value!r}); check the spelling against params/default.yml"
        )
    if kind == "literal_error":
        return f"{loc} = {value!r} is not allowed; allowed: {ctx.get('expected', '')}"
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        return f"{loc} = {value!r} is out of range: {msg.lower()}"
    if loc == "(top level)":
        return msg
    return f"{loc} = {value!r}: {msg}"


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``, recursing into nested dicts."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


OVERRIDES_EXAMPLE = '{"window": {"length": 20}}'


def parse_overrides(value: Any, source: str = "overrides") -> dict[str, Any]:
    """Nested overrides from a mapping or from its JSON/YAML text (as ``papermill -p`` passes it).

    ``None`` and an empty string mean no overrides. Anything that is not a mapping raises
    :class:`ParameterError` naming ``source`` and showing the expected form.
    """
    if value is None:
        return {}
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = load_yaml_text(value)
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0]
            raise ParameterError(
                f"{source} is not valid JSON or YAML ({first}); write it like {OVERRIDES_EXAMPLE}"
            ) from None
        except ParameterError as exc:
            raise ParameterError(f"{source}: {exc}") from None
    if not isinstance(value, Mapping):
        raise ParameterError(
            f"{source} must be a mapping of parameter keys to values, like "
            f"{OVERRIDES_EXAMPLE}; got {type(value).__name__} {value!r:.60}"
        )
    try:
        return nest_dotted_keys(copy.deepcopy(dict(value)))
    except ParameterError as exc:
        raise ParameterError(f"{source}: {exc}") from None


def nest_dotted_keys(
    values: Mapping[str, Any], error: type[Exception] = ParameterError
) -> dict[str, Any]:
    """``{"window.length": 6, "atlas": "x"}`` -> ``{"window": {"length": 6}, "atlas": "x"}``.

    Only the keys given are split, not the keys inside their values (``sweep.grid`` holds dotted
    keys as data). A key that is both set whole and through a dotted child (``window: 3`` and
    ``window.length``) is ambiguous and raises ``error``.
    """
    nested: dict[str, Any] = {}
    for key in sorted(values, key=lambda k: str(k).count(".")):
        parts = str(key).split(".")
        if any(not p for p in parts):
            raise error(f"parameter key {key!r} has an empty part; write keys like 'window.length'")
        value = values[key]
        node = nested
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise error(
                    f"{key!r} sets a field inside {'.'.join(parts[: depth + 1])!r}, which is "
                    "also given a whole value; keep only one of them"
                )
            node = child
        last = parts[-1]
        if last in node and isinstance(node[last], dict) and not isinstance(value, dict):
            raise error(
                f"{key!r} is given a whole value and also fields through dotted keys; keep one"
            )
        both_nested = isinstance(value, dict) and isinstance(node.get(last), dict)
        node[last] = deep_merge(node[last], value) if both_nested else value
    return nested


def read_yaml_mapping(
    path: Path,
    error: type[Exception] = ParameterError,
    expected: str = "a mapping of keys to values at the top level",
) -> dict[str, Any]:
    """A YAML file that must hold a mapping; anything else (an empty file too) raises ``error``."""
    try:
        raw = load_yaml_text(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({exc.__class__.__name__}: {exc})") from None
    except ParameterError as exc:
        raise error(f"{path}: {exc}") from None
    if raw is None:
        raise error(f"{path} is empty; it must hold {expected} (start from params/default.yml)")
    if not isinstance(raw, dict):
        raise error(f"{path}: expected {expected}")
    return raw


def read_yaml_with_base(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A parameter file merged onto the files its ``base:`` names (relative to itself), recursively."""
    if path.resolve() in _seen:
        raise ParameterError(f"{path}: 'base' files refer to each other in a loop")
    raw = read_yaml_mapping(path)
    base = raw.pop("base", None)
    if base is None:
        return raw
    base_path = (path.parent / base).resolve()
    if not base_path.is_file():
        raise ParameterError(f"{path}: base file {base!r} not found next to it ({base_path})")
    return deep_merge(read_yaml_with_base(base_path, _seen + (path.resolve(),)), raw)
