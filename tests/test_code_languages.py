"""The tree-sitter extractors through `index_project`: a small fixture project per language
(TypeScript, JavaScript, Go, Rust), with its exact symbols (qualified name, kind, line, column),
resolved call edges and imports; the module-naming conventions; and partial results for broken
source."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_code_indexer import assert_consistent, calls, imports, symbols

from envoy_grpc.code.indexer import LANGUAGES, index_project
from envoy_grpc.code.treesitter_js import js_module_name
from envoy_grpc.code.treesitter_rust import rust_crate_and_module

TS_UTIL = """export const RATE = 2;

export function double(value: number): number {
  return value * RATE;
}
"""

TS_CART = """import { double } from "./util";
import * as util from "./util";

export interface Priced {
  total(): number;
}

export class Cart implements Priced {
  items: number[] = [];

  add(price: number): void {
    this.items.push(double(price));
  }

  total(): number {
    this.add(0);
    return util.double(this.items.length);
  }
}

export function makeCart(): Cart {
  const cart = new Cart();
  cart.add(1);
  return cart;
}
"""

JS_UTIL = """const RATE = 2;

function double(value) {
  return value * RATE;
}

module.exports = { double, RATE };
"""

JS_CART = """const { double } = require("./util");

class Cart {
  constructor() {
    this.items = [];
  }

  add(price) {
    this.items.push(double(price));
  }

  total() {
    this.add(0);
    return this.items.length;
  }
}

const makeCart = () => {
  const cart = new Cart();
  cart.add(1);
  return cart;
};

module.exports = { Cart, makeCart };
"""

GO_UTIL = """package util

const Rate = 2

func Double(value int) int {
	return value * Rate
}
"""

GO_CART = """package shop

import (
	"fmt"

	"example.com/shop/util"
)

type Cart struct {
	items []int
}

func (c *Cart) Add(price int) {
	c.items = append(c.items, util.Double(price))
}

func (c *Cart) Total() int {
	c.Add(0)
	return len(c.items)
}

func NewCart() *Cart {
	cart := &Cart{}
	cart.Add(1)
	fmt.Println(len(cart.items))
	return cart
}
"""

RS_LIB = """pub mod cart;
pub mod util;
"""

RS_UTIL = """pub const RATE: u32 = 2;

pub fn double(value: u32) -> u32 {
    value * RATE
}
"""

RS_CART = """use crate::util;
use crate::util::double;

pub struct Cart {
    items: Vec<u32>,
}

impl Cart {
    pub fn new() -> Self {
        Cart { items: Vec::new() }
    }

    pub fn add(&mut self, price: u32) {
        self.items.push(double(price));
    }

    pub fn total(&mut self) -> u32 {
        self.add(0);
        util::double(self.items.len() as u32)
    }
}

pub fn make_cart() -> Cart {
    let mut cart = Cart::new();
    cart.add(1);
    cart
}
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    return root


def test_registered_extensions() -> None:
    found = {ext: LANGUAGES[ext].name for ext in (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".go", ".rs")}
    assert found == {
        ".js": "javascript",
        ".jsx": "javascript",
        ".mjs": "javascript",
        ".cjs": "javascript",
        ".ts": "typescript",
        ".tsx": "typescript",
        ".go": "go",
        ".rs": "rust",
    }


def test_typescript_fixture(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"src/util.ts": TS_UTIL, "src/cart.ts": TS_CART})
    db = tmp_path / "index.db"
    stats = index_project(root, db)
    assert (stats.files, stats.indexed, stats.failed) == (2, 2, 0)
    assert stats.lines == len(TS_UTIL.splitlines()) + len(TS_CART.splitlines())
    assert symbols(db) == {
        ("src.util", "Module", 1, 0),
        ("src.util.RATE", "Constant", 1, 13),
        ("src.util.double", "Function", 3, 7),
        ("src.cart", "Module", 1, 0),
        ("src.cart.Priced", "Interface", 4, 7),
        ("src.cart.Cart", "Class", 8, 7),
        ("src.cart.Cart.add", "Method", 11, 2),
        ("src.cart.Cart.total", "Method", 15, 2),
        ("src.cart.makeCart", "Function", 21, 7),
    }
    assert calls(db) == {
        ("src.cart.Cart.add", "this.items.push", 12, None),
        ("src.cart.Cart.add", "double", 12, "src.util.double"),
        ("src.cart.Cart.total", "this.add", 16, "src.cart.Cart.add"),
        ("src.cart.Cart.total", "util.double", 17, "src.util.double"),
        ("src.cart.makeCart", "Cart", 22, "src.cart.Cart"),
        ("src.cart.makeCart", "cart.add", 23, None),
    }
    assert stats.linked_calls == 4
    assert imports(db) == {("src/cart.ts", "src.util", "double", 1), ("src/cart.ts", "src.util", None, 2)}
    assert_consistent(db)


