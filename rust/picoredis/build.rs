// Re-exports the port features micropython-sys found (float, set) as cfgs of this crate.
fn main() {
    for cfg in ["mp_float", "mp_set", "mp_float_double"] {
        println!("cargo:rustc-check-cfg=cfg({cfg})");
        let var = format!("DEP_MICROPYTHON_{}", cfg.to_uppercase());
        println!("cargo:rerun-if-env-changed={var}");
        if std::env::var(&var).is_ok() {
            println!("cargo:rustc-cfg={cfg}");
        }
    }
}
