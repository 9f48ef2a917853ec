#!/usr/bin/env bash
# Dev check, not part of `make test`: Kiln's C kernels (Sources/CKernels) against libggml-cpu itself, bit for bit,
# on random rows (scripts/ggml_kernel_check.c says what is compared). Links the shared libraries of llama-cpp-python
# 0.3.36 (the build the engine goldens ran), from the oracle venv given as $ORACLE (default ~/.cache/kiln-dev/oracle;
# any venv with `pip install llama-cpp-python==0.3.36` works). Exit status 1 when any dot product or activation row
# differs. KILN_CK_O0=1 compiles the kernels at -O0 (as debug builds do).
set -euo pipefail
cd "$(dirname "$0")/.."
ORACLE="${ORACLE:-$HOME/.cache/kiln-dev/oracle}"
lib=$(echo "$ORACLE"/lib/python3*/site-packages/llama_cpp/lib)
[ -f "$lib/libggml-cpu.so" ] || { echo "no libggml-cpu.so under $ORACLE (pip install llama-cpp-python==0.3.36 there)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
opt=-O2; [ "${KILN_CK_O0:-}" = 1 ] && opt=-O0
${CC:-clang} $opt -c -ISources/CKernels/include Sources/CKernels/kernels.c -o "$tmp/kernels.o"
${CC:-clang} $opt -c -ISources/CKernels/include Sources/CKernels/repack_q4_0x8.c -o "$tmp/repack.o"
${CC:-clang} $opt -c -ISources/CKernels/include Sources/CKernels/repack_q4_kx8.c -o "$tmp/repack_k.o"
${CC:-clang} $opt -c -ISources/CKernels/include Sources/CKernels/repack_q6_kx8.c -o "$tmp/repack_6.o"
${CC:-clang} -O2 -ISources/CKernels/include scripts/ggml_kernel_check.c "$tmp/kernels.o" "$tmp/repack.o" "$tmp/repack_k.o" "$tmp/repack_6.o" -L"$lib" -lggml-cpu -lggml-base \
  -Wl,-rpath,"$lib" -lm -o "$tmp/check"
"$tmp/check"