def test_javascript_fixture_with_require(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"lib/util.js": JS_UTIL, "lib/cart.js": JS_CART})
    db = tmp_path / "index.db"
    stats = index_project(root, db)
    assert (stats.files, stats.indexed, stats.failed) == (2, 2, 0)
    assert symbols(db) == {
        ("lib.util", "Module", 1, 0),
        ("lib.util.RATE", "Constant", 1, 6),
        ("lib.util.double", "Function", 3, 0),
        ("lib.cart", "Module", 1, 0),
        ("lib.cart.Cart", "Class", 3, 0),
        ("lib.cart.Cart.constructor", "Method", 4, 2),
        ("lib.cart.Cart.add", "Method", 8, 2),
        ("lib.cart.Cart.total", "Method", 12, 2),
        ("lib.cart.makeCart", "Function", 18, 6),
    }
    assert calls(db) == {
        ("lib.cart", "require", 1, None),
        ("lib.cart.Cart.add", "this.items.push", 9, None),
        ("lib.cart.Cart.add", "double", 9, "lib.util.double"),
        ("lib.cart.Cart.total", "this.add", 13, "lib.cart.Cart.add"),
        ("lib.cart.makeCart", "Cart", 19, "lib.cart.Cart"),
        ("lib.cart.makeCart", "cart.add", 20, None),
    }
    assert imports(db) == {("lib/cart.js", "lib.util", "double", 1)}
    assert_consistent(db)


def test_go_fixture(tmp_path: Path) -> None:
    files = {"go.mod": "module example.com/shop\n", "util/util.go": GO_UTIL, "cart.go": GO_CART}
    root = write(tmp_path / "shop", files)  # the root's name is the root package's
    db = tmp_path / "index.db"
    stats = index_project(root, db)
    assert (stats.files, stats.indexed, stats.failed) == (2, 2, 0)
    assert symbols(db) == {
        ("shop", "Module", 1, 0),
        ("shop.Cart", "Struct", 9, 5),
        ("shop.Cart.Add", "Method", 13, 0),
        ("shop.Cart.Total", "Method", 17, 0),
        ("shop.NewCart", "Function", 22, 0),
        ("shop.util", "Module", 1, 0),
        ("shop.util.Rate", "Constant", 3, 6),
        ("shop.util.Double", "Function", 5, 0),
    }
    assert calls(db) == {
        ("shop.Cart.Add", "append", 14, None),
        ("shop.Cart.Add", "util.Double", 14, "shop.util.Double"),
        ("shop.Cart.Total", "c.Add", 18, "shop.Cart.Add"),
        ("shop.Cart.Total", "len", 19, None),
        ("shop.NewCart", "cart.Add", 24, None),
        ("shop.NewCart", "fmt.Println", 25, None),
        ("shop.NewCart", "len", 25, None),
    }
    assert stats.linked_calls == 2
    assert imports(db) == {("cart.go", "fmt", None, 4), ("cart.go", "example.com/shop/util", None, 6)}
    assert_consistent(db)


def test_rust_fixture(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"src/lib.rs": RS_LIB, "src/util.rs": RS_UTIL, "src/cart.rs": RS_CART})
    db = tmp_path / "index.db"
    stats = index_project(root, db)
    assert (stats.files, stats.indexed, stats.failed) == (3, 3, 0)
    assert symbols(db) == {
        ("crate", "Module", 1, 0),
        ("crate.util", "Module", 1, 0),
        ("crate.util.RATE", "Constant", 1, 0),
        ("crate.util.double", "Function", 3, 0),
        ("crate.cart", "Module", 1, 0),
        ("crate.cart.Cart", "Struct", 4, 0),
        ("crate.cart.Cart.new", "Method", 9, 4),
        ("crate.cart.Cart.add", "Method", 13, 4),
        ("crate.cart.Cart.total", "Method", 17, 4),
        ("crate.cart.make_cart", "Function", 23, 0),
    }
    assert calls(db) == {
        ("crate.cart.Cart.new", "Vec::new", 10, None),
        ("crate.cart.Cart.add", "self.items.push", 14, None),
        ("crate.cart.Cart.add", "double", 14, "crate.util.double"),
        ("crate.cart.Cart.total", "self.add", 18, "crate.cart.Cart.add"),
        ("crate.cart.Cart.total", "self.items.len", 19, None),
        ("crate.cart.Cart.total", "util::double", 19, "crate.util.double"),
        ("crate.cart.make_cart", "Cart::new", 24, "crate.cart.Cart.new"),
        ("crate.cart.make_cart", "cart.add", 25, None),
    }
    assert stats.linked_calls == 4
    assert imports(db) == {("src/cart.rs", "crate", "util", 1), ("src/cart.rs", "crate.util", "double", 2)}
    assert index_project(root, db).unchanged == 3
    assert_consistent(db)


