//! Generates the bindings from the MicroPython tree that is being built.
//!
//! The firmware build (mpy_module/micropython.mk or micropython.cmake) passes:
//! - `MICROPY_DIR`: the MicroPython source tree (its `py/` holds the API headers);
//! - `MICROPY_PORT_DIR`: the port directory, which relative `-I` flags are relative to;
//! - `MICROPY_CFLAGS_FILE`: a file holding the port's C flags as make wrote them; only `-I`,
//!   `-isystem`, `-D`, `-U`, `-std=` and `-include` flags are kept, so bindgen sees the same `mpconfigport.h`, variant
//!   and `genhdr/` (qstr numbers!) as the C compiler;
//! - `MICROPY_SYSINC`: the system include directories of the port's C compiler (newlib,
//!   picolibc or glibc), so `stdint.h` and friends match the target's C library.
//!
//! Nothing here is guessed: without `MICROPY_DIR` the build stops with a message.

use std::env;
use std::path::{Path, PathBuf};

fn main() {
    for var in [
        "MICROPY_DIR",
        "MICROPY_PORT_DIR",
        "MICROPY_CFLAGS_FILE",
        "MICROPY_SYSINC",
        "MICROPY_QSTR_HEADER",
        "MICROPY_NATMOD_QSTRS",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=wrapper.h");

    let Ok(top) = env::var("MICROPY_DIR") else {
        panic!(
            "micropython-sys: MICROPY_DIR is not set. This crate is built by the firmware \
             build (make, or USER_C_MODULES=.../mpy_module in a MicroPython port), which \
             passes MICROPY_DIR, MICROPY_PORT_DIR and MICROPY_CFLAGS_FILE."
        );
    };
    let port_dir = PathBuf::from(env::var("MICROPY_PORT_DIR").unwrap_or_else(|_| top.clone()));
    // Rebuild when the QSTR pass regenerates its header (new qstrs renumber the enum).
    if let Ok(q) = env::var("MICROPY_QSTR_HEADER") {
        println!("cargo:rerun-if-changed={q}");
    }

    let mut args: Vec<String> = vec![format!("-I{top}")];
    args.extend(clang_target());
    if let Ok(sysinc) = env::var("MICROPY_SYSINC") {
        if !sysinc.trim().is_empty() {
            // Use the port compiler's C library headers, not the host's.
            args.push("-nostdinc".into());
            for dir in sysinc.split_whitespace() {
                args.push(format!("-isystem{dir}"));
            }
        }
    }
    // Flags travel in a file: make's quoting (`-DX=\"y\"`) would not survive an env var.
    let cflags = match env::var("MICROPY_CFLAGS_FILE") {
        Ok(f) => {
            println!("cargo:rerun-if-changed={f}");
            std::fs::read_to_string(&f)
                .unwrap_or_else(|e| panic!("micropython-sys: cannot read {f}: {e}"))
        }
        Err(_) => String::new(),
    };
    args.extend(filter_cflags(&cflags, &port_dir));

    // A native .mpy module (natmod) has no genhdr/: its qstrs are the ones mpy_ld's
    // preprocess step listed in the module's config header (see natmod_qstrs below).
    let natmod_qstrs = env::var("MICROPY_NATMOD_QSTRS").ok();
    if let Some(q) = &natmod_qstrs {
        println!("cargo:rerun-if-changed={q}");
    }

    let mut builder = bindgen::Builder::default()
        .header("wrapper.h")
        .clang_args(&args)
        .use_core()
        .ctypes_prefix("core::ffi")
        .layout_tests(false)
        .derive_debug(false)
        .derive_default(false)
        .generate_comments(false)
        .prepend_enum_name(false)
        .allowlist_function("mp_.*|nlr_.*|vstr_.*|qstr_.*|gc_.*|m_malloc.*|m_free")
        .allowlist_var("mp_.*|MP_.*|MICROPY_.*")
        .allowlist_type("mp_.*|vstr_t|qstr")
        .allowlist_item("MP_QSTR_.*");
    if natmod_qstrs.is_some() {
        builder = builder.blocklist_item("MP_QSTR_.*");
    }
    let bindings = builder
        .generate()
        .unwrap_or_else(|e| panic!("micropython-sys: bindgen failed: {e}\nclang args: {args:?}"));

    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("bindings.rs");
    let mut text = bindings.to_string();
    if let Some(q) = &natmod_qstrs {
        text.push_str(&natmod_qstrs_rs(q));
    }
    std::fs::write(&out, &text)
        .unwrap_or_else(|e| panic!("micropython-sys: cannot write {}: {e}", out.display()));

    // Optional parts of the API become cfgs, so dependants compile what the port has.
    // (They are visible to dependants through the `links` metadata: DEP_MICROPYTHON_*.)
    let has = |decl: &str| text.contains(decl);
    for (cfg, decl) in [
        ("mp_float", "pub fn mp_obj_new_float("),
        ("mp_set", "pub fn mp_obj_new_set("),
        ("mp_float_double", "pub type mp_float_t = f64;"),
    ] {
        println!("cargo:rustc-check-cfg=cfg({cfg})");
        if has(decl) {
            println!("cargo:rustc-cfg={cfg}");
            println!("cargo:{cfg}=1");
        }
    }
}

/// The qstr constants of a natmod, from the config header `mpy_ld.py --preprocess` wrote:
/// `#define MP_QSTR_x (N)` for the qstrs every firmware of this version numbers alike (the
/// static ones), `#define MP_QSTR_x (mp_native_qstr_table[N])` for the others, which the
/// firmware numbers when it loads the module. Those become `NATMOD_QSTR_TABLE | N`, which
/// the picoredis crate's `mp::qstr()` looks up in the table at run time.
fn natmod_qstrs_rs(path: &str) -> String {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("micropython-sys: cannot read {path}: {e}"));
    let mut out = String::from(
        "\n/// Marks a qstr constant as an index into the module's qstr table.\n\
         pub const NATMOD_QSTR_TABLE: u32 = 1 << 30;\n",
    );
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("#define MP_QSTR_") else {
            continue;
        };
        let Some((name, value)) = rest.split_once(' ') else {
            continue;
        };
        let value = value.trim().trim_start_matches('(').trim_end_matches(')');
        let number = match value.strip_prefix("mp_native_qstr_table[") {
            Some(i) => format!("NATMOD_QSTR_TABLE | {}", i.trim_end_matches(']')),
            None => value.to_string(),
        };
        out.push_str(&format!("pub const MP_QSTR_{name}: u32 = {number};\n"));
    }
    out
}

