// Re-exports the port features micropython-sys found (float, set) as cfgs of this crate,
// and `speed` for a build for speed over flash (PICOREDIS_SPEED=1, which micropython.mk
// passes with opt-level 3 and gives the C glue too: the unix port): there the client takes
// fast paths that cost flash, elsewhere (boards) the smaller code.
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
    println!("cargo:rerun-if-env-changed=PICOREDIS_SPEED");
    if std::env::var("PICOREDIS_SPEED").as_deref() == Ok("1") {
        println!("cargo:rustc-cfg=speed");
    }
}
