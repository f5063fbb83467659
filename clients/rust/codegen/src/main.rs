//! Writes the tonic/prost client code for envoy.v1 into a folder (clients/rust/src/gen by default).
//!
//! Usage: `envoy-client-codegen DESCRIPTOR_SET OUT_DIR`. The descriptor set comes from
//! `buf build --exclude-imports --path proto/envoy` (scripts/clients/rust.sh), so no protoc is
//! needed: buf is pinned in the root package.json, and prost-build reads its output directly.

use std::path::PathBuf;
use std::{env, fs, process};

use prost::Message;
use prost_types::FileDescriptorSet;

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    let [descriptors, out_dir] = args.as_slice() else {
        eprintln!("usage: envoy-client-codegen DESCRIPTOR_SET OUT_DIR");
        process::exit(2);
    };
    if let Err(error) = generate(descriptors.into(), out_dir.into()) {
        eprintln!("envoy-client-codegen: {error}");
        process::exit(1);
    }
}

fn generate(descriptors: PathBuf, out_dir: PathBuf) -> std::io::Result<()> {
    let fds = FileDescriptorSet::decode(fs::read(&descriptors)?.as_slice())?;
    // Start from an empty folder so a removed proto file leaves no stale module behind.
    if out_dir.exists() {
        fs::remove_dir_all(&out_dir)?;
    }
    fs::create_dir_all(&out_dir)?;
    // google.api comes along only because envoy.v1 imports its annotations. Its comments hold
    // indented examples that rustdoc would run as (broken) doctests, so they are left out.
    let mut config = prost_build::Config::new();
    config.disable_comments([".google.api"]);
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .build_transport(false)
        .out_dir(&out_dir)
        .include_file("mod.rs")
        .compile_fds_with_config(fds, config)
}