def test_typescript_declarations_and_rust_items(tmp_path: Path) -> None:
    ts = """enum Color { Red }
type Id = string;
namespace Shapes {
  export function area(): number { return helper(); }
  function helper(): number { return 1; }
}
"""
    rs = """use super::util::{self as u, RATE as R};
pub trait Shape {
    fn area(&self) -> u32;
    fn twice(&self) -> u32 { self.area() * R }
}
pub enum Color { Red }
mod inner {
    pub fn f() { super::top(); }
}
fn top() { fn nested() {} nested(); u::double(1); }
"""
    root = write(tmp_path / "repo", {"web/shapes.tsx": ts, "src/shop/mod.rs": rs})
    db = tmp_path / "index.db"
    index_project(root, db)
    assert symbols(db, "web/shapes.tsx") == {
        ("web.shapes", "Module", 1, 0),
        ("web.shapes.Color", "Enum", 1, 0),
        ("web.shapes.Id", "Type", 2, 0),
        ("web.shapes.Shapes", "Module", 3, 0),
        ("web.shapes.Shapes.area", "Function", 4, 9),
        ("web.shapes.Shapes.helper", "Function", 5, 2),
    }
    assert symbols(db, "src/shop/mod.rs") == {
        ("crate.shop", "Module", 1, 0),
        ("crate.shop.Shape", "Trait", 2, 0),
        ("crate.shop.Shape.area", "Method", 3, 4),
        ("crate.shop.Shape.twice", "Method", 4, 4),
        ("crate.shop.Color", "Enum", 6, 0),
        ("crate.shop.inner", "Module", 7, 0),
        ("crate.shop.inner.f", "Function", 8, 4),
        ("crate.shop.top", "Function", 10, 0),
        ("crate.shop.top.nested", "Function", 10, 11),
    }
    assert calls(db) == {
        ("web.shapes.Shapes.area", "helper", 4, "web.shapes.Shapes.helper"),
        ("crate.shop.Shape.twice", "self.area", 4, "crate.shop.Shape.area"),
        ("crate.shop.inner.f", "super::top", 8, "crate.shop.top"),
        ("crate.shop.top", "nested", 10, "crate.shop.top.nested"),
        ("crate.shop.top", "u::double", 10, None),
    }
    assert imports(db) == {
        ("src/shop/mod.rs", "crate", "util", 1),
        ("src/shop/mod.rs", "crate.util", "RATE", 1),
    }


@pytest.mark.parametrize(
    ("rel", "module"),
    [("src/shop/cart.ts", "src.shop.cart"), ("src/shop/index.js", "src.shop"), ("index.mjs", "index")],
)
def test_js_module_names(rel: str, module: str) -> None:
    assert js_module_name(rel) == module


@pytest.mark.parametrize(
    ("rel", "crate_and_module"),
    [
        ("src/lib.rs", ("crate", "crate")),
        ("src/main.rs", ("crate", "crate")),
        ("src/shop/mod.rs", ("crate", "crate.shop")),
        ("src/shop/cart.rs", ("crate", "crate.shop.cart")),
        ("crates/my-util/src/lib.rs", ("my_util", "my_util")),
        ("crates/my-util/src/a/b.rs", ("my_util", "my_util.a.b")),
        ("tests/smoke.rs", ("tests.smoke", "tests.smoke")),
    ],
)
def test_rust_module_names(rel: str, crate_and_module: tuple[str, str]) -> None:
    assert rust_crate_and_module(rel) == crate_and_module


def test_broken_source_keeps_what_parsed(tmp_path: Path) -> None:
    root = write(
        tmp_path / "repo", {"a.ts": "function ok() {}\nfunction broken( {\n", "b.go": "package b\nfunc F() {"}
    )
    db = tmp_path / "index.db"
    stats = index_project(root, db)
    assert (stats.indexed, stats.failed) == (2, 0)  # tree-sitter recovers; no exception, no loss
    assert ("a.ok", "Function", 1, 0) in symbols(db, "a.ts")
    assert_consistent(db)
