"""JavaScript and TypeScript (with JSX/TSX) symbols, calls and imports, with tree-sitter.

Symbols: function declarations (generators too) and functions assigned to a `const`/`let`/`var`
(`const f = () => ...`) are Functions, nested ones qualified through their parents; classes are
Classes; class methods and class fields holding a function are Methods; TypeScript interfaces,
enums and type aliases are Interface, Enum and Type; `namespace N {}` is a Module; module-level
`const` UPPER_CASE names holding anything else are Constants.

Calls are recorded for callees written as a name or a member chain (`f()`, `this.add()`,
`util.double()`, `new Cart()`), with candidates as in the Python extractor: `this.x` → the enclosing
class's `x`; otherwise the enclosing functions' nested definitions, then an imported binding, then
a module-level definition. Imports: `import {a as b} from "./m"` → (module of ./m, a, b);
`import * as m` and `const m = require("./m")` → (module, None, m); a default import `import D` →
(module, "default", D), bound to `module.D` (a default export usually has the local name).
Relative specifiers are resolved against the file (`./util` in `src/cart.ts` is `src.util`, an
`index` file is its directory); bare ones (`react`, `@scope/pkg`) are kept as written.
"""

from __future__ import annotations

import posixpath
import re

from tree_sitter import Node

from envoy_grpc.code.model import FileExtract
from envoy_grpc.code.treesitter_base import Scope, Walker, grammar, parse, text

