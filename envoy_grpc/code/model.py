"""What an extractor returns for one source file, whatever the language."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Symbol:
    """A definition: module, class, function, method or constant. Lines are 1-based, columns 0-based."""

    qualified_name: str  # pkg.module.Class.method
    name: str
    kind: str  # Module, Class, Function, Method, Constant
    start_line: int
    start_col: int
    end_line: int
    end_col: int


@dataclass(frozen=True, slots=True)
class Call:
    """A call site: `caller` is the qualified name of the innermost enclosing symbol.

    `candidates` are the qualified names `callee` may refer to, most likely first; the index links
    the call to the first one defined anywhere in the project.
    """

    caller: str
    callee: str  # as written: helper, self.run, os.path.join
    line: int
    col: int
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Import:
    """`import module [as alias]` (name None) or `from module import name [as alias]`, made absolute."""

    module: str
    name: str | None
    alias: str | None
    line: int
    col: int


@dataclass(slots=True)
class FileExtract:
    """Everything found in one file; `module` is its qualified module name."""

    path: str  # relative to the project root, with `/`
    module: str
    language: str
    lines: int
    symbols: list[Symbol] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
