# picoredis as a MicroPython user C module for CMake-based ports (esp32, rp2).
#
#   make -C ports/esp32 BOARD=ESP32_GENERIC_C3 \
#        USER_C_MODULES=/path/to/picoredis/mpy_module/micropython.cmake \
#        PICOREDIS_RUST_TARGET=riscv32imc-unknown-none-elf
#
# Same scheme as micropython.mk: the C glue is compiled with the firmware, and cargo builds
# the Rust core for the port's target once the QSTR pass has written genhdr/, with the
# exact include directories and definitions of the MicroPython target passed to bindgen
# (written to a file at generate time). See ports/esp32/README.md.

add_library(usermod_picoredis INTERFACE)
target_sources(usermod_picoredis INTERFACE ${CMAKE_CURRENT_LIST_DIR}/modpicoredis.c)
target_include_directories(usermod_picoredis INTERFACE ${CMAKE_CURRENT_LIST_DIR})

# Optional parts: cargo features of rust/picoredis and the matching C defines, from one
# list (-DPICOREDIS_FEATURES="" builds the smallest client).
if(NOT DEFINED PICOREDIS_FEATURES)
    if(DEFINED ENV{PICOREDIS_FEATURES})
        set(PICOREDIS_FEATURES $ENV{PICOREDIS_FEATURES})
    else()
        set(PICOREDIS_FEATURES "reader pubsub tls trace heal sentinel cluster cluster_replicas")
    endif()
endif()
separate_arguments(_picoredis_features UNIX_COMMAND "${PICOREDIS_FEATURES}")
foreach(_f IN LISTS _picoredis_features)
    string(TOUPPER ${_f} _F)
    target_compile_definitions(usermod_picoredis INTERFACE PICOREDIS_${_F})
endforeach()
string(REPLACE ";" "," PICOREDIS_FEATURE_LIST "${_picoredis_features}")

# ESP32-C3: riscv32imc-unknown-none-elf; ESP32-C6/H2: riscv32imac-unknown-none-elf;
# ESP32 / ESP32-S3 (Xtensa): xtensa-esp32-none-elf / xtensa-esp32s3-none-elf with the
# `esp` toolchain (PICOREDIS_CARGO="cargo +esp", PICOREDIS_CARGO_FLAGS="-Zbuild-std=core").
if(NOT PICOREDIS_RUST_TARGET)
    if(DEFINED ENV{PICOREDIS_RUST_TARGET})
        set(PICOREDIS_RUST_TARGET $ENV{PICOREDIS_RUST_TARGET})
    elseif(IDF_TARGET STREQUAL "esp32c3")
        set(PICOREDIS_RUST_TARGET riscv32imc-unknown-none-elf)
    elseif(IDF_TARGET MATCHES "^esp32(c6|h2|c5|p4)$")
        set(PICOREDIS_RUST_TARGET riscv32imac-unknown-none-elf)
    elseif(IDF_TARGET STREQUAL "esp32s3")
        set(PICOREDIS_RUST_TARGET xtensa-esp32s3-none-elf)
    elseif(IDF_TARGET STREQUAL "esp32")
        set(PICOREDIS_RUST_TARGET xtensa-esp32-none-elf)
    else()
        message(FATAL_ERROR "picoredis: set PICOREDIS_RUST_TARGET for this port")
    endif()
endif()
if(NOT PICOREDIS_CARGO)
    set(PICOREDIS_CARGO cargo)
endif()
separate_arguments(PICOREDIS_CARGO)
separate_arguments(PICOREDIS_CARGO_FLAGS)

set(PICOREDIS_REPO ${CMAKE_CURRENT_LIST_DIR}/..)
# Linked now: py/usermod.cmake gathers the module's sources (for the QSTR pass) right
# after including this file.
target_link_libraries(usermod INTERFACE usermod_picoredis)

# MICROPY_TARGET and the genhdr rules exist only once the port has included
# py/mkrules.cmake, after the user modules: set the Rust build up at the end of the
# directory (CMake >= 3.19, which ESP-IDF 5 requires anyway).
function(picoredis_setup_rust)
    set(_genhdr ${CMAKE_BINARY_DIR}/genhdr)
    set(PICOREDIS_CARGO_DIR ${CMAKE_BINARY_DIR}/picoredis-rust)
    set(PICOREDIS_LIB ${PICOREDIS_CARGO_DIR}/${PICOREDIS_RUST_TARGET}/release/libpicoredis.a)

    # The MicroPython target's include directories and definitions, as the compiler sees them.
    file(GENERATE OUTPUT ${PICOREDIS_CARGO_DIR}/cflags.txt CONTENT
        "$<$<BOOL:$<TARGET_PROPERTY:${MICROPY_TARGET},INCLUDE_DIRECTORIES>>:-I$<JOIN:$<TARGET_PROPERTY:${MICROPY_TARGET},INCLUDE_DIRECTORIES>, -I>> $<$<BOOL:$<TARGET_PROPERTY:${MICROPY_TARGET},COMPILE_DEFINITIONS>>:-D$<JOIN:$<TARGET_PROPERTY:${MICROPY_TARGET},COMPILE_DEFINITIONS>, -D>> -I${CMAKE_BINARY_DIR}\n")

    # The C library headers of the port's compiler (newlib in ESP-IDF), for bindgen.
    execute_process(COMMAND ${CMAKE_C_COMPILER} -xc -E -Wp,-v - INPUT_FILE /dev/null
        ERROR_VARIABLE _picoredis_cc_v OUTPUT_QUIET)
    string(REGEX MATCHALL "\n [^\n]+" _picoredis_inc "${_picoredis_cc_v}")
    string(REPLACE "\n " "" _picoredis_inc "${_picoredis_inc}")
    string(REPLACE ";" " " PICOREDIS_SYSINC "${_picoredis_inc}")

    add_custom_command(
        OUTPUT ${PICOREDIS_LIB}
        COMMAND ${CMAKE_COMMAND} -E env
            MICROPY_DIR=${MICROPY_DIR}
            MICROPY_PORT_DIR=${MICROPY_PORT_DIR}
            MICROPY_CFLAGS_FILE=${PICOREDIS_CARGO_DIR}/cflags.txt
            "MICROPY_SYSINC=${PICOREDIS_SYSINC}"
            MICROPY_QSTR_HEADER=${_genhdr}/qstrdefs.generated.h
            ${PICOREDIS_CARGO} build --release --locked -p picoredis
                --no-default-features "--features=${PICOREDIS_FEATURE_LIST}"
                --target ${PICOREDIS_RUST_TARGET} --target-dir ${PICOREDIS_CARGO_DIR} ${PICOREDIS_CARGO_FLAGS}
        WORKING_DIRECTORY ${PICOREDIS_REPO}
        # bindgen reads the generated headers: run after the QSTR pass.
        DEPENDS ${_genhdr}/qstrdefs.generated.h ${_genhdr}/moduledefs.h ${_genhdr}/root_pointers.h
        COMMENT "cargo build picoredis (${PICOREDIS_RUST_TARGET})"
        VERBATIM
    )
    add_custom_target(picoredis_rust DEPENDS ${PICOREDIS_LIB})

    target_link_libraries(usermod_picoredis INTERFACE
        -Wl,--undefined=picoredis_client_new ${PICOREDIS_LIB})
    add_dependencies(${MICROPY_TARGET} picoredis_rust)
endfunction()
cmake_language(DEFER CALL picoredis_setup_rust)
