"""What the tree-sitter extractors share: parsing, the scope stack and the records they emit.

A `Walker` subclass visits one parsed file; `visit` dispatches on node type to a method
`on_<node type>` (nodes without one are walked through their named children), `define` records a symbol qualified by
the innermost scope, `scoped` walks nodes inside a new scope, `call` records a call site. Positions
follow the Python extractor: lines 1-based, columns 0-based in UTF-8 bytes (tree-sitter's points).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tree_sitter import Language, Node, Parser

from envoy_grpc.code.model import Call, FileExtract, Import, Symbol

TYPE_KINDS = frozenset({"Class", "Struct", "Trait", "Impl", "Interface"})
FUNCTION_KINDS = frozenset({"Function", "Method"})


@functools.cache
def grammar(name: str) -> Language:
    """The tree-sitter grammar `javascript`, `typescript`, `tsx`, `go` or `rust`, loaded once."""
    if name == "javascript":
        import tree_sitter_javascript

        return Language(tree_sitter_javascript.language())
    if name in ("typescript", "tsx"):
        import tree_sitter_typescript

        ts = tree_sitter_typescript
        return Language(ts.language_typescript() if name == "typescript" else ts.language_tsx())
    if name == "go":
        import tree_sitter_go

        return Language(tree_sitter_go.language())
    if name == "rust":
        import tree_sitter_rust

        return Language(tree_sitter_rust.language())
    raise ValueError(f"no tree-sitter grammar {name!r}")


def count_lines(source: str) -> int:
    return source.count("\n") + (0 if source.endswith("\n") or not source else 1)


def parse(language: Language, source: str) -> Node:
    """The root node of `source`; tree-sitter recovers from syntax errors, so this never raises."""
    return Parser(language).parse(source.encode()).root_node


def text(node: Node | None) -> str:
    return "" if node is None or node.text is None else node.text.decode()


@dataclass(frozen=True, slots=True)
class Scope:
    qualified_name: str
    kind: str  # Module, Class/Struct/Trait/Impl/Interface, Function, Method
    receiver: str | None = None  # Go: the method receiver's variable name


class Walker:
    language = ""

    def __init__(self, source: str, path: str, module: str) -> None:
        lines = count_lines(source)
        self.out = FileExtract(path=path, module=module, language=self.language, lines=lines)
        self.out.symbols.append(Symbol(module, module.rpartition(".")[2], "Module", 1, 0, max(lines, 1), 0))
        self.scopes = [Scope(module, "Module")]
        self.bindings: dict[str, tuple[str, ...]] = {}  # local name → qualified names it may stand for

    def run(self, root: Node) -> FileExtract:
        self.children(root)
        return self.out

    def visit(self, node: Node) -> None:
        handler: Callable[[Node], None] | None = getattr(self, "on_" + node.type, None)
        if handler is None:
            self.children(node)
        else:
            handler(node)

    def children(self, node: Node) -> None:
        for child in node.named_children:
            self.visit(child)

    def define(self, name: str, kind: str, node: Node, parent: str | None = None) -> str:
        qualified = f"{parent or self.scopes[-1].qualified_name}.{name}"
        start, end = node.start_point, node.end_point
        self.out.symbols.append(
            Symbol(qualified, name, kind, start.row + 1, start.column, end.row + 1, end.column)
        )
        return qualified

    def scoped(self, scope: Scope, nodes: Iterable[Node | None]) -> None:
        self.scopes.append(scope)
        for node in nodes:
            if node is not None:
                self.visit(node)
        self.scopes.pop()

    def module(self) -> str:
        """The innermost enclosing module: the file's, or an inline one (`mod m {}`, `namespace N {}`)."""
        return next(s.qualified_name for s in reversed(self.scopes) if s.kind == "Module")

    def owner(self) -> str | None:
        """The qualified name of the innermost enclosing type (class, impl, trait), if any."""
        return next((s.qualified_name for s in reversed(self.scopes) if s.kind in TYPE_KINDS), None)

    def call(self, callee: str, node: Node, candidates: Iterable[str]) -> None:
        start = node.start_point
        self.out.calls.append(
            Call(
                self.scopes[-1].qualified_name,
                callee,
                start.row + 1,
                start.column,
                tuple(dict.fromkeys(candidates)),
            )
        )

    def nested(self, dotted: str) -> list[str]:
        """`dotted` as a definition nested in each enclosing function, innermost first."""
        return [f"{s.qualified_name}.{dotted}" for s in reversed(self.scopes) if s.kind in FUNCTION_KINDS]

    def bound(self, head: str, rest: str) -> list[str]:
        return [f"{target}.{rest}" if rest else target for target in self.bindings.get(head, ())]

    def add_import(self, module: str, name: str | None, alias: str | None, node: Node) -> None:
        start = node.start_point
        self.out.imports.append(Import(module, name, alias, start.row + 1, start.column))
