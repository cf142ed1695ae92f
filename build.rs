//! Generates one test per lab scenario file (tests/lab_scenarios.rs includes the output), so
//! `cargo test` lists and reports every scenario by name.

use std::fmt::Write as _;

fn main() {
    println!("cargo:rerun-if-changed=testzones/scenarios");
    let mut ids: Vec<String> = std::fs::read_dir("testzones/scenarios")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(String::from))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    let mut out = String::new();
    for id in &ids {
        let fn_name = id.replace(['-', '.'], "_");
        let _ = writeln!(
            out,
            "#[test]\nfn scenario_{fn_name}() {{\n    run_scenario({id:?});\n}}\n"
        );
    }
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out_dir.join("scenario_tests.rs"), out).unwrap();

    // Resolver tests: every scenario, validation included.
    let mut resolver = String::new();
    for id in &ids {
        let fn_name = id.replace(['-', '.'], "_");
        let _ = writeln!(
            resolver,
            "#[test]\nfn resolve_{fn_name}() {{\n    run_scenario({id:?});\n}}\n"
        );
    }
    std::fs::write(out_dir.join("resolver_scenario_tests.rs"), resolver).unwrap();

    // The same scenarios through `whydns serve` on the wire.
    let mut serve = String::new();
    for id in &ids {
        let fn_name = id.replace(['-', '.'], "_");
        let _ = writeln!(
            serve,
            "#[test]\nfn serve_{fn_name}() {{\n    run_scenario({id:?});\n}}\n"
        );
    }
    std::fs::write(out_dir.join("serve_scenario_tests.rs"), serve).unwrap();
}
