#!/usr/bin/env bash
# What picoredis adds to a firmware: each QEMU board built with and without the module
# (Cortex-M3 also with no optional part, PICOREDIS_FEATURES=),
# flash = text + rodata, RAM = data + bss, plus the code size of the Rust staticlib for
# each target and the largest picoredis functions on Cortex-M3. Prints a markdown table
# (also written to build/size.md).
#
# A fair comparison: the firmwares without the module (qemu-firmware-plain) are built as
# those with it are, with MicroPython's asyncio frozen and the time/select/_asyncio
# modules it needs (ports/qemu/qemu.mk), so the difference is picoredis alone: the native
# module plus, where it is frozen, the picoredis package (mpy_module/manifest.py). The
# "frozen Python" column is that package's share: frozen_content.o with minus without
# (about: qstrs the native module already has are not repeated). The smallest build does
# not freeze the package (it needs the Reader that build leaves out).
#
#   tools/size.sh            (make size: builds what is missing first)
set -euo pipefail
cd "$(dirname "$0")/.."
B=build

# sum of the named sections of an ELF (size -A), in bytes
sections() { # tool elf regex
    "$1" -A "$2" | awk -v re="$3" '$1 ~ re { s += $2 } END { print s + 0 }'
}
flash() { sections "$1" "$2" '^\.(text|rodata|srodata|ARM\.exidx|init_array)'; }
ram() { sections "$1" "$2" '^\.(data|bss|sdata|sbss)'; }

# frozen Python in a firmware: code + data of its frozen_content.o (all read-only)
frozen() { # tool elf
    sections "$1" "$(dirname "$2")/frozen_content.o" '^\.(text|rodata|srodata)'
}

row() { # board tool with.elf without.elf
    local fw fr rw rr py
    fw=$(flash "$2" "$3"); fr=$(flash "$2" "$4")
    rw=$(ram "$2" "$3"); rr=$(ram "$2" "$4")
    if grep -q 'picoredis/__init__' "$(dirname "$3")/frozen_content.c" 2>/dev/null; then
        py=$(($(frozen "$2" "$3") - $(frozen "$2" "$4")))
    else
        py="none"
    fi
    printf '| %s | %d | %d | **%d** | %s | %d | %d | **%d** |\n' "$1" "$fr" "$fw" $((fw - fr)) "$py" "$rr" "$rw" $((rw - rr))
}

lib_code() { # tool archive: text + rodata of the picoredis object(s), compiler_builtins not counted
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && ar x "$OLDPWD/$2" && ls)
    local total=0
    for o in "$tmp"/picoredis-*.o; do
        total=$((total + $(sections "$1" "$o" '^\.(text|rodata)')))
    done
    rm -rf "$tmp"
    echo "$total"
}