/// The clang target flags for cargo's target triple (clang knows most Rust triples as
/// they are; RISC-V needs the base arch and `-march` separately).
fn clang_target() -> Vec<String> {
    let target = env::var("TARGET").unwrap_or_default();
    if let Some(rest) = target.strip_prefix("riscv32") {
        let isa = rest.split('-').next().unwrap_or("imac");
        return vec![
            "--target=riscv32-unknown-elf".into(),
            format!("-march=rv32{isa}"),
        ];
    }
    vec![format!("--target={target}")]
}

/// Splits make's flag text into words as the shell would: quotes group (a define such as
/// `-DMICROPY_HW_MCU_NAME='"rv32imac -misa-spec=2.2"'` holds a space) and a backslash
/// escapes the next character.
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => {
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
        if quote.is_some() || !word.is_empty() {
            in_word = true;
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Keeps the flags that change what the headers declare, making relative paths absolute.
fn filter_cflags(cflags: &str, port_dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut words = shell_words(cflags).into_iter();
    while let Some(w) = words.next() {
        let w = w.as_str();
        let abs = |p: &str| -> String {
            let path = Path::new(p);
            if path.is_absolute() {
                p.to_string()
            } else {
                port_dir.join(path).display().to_string()
            }
        };
        if w == "-I" || w == "-isystem" || w == "-include" {
            if let Some(p) = words.next() {
                out.push(w.to_string());
                out.push(abs(&p));
            }
        } else if let Some(p) = w.strip_prefix("-I") {
            out.push(format!("-I{}", abs(p)));
        } else if let Some(p) = w.strip_prefix("-isystem") {
            out.push(format!("-isystem{}", abs(p)));
        } else if w == "-D" || w == "-U" {
            if let Some(p) = words.next() {
                out.push(format!("{w}{p}"));
            }
        } else if w.starts_with("-D") || w.starts_with("-U") || w.starts_with("-std=") {
            out.push(w.to_string());
        }
    }
    out
}