_CONSTANT = re.compile(r"^_*[A-Z][A-Z0-9_]*$")
_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function", "generator_function"})
EXTENSIONS = (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts")


def js_module_name(rel_path: str) -> str:
    """`src/shop/cart.ts` → `src.shop.cart`; `src/shop/index.js` → `src.shop`."""
    stem = rel_path
    for ext in EXTENSIONS:
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
            break
    parts = [p for p in stem.split("/") if p]
    if len(parts) > 1 and parts[-1] == "index":
        parts.pop()
    return ".".join(parts)


def _string(node: Node | None) -> str | None:
    if node is None or node.type not in ("string", "template_string"):
        return None
    return text(node)[1:-1]


class _JsWalker(Walker):
    def __init__(self, source: str, path: str, module: str, language: str) -> None:
        self.language = language
        super().__init__(source, path, module)

    def resolve(self, spec: str) -> str:
        if not spec.startswith("."):
            return spec
        return js_module_name(posixpath.normpath(posixpath.join(posixpath.dirname(self.out.path), spec)))

    # Definitions.

    def function(self, node: Node, name_node: Node | None, kind: str = "Function") -> None:
        if name_node is None:
            self.children(node)
            return
        qualified = self.define(text(name_node), kind, node)
        self.scoped(Scope(qualified, kind), node.named_children)

    def on_function_declaration(self, node: Node) -> None:
        self.function(node, node.child_by_field_name("name"))

    on_generator_function_declaration = on_function_declaration

    def on_method_definition(self, node: Node) -> None:
        kind = "Method" if self.scopes[-1].kind == "Class" else "Function"
        self.function(node, node.child_by_field_name("name"), kind)

    def on_public_field_definition(self, node: Node) -> None:
        value = node.child_by_field_name("value")
        name = node.child_by_field_name("name") or node.child_by_field_name("property")
        if value is not None and value.type in _FUNCTION_VALUES and name is not None:
            qualified = self.define(text(name), "Method", node)
            self.scoped(Scope(qualified, "Method"), [value])
        else:
            self.children(node)

    on_field_definition = on_public_field_definition

    def on_class_declaration(self, node: Node) -> None:
        name, body = node.child_by_field_name("name"), node.child_by_field_name("body")
        if name is None or body is None:
            self.children(node)
            return
        for child in node.named_children:  # heritage and decorators run in the enclosing scope
            if child != body:
                self.visit(child)
        qualified = self.define(text(name), "Class", node)
        self.scoped(Scope(qualified, "Class"), [body])

    on_abstract_class_declaration = on_class_declaration
    on_class = on_class_declaration

    def declaration(self, node: Node, kind: str) -> None:
        name = node.child_by_field_name("name")
        if name is not None:
            self.define(text(name), kind, node)

    def on_interface_declaration(self, node: Node) -> None:
        self.declaration(node, "Interface")

    def on_enum_declaration(self, node: Node) -> None:
        self.declaration(node, "Enum")

    def on_type_alias_declaration(self, node: Node) -> None:
        self.declaration(node, "Type")

    def on_internal_module(self, node: Node) -> None:
        name = node.child_by_field_name("name")
        if name is None or name.type not in ("identifier", "nested_identifier"):
            self.children(node)
            return
        qualified = self.define(text(name), "Module", node)
        self.scoped(Scope(qualified, "Module"), [node.child_by_field_name("body")])

    def on_variable_declarator(self, node: Node) -> None:
        name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
        if value is not None and self.require(name, value):
            pass
        elif name is not None and name.type == "identifier" and value is not None:
            if value.type in _FUNCTION_VALUES:
                qualified = self.define(text(name), "Function", node)
                self.scoped(Scope(qualified, "Function"), [value])
                return
            declaration = node.parent
            if (
                len(self.scopes) == 1
                and declaration is not None
                and declaration.type == "lexical_declaration"
                and text(declaration.child(0)) == "const"
                and _CONSTANT.match(text(name))
            ):
                self.define(text(name), "Constant", node)
        if value is not None:
            self.visit(value)

    # Imports.

    def on_import_statement(self, node: Node) -> None:
        spec = _string(node.child_by_field_name("source"))
        if spec is None:
            return
        module = self.resolve(spec)
        clause = next((c for c in node.named_children if c.type == "import_clause"), None)
        if clause is None:
            self.add_import(module, None, None, node)
            return
        for part in clause.named_children:
            if part.type == "identifier":
                local = text(part)
                self.add_import(module, "default", local, node)
                self.bindings[local] = (f"{module}.{local}",)
            elif part.type == "namespace_import":
                local = text(part.named_children[0]) if part.named_children else ""
                self.add_import(module, None, local, node)
                self.bindings[local] = (module,)
            elif part.type == "named_imports":
                for spec_node in part.named_children:
                    if spec_node.type != "import_specifier":
                        continue
                    name = text(spec_node.child_by_field_name("name"))
                    alias_node = spec_node.child_by_field_name("alias")
                    alias = text(alias_node) if alias_node is not None else None
                    self.add_import(module, name, alias, node)
                    self.bindings[alias or name] = (f"{module}.{name}",)

    def require(self, name: Node | None, value: Node) -> bool:
        """`const m = require("./m")` / `const {a, b} = require("./m")` as imports."""
        if value.type != "call_expression" or text(value.child_by_field_name("function")) != "require":
            return False
        arguments = value.child_by_field_name("arguments")
        spec = _string(arguments.named_children[0]) if arguments and arguments.named_children else None
        if spec is None or name is None:
            return False
        module = self.resolve(spec)
        if name.type == "identifier":
            self.add_import(module, None, text(name), value)
            self.bindings[text(name)] = (module,)
        elif name.type == "object_pattern":
            for item in name.named_children:
                if item.type == "shorthand_property_identifier_pattern":
                    self.add_import(module, text(item), None, value)
                    self.bindings[text(item)] = (f"{module}.{text(item)}",)
        return True

    # Calls.

    def on_call_expression(self, node: Node) -> None:
        self.record(node.child_by_field_name("function"), node)
        self.children(node)

    def on_new_expression(self, node: Node) -> None:
        self.record(node.child_by_field_name("constructor"), node)
        self.children(node)

    def record(self, function: Node | None, node: Node) -> None:
        callee = _dotted(function)
        if callee is None:
            return
        head, _, rest = callee.partition(".")
        if head == "this":
            owner = self.owner()
            self.call(callee, node, [f"{owner}.{rest}"] if owner and rest else [])
            return
        candidates = [*self.nested(callee), *self.bound(head, rest), f"{self.module()}.{callee}"]
        self.call(callee, node, candidates)


def _dotted(node: Node | None) -> str | None:
    """`a.b.c` for an identifier/`this`/member chain, None for anything else."""
    parts: list[str] = []
    while node is not None and node.type == "member_expression":
        prop = node.child_by_field_name("property")
        if prop is None:
            return None
        parts.append(text(prop))
        node = node.child_by_field_name("object")
    if node is None or node.type not in ("identifier", "this"):
        return None
    parts.append(text(node))
    return ".".join(reversed(parts))


def extract_javascript(source: str, path: str, module: str) -> FileExtract:
    return _JsWalker(source, path, module, "javascript").run(parse(grammar("javascript"), source))


def extract_typescript(source: str, path: str, module: str) -> FileExtract:
    tsx = path.endswith(".tsx")
    walker = _JsWalker(source, path, module, "typescript")
    return walker.run(parse(grammar("tsx" if tsx else "typescript"), source))
