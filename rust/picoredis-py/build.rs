// The cfgs the core modules test (micropython-sys derives them from the port; a Python
// host has floats (double) and sets), and the setjmp guard, which must be C.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
    for cfg in ["mp_float", "mp_set", "mp_float_double"] {
        println!("cargo:rustc-check-cfg=cfg({cfg})");
        println!("cargo:rustc-cfg={cfg}");
    }
    println!("cargo:rerun-if-changed=src/guard.c");
    cc::Build::new()
        .file("src/guard.c")
        .opt_level(2)
        .compile("prguard");
}
