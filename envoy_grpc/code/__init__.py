"""A built-in code indexer: symbols, calls and imports of a source tree, written as a SQLite file.

The index uses the magellan layout (`graph_entities` / `graph_edges`, see
`../shared/reference/envoy-api.md` §5.1) so magellan databases and ours can be read the same way.

    from envoy_grpc.code.indexer import index_project
    stats = index_project(Path("/src/app"), Path("/src/app/.envoy-index.db"))

- `model`: the language-neutral records an extractor returns (Symbol, Call, Import, FileExtract).
- `python_symbols`: the Python extractor, on the standard `ast` module.
- `index_db`: the SQLite file: schema, per-file replace and delete, call linking.
- `indexer`: walks a tree, hashes files, skips unchanged ones, dispatches by extension
  (`indexer.LANGUAGES`, where TypeScript/JavaScript/Go/Rust extractors plug in later).
"""