{
echo "| firmware | flash without | flash with | picoredis flash | of which frozen Python | RAM without | RAM with | picoredis RAM |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
row "qemu MPS2_AN385 (Cortex-M3), every part" arm-none-eabi-size $B/qemu-arm/firmware.elf $B/qemu-arm-plain/firmware.elf
part() { # label with.elf without.elf: the flash and RAM one part adds
    printf '| (so %s, on Cortex-M3) | | | **%d** | | | | **%d** |\n' "$1" \
        $(($(flash arm-none-eabi-size "$2") - $(flash arm-none-eabi-size "$3"))) \
        $(($(ram arm-none-eabi-size "$2") - $(ram arm-none-eabi-size "$3")))
}
if [ -f $B/qemu-arm-noreplicas/firmware.elf ]; then
    row "qemu MPS2_AN385 (Cortex-M3), every part but cluster_replicas" arm-none-eabi-size $B/qemu-arm-noreplicas/firmware.elf $B/qemu-arm-plain/firmware.elf
    part "the cluster_replicas part, read_from_replicas" $B/qemu-arm/firmware.elf $B/qemu-arm-noreplicas/firmware.elf
fi
if [ -f $B/qemu-arm-nocluster/firmware.elf ]; then
    row "qemu MPS2_AN385 (Cortex-M3), every part but cluster and cluster_replicas" arm-none-eabi-size $B/qemu-arm-nocluster/firmware.elf $B/qemu-arm-plain/firmware.elf
    if [ -f $B/qemu-arm-noreplicas/firmware.elf ]; then
        part "the cluster part, RedisCluster" $B/qemu-arm-noreplicas/firmware.elf $B/qemu-arm-nocluster/firmware.elf
    fi
fi
if [ -f $B/qemu-arm-min/firmware.elf ]; then
    row "qemu MPS2_AN385 (Cortex-M3), PICOREDIS_FEATURES= (no Reader, pub/sub, TLS, trace, heal, sentinel, cluster)" arm-none-eabi-size $B/qemu-arm-min/firmware.elf $B/qemu-arm-plain/firmware.elf
fi
row "qemu VIRT_RV32 (RV32IMAC)" riscv64-unknown-elf-size $B/qemu-rv32/firmware.elf $B/qemu-rv32-plain/firmware.elf
echo
echo "| Rust staticlib (picoredis + resp, LTO, opt-level z) | code + rodata |"
echo "| --- | ---: |"
echo "| thumbv7m-none-eabi | $(lib_code arm-none-eabi-size $B/qemu-arm/rust/thumbv7m-none-eabi/release/libpicoredis.a 2>/dev/null | tail -1) |"
echo "| riscv32imac-unknown-none-elf | $(lib_code riscv64-unknown-elf-size $B/qemu-rv32/rust/riscv32imac-unknown-none-elf/release/libpicoredis.a 2>/dev/null | tail -1) |"
if [ -f $B/esp32-parts/rust/riscv32imc-unknown-none-elf/release/libpicoredis.a ]; then
    echo "| riscv32imc-unknown-none-elf (ESP32-C3 class) | $(lib_code riscv64-unknown-elf-size $B/esp32-parts/rust/riscv32imc-unknown-none-elf/release/libpicoredis.a 2>/dev/null | tail -1) |"
fi
if [ -f $B/natmod/picoredis-armv7m.mpy ]; then
    echo
    echo "| native module (make natmod), stock firmware | .mpy file | heap once imported |"
    echo "| --- | ---: | ---: |"
    run="python3 tests/natmod/run_qemu.py --heap-only --stage-addr"
    arm="qemu-system-arm -nographic -monitor null -semihosting -serial pty -machine"
    rv="qemu-system-riscv32 -bios none -machine virt -nographic -monitor null -semihosting -serial pty"
    natmod_row() { # arch heap-bytes
        printf '| %s | %d | %s |\n' "$1" "$(stat -c %s $B/natmod/picoredis-$1.mpy)" "$2"
    }
    x64_heap=$(cd $B/natmod/mip/x64 && ../../../unix-stock/micropython -c \
        'import gc; gc.collect(); a = gc.mem_alloc(); import picoredis; gc.collect(); print(gc.mem_alloc() - a)')
    natmod_row x64 "$x64_heap (code in executable memory, outside the heap)"
    natmod_row armv6m "$($run 0x200000 --package $B/natmod/mip/armv6m --qemu "$arm mps2-an385 -kernel $B/qemu-arm-stock/firmware.elf")"
    natmod_row armv7m "$($run 0x200000 --package $B/natmod/mip/armv7m --qemu "$arm mps2-an385 -kernel $B/qemu-arm-stock/firmware.elf")"
    natmod_row armv7emsp "$($run 0x200000 --package $B/natmod/mip/armv7emsp --qemu "$arm mps2-an386 -kernel $B/qemu-m4f-stock/firmware.elf")"
    natmod_row rv32imc "$($run 0x80800000 --package $B/natmod/mip/rv32imc --qemu "$rv -kernel $B/qemu-rv32-stock/firmware.elf")"
    echo
    echo "(On a board, the code of a native module is loaded into the heap; picoredis/asyncio.mpy and"
    echo "picoredis/_async_common.mpy, $(stat -c %s $B/natmod/mip/x64/picoredis/asyncio.mpy) + $(stat -c %s $B/natmod/mip/x64/picoredis/_async_common.mpy) bytes, only by \`import picoredis.asyncio\`.)"
fi
echo
echo "Largest picoredis functions in the Cortex-M3 firmware (bytes):"
echo
echo '```'
arm-none-eabi-nm --size-sort -S --radix=d -C $B/qemu-arm/firmware.elf |
    grep -Ei ' (picoredis|resp::|redis_|pipeline_|pubsub_|reader_|command_)' |
    tail -12 | awk '{ n = $2 + 0; $1 = $2 = $3 = ""; printf "%6d %s\n", n, $0 }'
echo '```'
} | tee $B/size.md
