"""Python symbols, calls and imports from source, with the standard `ast` module.

    extract_python(source, "pkg/mod.py", "pkg.mod") -> FileExtract

Symbols are the module itself, classes, functions (nested ones too, qualified through their
parents: `pkg.mod.outer.inner`), methods and module-level constants (UPPER_CASE names assigned at
module level). Calls are recorded for callees written as a name or a dotted chain (`helper()`,
`self.run()`, `os.path.join()`); each carries the qualified names it may resolve to, so the index
can link it to a definition elsewhere in the project:

- `self.x()` / `cls.x()` inside a class → `Class.x`;
- a plain or dotted name → the enclosing functions' nested definitions, then an imported binding
  (`from pkg.other import f` makes `f()` → `pkg.other.f`, `import pkg.other as o` makes `o.f()` →
  `pkg.other.f`), then a module-level definition.

Relative imports are made absolute from the module name (`from . import x` in `pkg.mod` is
`pkg` / `x`). Dynamic dispatch, inheritance and aliasing by assignment are not followed.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from envoy_grpc.code.model import Call, FileExtract, Import, Symbol

_CONSTANT = re.compile(r"^_*[A-Z][A-Z0-9_]*$")
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def module_name(rel_path: str) -> str:
    """The module a path names relative to its import root: `pkg/sub/mod.py` → `pkg.sub.mod`."""
    parts = list(Path(rel_path).with_suffix("").parts)
    if parts and parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def package_module_name(file: Path) -> str:
    """The module name of `file` from the outermost enclosing package (directories with `__init__.py`).

    `envoy_grpc/core/topics.py` is `envoy_grpc.core.topics` wherever the walk started; a file outside
    any package is its own stem.
    """
    top = file.parent
    while (top / "__init__.py").is_file() and top.parent != top:
        top = top.parent
    return module_name(file.relative_to(top).as_posix())


def extract_python(source: str, path: str, module: str) -> FileExtract:
    """Symbols, calls and imports of one Python file; raises SyntaxError for invalid source."""
    tree = ast.parse(source, filename=path)
    lines = source.count("\n") + (0 if source.endswith("\n") or not source else 1)
    out = FileExtract(path=path, module=module, language="python", lines=lines)
    out.symbols.append(Symbol(module, module.rpartition(".")[2], "Module", 1, 0, max(lines, 1), 0))
    _Visitor(out, is_package=Path(path).name == "__init__.py").run(tree)
    return out


@dataclass(frozen=True, slots=True)
class _Scope:
    qualified_name: str
    kind: str  # Module, Class, Function, Method


def _dotted(node: ast.expr) -> str | None:
    """`a.b.c` for a Name/Attribute chain, None for anything else (calls, subscripts, ...)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


class _Visitor:
    def __init__(self, out: FileExtract, *, is_package: bool) -> None:
        self.out = out
        self.package = out.module if is_package else out.module.rpartition(".")[0]
        self.scopes = [_Scope(out.module, "Module")]
        self.bindings: dict[str, str] = {}  # local name → qualified name it was imported as

    def run(self, tree: ast.Module) -> None:
        # Imports first, so calls above a (late) import still resolve through it.
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                self._import(node)
        self._children(tree)

    def _children(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            self._visit(child)

    def _visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.ClassDef):
            self._define_scope(
                node, "Class", node.decorator_list + node.bases + [k.value for k in node.keywords]
            )
        elif isinstance(node, _FUNCTIONS):
            kind = "Method" if self.scopes[-1].kind == "Class" else "Function"
            outer: list[ast.expr] = [*node.decorator_list, *node.args.defaults]
            outer += [d for d in node.args.kw_defaults if d is not None]
            self._define_scope(node, kind, outer)
        elif isinstance(node, ast.Call):
            self._call(node)
            self._children(node)
        else:
            if len(self.scopes) == 1 and isinstance(node, ast.Assign | ast.AnnAssign):
                self._constants(node)
            self._children(node)

    def _define_scope(
        self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef, kind: str, outer: list[ast.expr]
    ) -> None:
        for expr in outer:  # decorators, bases and defaults run in the enclosing scope
            self._visit(expr)
        qualified = f"{self.scopes[-1].qualified_name}.{node.name}"
        self._symbol(qualified, node.name, kind, node)
        self.scopes.append(_Scope(qualified, kind))
        for statement in node.body:
            self._visit(statement)
        self.scopes.pop()

    def _symbol(self, qualified: str, name: str, kind: str, node: ast.stmt | ast.expr) -> None:
        end_line = node.end_lineno if node.end_lineno is not None else node.lineno
        end_col = node.end_col_offset if node.end_col_offset is not None else node.col_offset
        self.out.symbols.append(
            Symbol(qualified, name, kind, node.lineno, node.col_offset, end_line, end_col)
        )

    def _constants(self, node: ast.Assign | ast.AnnAssign) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Name) and _CONSTANT.match(target.id):
                self._symbol(f"{self.out.module}.{target.id}", target.id, "Constant", target)

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                self.out.imports.append(Import(alias.name, None, alias.asname, node.lineno, node.col_offset))
                if alias.asname:
                    self.bindings[alias.asname] = alias.name
                else:
                    head = alias.name.partition(".")[0]
                    self.bindings[head] = head
            return
        base = node.module or ""
        if node.level:
            parts = self.package.split(".") if self.package else []
            parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
            base = ".".join([*parts, *([node.module] if node.module else [])])
        for alias in node.names:
            self.out.imports.append(Import(base, alias.name, alias.asname, node.lineno, node.col_offset))
            if alias.name != "*":
                self.bindings[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name

    def _call(self, node: ast.Call) -> None:
        callee = _dotted(node.func)
        if callee is None:
            return
        caller = self.scopes[-1].qualified_name
        self.out.calls.append(Call(caller, callee, node.lineno, node.col_offset, self._candidates(callee)))

    def _candidates(self, callee: str) -> tuple[str, ...]:
        head, _, rest = callee.partition(".")
        found: list[str] = []
        if head in ("self", "cls"):
            classes = [s for s in self.scopes if s.kind == "Class"]
            if classes and rest:
                found.append(f"{classes[-1].qualified_name}.{rest}")
            return tuple(found)
        for scope in reversed(self.scopes):
            if scope.kind in ("Function", "Method"):
                found.append(f"{scope.qualified_name}.{callee}")
        if head in self.bindings:
            target = self.bindings[head]
            found.append(f"{target}.{rest}" if rest else target)
        found.append(f"{self.out.module}.{callee}")
        return tuple(dict.fromkeys(found))
