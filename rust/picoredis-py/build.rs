// The cfgs the core modules test (micropython-sys derives them from the port; a Python
// host has floats (double) and sets; rust/picoredis/build.rs sets `speed`), and the setjmp
// guard, which must be C.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
    for cfg in ["mp_float", "mp_set", "mp_float_double"] {
        println!("cargo:rustc-check-cfg=cfg({cfg})");
        println!("cargo:rustc-cfg={cfg}");
    }
    // `speed`: the core's fast paths and buffers of a build for speed over flash (the unix
    // port's PICOREDIS_SPEED=1: 16 KB read and 4 KB write buffers, the common command
    // measured once, ...), which suit a CPython or PyPy host as well; there is no flash to
    // save here.
    println!("cargo:rustc-check-cfg=cfg(speed)");
    println!("cargo:rustc-cfg=speed");
    println!("cargo:rerun-if-changed=src/guard.c");
    cc::Build::new()
        .file("src/guard.c")
        .opt_level(2)
        .compile("prguard");
}
