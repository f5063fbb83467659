"""Symbols, calls and imports of TypeScript/JavaScript, Go and Rust files, with tree-sitter grammars.

    extract_typescript(source, "src/cart.ts", "src.cart") -> FileExtract
    extract_javascript / extract_go / extract_rust: the same signature

The extractors return the same records as the Python one (`python_symbols`): a Module symbol for the
file, then functions, types, methods and constants with 1-based lines and 0-based byte columns;
calls with the callee as written and the qualified names it may resolve to, most likely first;
imports made absolute where the language allows. Qualified names are dotted in every language
(`src.cart.Cart.add`, `shop.util.Double`, `crate.shop.Cart.add`), so the last dotted part is the
symbol's name and one index serves all languages. The per-language conventions (module names,
symbol kinds, call resolution) are documented in `treesitter_js`, `treesitter_go` and
`treesitter_rust`. tree-sitter recovers from syntax errors, so these never raise on bad source;
they keep what parsed.

The `*_module` functions name a file's module for `indexer.LANGUAGES`: `(root, file) -> module`.
"""

from __future__ import annotations

from pathlib import Path

from envoy_grpc.code.treesitter_go import extract_go
from envoy_grpc.code.treesitter_js import extract_javascript, extract_typescript, js_module_name
from envoy_grpc.code.treesitter_rust import extract_rust, rust_module_name

__all__ = [
    "extract_go",
    "extract_javascript",
    "extract_rust",
    "extract_typescript",
    "go_module",
    "js_module",
    "rust_module",
]


def js_module(root: Path, file: Path) -> str:
    """`src/shop/cart.ts` → `src.shop.cart`; an `index` file is its directory."""
    return js_module_name(file.relative_to(root).as_posix())


def go_module(root: Path, file: Path) -> str:
    """The package directory under the root's name: `shop/util/util.go` in root `shop` → `shop.util`."""
    parts = [root.resolve().name, *file.relative_to(root).parent.parts]
    return ".".join(p for p in parts if p) or "main"


def rust_module(root: Path, file: Path) -> str:
    """`src/shop/cart.rs` → `crate.shop.cart` (see `treesitter_rust`)."""
    return rust_module_name(file.relative_to(root).as_posix())
