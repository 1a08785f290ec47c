"""Reading config files: YAML with a line map, and LiteLLM's `include:` of other files.

`include:` lists files relative to the including file (as LiteLLM's proxy reads them). An included
file's top-level lists (model_list...) extend the including file's, any other key replaces it. Every
message about an included part names that file and its line.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


class ConfigError(ValueError):
    """The config file cannot be used; the message names the file, line and problem."""

    def __init__(self, message: str, *, path: Path_ = ()) -> None:
        super().__init__(message)
        self.path = path


class Lines:
    """Where each key and item of a YAML document starts, so messages can name the line."""

    def __init__(self, node: yaml.Node | None = None) -> None:
        self.node = node

    def of(self, path: Path_) -> int | None:
        """The 1-based line of the deepest key or item along `path` that exists (None without a document)."""
        node = self.node
        if node is None:
            return None
        line = node.start_mark.line + 1
        for step in path:
            found = self._child(node, step)
            if found is None:
                break
            key, node = found
            line = (key or node).start_mark.line + 1
        return line

    @staticmethod
    def _child(node: yaml.Node, step: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
        if isinstance(node, yaml.MappingNode):
            return next(((key, value) for key, value in node.value if key.value == step), None)
        if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            return None, node.value[step]
        return None

    def at(self, path: Path_, message: str) -> str:
        line = self.of(path)
        return f"line {line}: {message}" if line else message


@dataclass(frozen=True, slots=True)
class Part:
    """Where a merged top-level key (or a run of a merged list's items) came from."""

    label: str  # the included file as written in `include:`; "" for the main file
    lines: Lines
    offset: int = 0  # index in the merged list minus index in this file's list


class MergedLines(Lines):
    """The line map of a config assembled from several files: each path is looked up in the file it came from."""

    def __init__(self, main: Lines) -> None:
        super().__init__(main.node)
        self.main = main
        self.keys: dict[str, Part] = {}  # top-level key -> the file that set it
        self.runs: dict[str, list[tuple[int, Part]]] = {}  # list key -> (first merged index, file) per run

    def part(self, path: Path_) -> tuple[Part, Path_]:
        """The file a path lies in, and the path within that file."""
        if not path or not isinstance(path[0], str):
            return Part("", self.main), path
        key = path[0]
        if len(path) > 1 and isinstance(path[1], int) and key in self.runs:
            part = [p for start, p in self.runs[key] if start <= path[1]][-1]
            return part, (key, path[1] - part.offset, *path[2:])
        return self.keys.get(key, Part("", self.main)), path

    def of(self, path: Path_) -> int | None:
        part, local = self.part(path)
        return part.lines.of(local)

    def at(self, path: Path_, message: str) -> str:
        part, local = self.part(path)
        text = part.lines.at(local, message)
        return f"{part.label}: {text}" if part.label else text

    def merge(self, data: dict[str, Any], child: dict[str, Any], part: Part) -> None:
        """Fold an included file's sections into `data`: lists extend, anything else replaces."""
        for key, value in child.items():
            if isinstance(value, list) and isinstance(data.get(key), list):
                self.runs.setdefault(key, [(0, self.keys.get(key, Part("", self.main)))])
                self.runs[key].append((len(data[key]), Part(part.label, part.lines, offset=len(data[key]))))
                data[key] = [*data[key], *value]
            else:
                data[key] = value
                self.keys[key] = part
                self.runs.pop(key, None)


def _yaml_error(path: str | Path, exc: yaml.YAMLError) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
    problem = getattr(exc, "problem", None) or str(exc)
    return ConfigError(f"{path}: {where}: {problem}")


def read_one(path: str | Path) -> tuple[dict[str, Any], Lines]:
    """Parse one file into data and its line map; a syntax error names the line."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text) or {}
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: line 1: the top level must be a mapping of sections")
    return data, Lines(node)


def _included_files(data: dict[str, Any], lines: Lines, path: Path) -> list[str]:
    listed = data.pop("include", None) or []
    if isinstance(listed, str):
        listed = [listed]
    if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
        raise ConfigError(f"{path}: {lines.at(('include',), 'include must list file paths')}")
    return listed


def read_document(path: str | Path) -> tuple[dict[str, Any], Lines]:
    """Parse the file and every file it includes (relative to the including file) into one config."""
    data, lines = read_one(path)
    return _with_includes(data, lines, Path(path), seen=(Path(path).resolve(),))


def _with_includes(data: dict[str, Any], lines: Lines, path: Path, *,
                   seen: tuple[Path, ...]) -> tuple[dict[str, Any], Lines]:
    names = _included_files(data, lines, path)
    if not names:
        return data, lines
    merged = MergedLines(lines)
    for name in names:
        child_path = path.parent / name
        if not child_path.is_file():
            where = lines.at(("include",), f"included file {name!r} not found (looked for {child_path})")
            raise ConfigError(f"{path}: {where}")
        if child_path.resolve() in seen:
            raise ConfigError(f"{path}: {lines.at(('include',), f'{name!r} is already being included (a cycle)')}")
        child, child_lines = read_one(child_path)
        child, child_lines = _with_includes(child, child_lines, child_path, seen=(*seen, child_path.resolve()))
        merged.merge(data, child, Part(name, child_lines))
    return data, merged
