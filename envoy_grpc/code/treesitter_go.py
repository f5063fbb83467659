"""Go symbols, calls and imports, with tree-sitter.

A Go package is a directory, so a file's module is its package's directory, dotted, under the
project root's own name: `shop/util/util.go` in a root named `shop` is `shop.util` (a file at the
root is `shop`). Every file of a package carries a Module symbol of that name. Symbols: functions
(`pkg.F`), methods qualified through their receiver's type (`pkg.Type.Method`, pointer and type
parameters stripped), types (Struct, Interface, else Type) and package-level constants.

Calls: `f()` → `pkg.f`; `recv.M()` inside a method whose receiver is `recv` → `pkg.Type.M`;
`alias.F()` through an import → `suffix.F` for every suffix of the import path, longest first
(`example.com/shop/util` → `example.com.shop.util.F`, `shop.util.F`, `util.F`), so a call links when
the project root is the Go module root or any directory above it. Imports are (path as written,
None, alias or None); a package is bound to its alias or its path's last element (a `/vN` major
version suffix skipped).
"""

from __future__ import annotations

import re

from tree_sitter import Node

from envoy_grpc.code.model import FileExtract
from envoy_grpc.code.treesitter_base import Scope, Walker, grammar, parse, text

_MAJOR_VERSION = re.compile(r"^v[0-9]+$")
_TYPE_KINDS = {"struct_type": "Struct", "interface_type": "Interface"}


def _receiver_type(node: Node | None) -> str | None:
    while node is not None and node.type in ("pointer_type", "generic_type", "parenthesized_type"):
        inner = node.child_by_field_name("type")
        node = inner if inner is not None else (node.named_children[0] if node.named_children else None)
    return text(node) if node is not None and node.type == "type_identifier" else None


class _GoWalker(Walker):
    language = "go"

    def on_function_declaration(self, node: Node) -> None:
        name = node.child_by_field_name("name")
        if name is None:
            return
        qualified = self.define(text(name), "Function", node)
        self.scoped(Scope(qualified, "Function"), [node.child_by_field_name("body")])

    def on_method_declaration(self, node: Node) -> None:
        name, receiver = node.child_by_field_name("name"), node.child_by_field_name("receiver")
        param = receiver.named_children[0] if receiver is not None and receiver.named_children else None
        type_name = _receiver_type(param.child_by_field_name("type")) if param is not None else None
        if name is None or type_name is None or param is None:
            return
        owner = f"{self.out.module}.{type_name}"
        qualified = self.define(text(name), "Method", node, parent=owner)
        recv = param.child_by_field_name("name")
        scope = Scope(qualified, "Method", text(recv) if recv is not None else None)
        self.scoped(scope, [node.child_by_field_name("body")])

    def on_type_spec(self, node: Node) -> None:
        name, kind = node.child_by_field_name("name"), node.child_by_field_name("type")
        if name is not None and len(self.scopes) == 1:
            self.define(text(name), _TYPE_KINDS.get(kind.type if kind else "", "Type"), node)

    on_type_alias = on_type_spec

    def on_const_spec(self, node: Node) -> None:
        if len(self.scopes) == 1:
            for name in node.children_by_field_name("name"):
                self.define(text(name), "Constant", name)
        self.children(node)

    def on_import_spec(self, node: Node) -> None:
        path_node = node.child_by_field_name("path")
        alias_node = node.child_by_field_name("name")
        path = text(path_node)[1:-1]
        alias = text(alias_node) if alias_node is not None else None
        self.add_import(path, None, alias, node)
        if alias in ("_", "."):
            return
        parts = [p for p in path.split("/") if p]
        if not parts:
            return
        local = alias or (parts[-2] if len(parts) > 1 and _MAJOR_VERSION.match(parts[-1]) else parts[-1])
        self.bindings[local] = tuple(".".join(parts[i:]) for i in range(len(parts)))

    def on_call_expression(self, node: Node) -> None:
        callee = _dotted(node.child_by_field_name("function"))
        if callee is not None:
            head, _, rest = callee.partition(".")
            receiver = next((s for s in reversed(self.scopes) if s.receiver is not None), None)
            if receiver is not None and head == receiver.receiver and rest:
                candidates = [f"{receiver.qualified_name.rpartition('.')[0]}.{rest}"]
            else:
                candidates = [*self.bound(head, rest), f"{self.out.module}.{callee}"]
            self.call(callee, node, candidates)
        self.children(node)


def _dotted(node: Node | None) -> str | None:
    parts: list[str] = []
    while node is not None and node.type == "selector_expression":
        parts.append(text(node.child_by_field_name("field")))
        node = node.child_by_field_name("operand")
    if node is None or node.type != "identifier":
        return None
    parts.append(text(node))
    return ".".join(reversed(parts))


def extract_go(source: str, path: str, module: str) -> FileExtract:
    return _GoWalker(source, path, module).run(parse(grammar("go"), source))
