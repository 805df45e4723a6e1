// Re-exports the port features micropython-sys found (float, set) as cfgs of this crate,
// and `speed` for a build optimised for speed (opt-level 2 or 3: the unix port and the x64
// native module; boards build at opt-level "z"): there the client takes fast paths that
// cost flash (README: Performance), elsewhere the smaller code.
fn main() {
    for cfg in ["mp_float", "mp_set", "mp_float_double"] {
        println!("cargo:rustc-check-cfg=cfg({cfg})");
        let var = format!("DEP_MICROPYTHON_{}", cfg.to_uppercase());
        println!("cargo:rerun-if-env-changed={var}");
        if std::env::var(&var).is_ok() {
            println!("cargo:rustc-cfg={cfg}");
        }
    }
    println!("cargo:rustc-check-cfg=cfg(speed)");
    if matches!(std::env::var("OPT_LEVEL").as_deref(), Ok("2" | "3")) {
        println!("cargo:rustc-cfg=speed");
    }
}
