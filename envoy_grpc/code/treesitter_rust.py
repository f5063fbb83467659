"""Rust symbols, calls and imports, with tree-sitter.

Qualified names are dotted like every other language here (`crate::shop::Cart::add` is stored as
`crate.shop.Cart.add`), so the last dotted part is always the symbol's name. A file's module is its
path under the nearest `src` directory, rooted at `crate` when that `src` is at the project root,
else at the crate directory's name (`-` → `_`, as Rust spells it in paths): `src/lib.rs` and
`src/main.rs` are `crate`, `src/shop/mod.rs` is `crate.shop`, `src/shop/cart.rs` is
`crate.shop.cart`, `crates/my-util/src/lib.rs` is `my_util`. Files outside any `src` (tests,
examples, build.rs) are their dotted path, each its own crate root.

Symbols: functions (nested ones qualified through their parents), methods of `impl` blocks and
traits qualified through the implementing type (`impl Trait for Type` methods are `Type.method`),
structs/unions (Struct), enums, traits, type aliases (Type), consts and statics (Constant), inline
`mod m {}` (Module). Calls whose callee is a path or a field chain (`f()`, `util::double()`,
`Cart::new()`, `self.add()`, `Self::make()`), with candidates: `self.x`/`Self::x` → the impl's
type; `crate::`, `self::`, `super::` made absolute; a `use` binding; the enclosing functions'
nested definitions; the current module. Macro invocations are not calls. `use a::b::{c, d as e}`
gives (a.b, c, None) and (a.b, d, e), `use a::b::*` gives (a.b, *, None), absolute as above.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

from tree_sitter import Node

from envoy_grpc.code.model import FileExtract
from envoy_grpc.code.treesitter_base import Scope, Walker, grammar, parse, text

_ITEMS = {
    "struct_item": "Struct",
    "union_item": "Struct",
    "enum_item": "Enum",
    "type_item": "Type",
    "const_item": "Constant",
    "static_item": "Constant",
}


def rust_crate_and_module(rel_path: str) -> tuple[str, str]:
    """(crate root, module) of a file: `src/shop/cart.rs` → (`crate`, `crate.shop.cart`)."""
    parts = list(PurePosixPath(rel_path).with_suffix("").parts)
    if "src" in parts[:-1]:
        at = len(parts) - 1 - parts[:-1][::-1].index("src") - 1
        crate = "crate" if at == 0 else parts[at - 1].replace("-", "_")
        rest = parts[at + 1 :]
        if rest and rest[-1] in ("lib", "main", "mod"):
            rest.pop()
        return crate, ".".join([crate, *rest])
    if len(parts) > 1 and parts[-1] == "mod":
        parts.pop()
    module = ".".join(parts)
    return module, module


def rust_module_name(rel_path: str) -> str:
    return rust_crate_and_module(rel_path)[1]


def _type_name(node: Node | None) -> str | None:
    """`Cart` for `Cart`, `Cart<T>`, `&Cart`, `a::Cart`."""
    while node is not None and node.type in ("generic_type", "reference_type", "scoped_type_identifier"):
        if node.type == "scoped_type_identifier":
            node = node.child_by_field_name("name")
        else:
            node = node.child_by_field_name("type")
    return text(node) if node is not None and node.type in ("type_identifier", "primitive_type") else None


def _path(node: Node | None) -> list[str] | None:
    """The segments of a path or field chain: `a::b::c` → [a, b, c]; `self.x.y` → [self, x, y]."""
    if node is None:
        return None
    if node.type in ("identifier", "self", "crate", "super", "type_identifier", "metavariable"):
        return [text(node)]
    if node.type == "generic_type":
        return _path(node.child_by_field_name("type"))
    if node.type == "generic_function":
        return _path(node.child_by_field_name("function"))
    if node.type in ("scoped_identifier", "scoped_type_identifier"):
        name = node.child_by_field_name("name")
        prefix = _path(node.child_by_field_name("path")) if node.child_by_field_name("path") else []
        return None if prefix is None or name is None else [*prefix, text(name)]
    if node.type == "field_expression":
        prefix = _path(node.child_by_field_name("value"))
        field = node.child_by_field_name("field")
        return None if prefix is None or field is None else [*prefix, text(field)]
    return None


class _RustWalker(Walker):
    language = "rust"

    def __init__(self, source: str, path: str, module: str) -> None:
        super().__init__(source, path, module)
        self.crate = rust_crate_and_module(path)[0]

    def absolute(self, segments: list[str]) -> list[str] | None:
        """`crate::`, `self::` and `super::` paths made absolute; None for any other path."""
        head = segments[0]
        if head == "crate":
            return [*self.crate.split("."), *segments[1:]]
        if head == "self":
            return [*self.module().split("."), *segments[1:]]
        if head == "super":
            base = self.module().split(".")
            while segments and segments[0] == "super":
                base, segments = base[:-1], segments[1:]
            return [*base, *segments]
        return None

    # Definitions.

    def on_function_item(self, node: Node) -> None:
        name = node.child_by_field_name("name")
        if name is None:
            return
        kind = "Method" if self.scopes[-1].kind in ("Impl", "Trait") else "Function"
        qualified = self.define(text(name), kind, node)
        self.scoped(Scope(qualified, kind), [node.child_by_field_name("body")])

    def on_function_signature_item(self, node: Node) -> None:
        name = node.child_by_field_name("name")
        if name is not None and self.scopes[-1].kind == "Trait":
            self.define(text(name), "Method", node)

    def on_impl_item(self, node: Node) -> None:
        type_name = _type_name(node.child_by_field_name("type"))
        body = node.child_by_field_name("body")
        if type_name is None or body is None:
            return
        parent = self.scopes[-1].qualified_name
        self.scoped(Scope(f"{parent}.{type_name}", "Impl"), [body])

    def on_trait_item(self, node: Node) -> None:
        name = node.child_by_field_name("name")
        if name is not None:
            qualified = self.define(text(name), "Trait", node)
            self.scoped(Scope(qualified, "Trait"), [node.child_by_field_name("body")])

    def on_mod_item(self, node: Node) -> None:
        name, body = node.child_by_field_name("name"), node.child_by_field_name("body")
        if name is not None and body is not None:  # `mod m;` is the file m.rs, with its own symbol
            qualified = self.define(text(name), "Module", node)
            self.scoped(Scope(qualified, "Module"), [body])

    def item(self, node: Node) -> None:
        name = node.child_by_field_name("name")
        if name is not None and self.scopes[-1].kind not in ("Function", "Method"):
            self.define(text(name), _ITEMS[node.type], node)
        value = node.child_by_field_name("value")
        if value is not None:
            self.visit(value)

    on_struct_item = on_union_item = on_enum_item = on_type_item = item
    on_const_item = on_static_item = item

    # Imports.

    def on_use_declaration(self, node: Node) -> None:
        argument = node.child_by_field_name("argument")
        for segments, alias, wildcard in _uses(argument, []):
            if not segments:
                continue
            absolute = self.absolute(segments)
            full = absolute if absolute is not None else segments
            if wildcard:
                self.add_import(".".join(full), "*", None, node)
                continue
            module, name = ".".join(full[:-1]), full[-1]
            self.add_import(module or name, name if module else None, alias, node)
            targets = [".".join(full)]
            if absolute is None:  # `use shop::x` may name a local module (2018 uniform paths)
                targets.append(".".join([self.module(), *segments]))
            self.bindings[alias or segments[-1]] = tuple(targets)

    # Calls.

    def on_call_expression(self, node: Node) -> None:
        function = node.child_by_field_name("function")
        segments = _path(function)
        if function is not None and segments:
            self.record(segments, "." if function.type == "field_expression" else "::", node)
        self.children(node)

    def record(self, segments: list[str], separator: str, node: Node) -> None:
        callee = separator.join(segments)
        head, rest = segments[0], ".".join(segments[1:])
        owner = self.owner()
        if head in ("self", "Self") and (separator == "." or head == "Self"):
            self.call(callee, node, [f"{owner}.{rest}"] if owner and rest else [])
            return
        absolute = self.absolute(segments) if separator == "::" else None
        if absolute is not None:
            self.call(callee, node, [".".join(absolute)])
            return
        dotted = ".".join(segments)
        candidates = [*self.nested(dotted), *self.bound(head, rest), f"{self.module()}.{dotted}"]
        self.call(callee, node, candidates)


def _uses(node: Node | None, prefix: list[str]) -> Iterator[tuple[list[str], str | None, bool]]:
    """(segments, alias, wildcard) for each name a `use` tree brings in."""
    if node is None:
        return
    if node.type == "use_as_clause":
        segments = _path(node.child_by_field_name("path"))
        alias = node.child_by_field_name("alias")
        if segments is not None:
            segments = [] if segments == ["self"] and prefix else segments  # `{self as x}`
            yield [*prefix, *segments], text(alias) if alias is not None else None, False
    elif node.type == "scoped_use_list":
        path = node.child_by_field_name("path")
        base = _path(path) if path is not None else []
        if base is not None:
            yield from _uses(node.child_by_field_name("list"), [*prefix, *base])
    elif node.type == "use_list":
        for child in node.named_children:
            yield from _uses(child, prefix)
    elif node.type == "use_wildcard":
        inner = _path(node.named_children[0]) if node.named_children else []
        if inner is not None:
            yield [*prefix, *inner], None, True
    elif node.type == "self" and prefix:
        yield prefix, None, False
    else:
        segments = _path(node)
        if segments is not None:
            yield [*prefix, *segments], None, False


def extract_rust(source: str, path: str, module: str) -> FileExtract:
    return _RustWalker(source, path, module).run(parse(grammar("rust"), source))
