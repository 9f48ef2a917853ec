#!/usr/bin/env bash
# Builds llama.cpp's own command-line tools -- llama-perplexity, llama-quantize, llama-mtmd-cli, llama-bench -- from the
# llama.cpp tree that the llama-cpp-python 0.3.36 source distribution vendors (vendor/llama.cpp), so golden scripts and
# developers can run the real tools on exactly the llama.cpp version the Python oracle (llama_cpp) is built from.
# Dev-only: nothing in `make test` needs these binaries.
#
# Usage: scripts/build-llama-tools.sh [OUT_DIR]
#   OUT_DIR        where the binaries go (default $KILN_DEV_CACHE/llama-tools/bin; KILN_DEV_CACHE defaults to
#                  ~/.cache/kiln-dev). Prints OUT_DIR on stdout when done.
#   LLAMA_SDIST    a llama_cpp_python-0.3.36.tar.gz to use; otherwise the first one found in $KILN_DEV_CACHE/sdist or
#                  $KILN_DEV_CACHE/llama-tools/src, else `pip download` fetches it from PyPI into the latter.
#   LLAMA_CPP_LIB  a directory holding llama-cpp-python 0.3.36's shared libraries (libllama.so, libggml*.so,
#                  libmtmd.so; by default the `llama_cpp/lib` of $KILN_DEV_CACHE/oracle when it is installed there;
#                  copied to $KILN_DEV_CACHE/llama-tools/lib, which the binaries' rpath names).
#                  When present, only llama.cpp's `common` library and the four tools are compiled (about 60 files
#                  instead of about 330) and linked against those libraries -- the same code, built from the same
#                  tree by the same pip build the Python oracle uses, so the tools and llama_cpp agree bit for bit.
#                  LLAMA_CPP_LIB=none forces the full build (ggml, llama, mtmd compiled here, statically).
#   JOBS           parallel compile jobs (default 2).
#   KILN_UNPACK_ONLY=1  only fetch and unpack the sdist (for scripts/llama-converter-env.sh: the converter's tree).
# Needs: a C/C++ compiler, python3 and cmake (if cmake is not on PATH, PyPI's `cmake` package is installed into
# $KILN_DEV_CACHE/llama-tools/venv).
set -euo pipefail
version=0.3.36
dev="${KILN_DEV_CACHE:-$HOME/.cache/kiln-dev}"
root="$dev/llama-tools"
out="${1:-$root/bin}"
jobs="${JOBS:-2}"
targets=(llama-perplexity llama-quantize llama-mtmd-cli llama-bench)
mkdir -p "$root/src" "$out"

sdist="${LLAMA_SDIST:-}"
if [ -z "$sdist" ]; then
  for d in "$dev/sdist" "$root/src"; do
    f="$d/llama_cpp_python-$version.tar.gz"
    [ -f "$f" ] && { sdist="$f"; break; }
  done
fi
if [ -z "$sdist" ]; then
  echo "build-llama-tools: downloading the llama-cpp-python $version sdist from PyPI" >&2
  python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary llama-cpp-python \
    -d "$root/src" "llama-cpp-python==$version" >&2
  sdist="$root/src/llama_cpp_python-$version.tar.gz"
fi
[ -f "$sdist" ] || { echo "build-llama-tools: no sdist at $sdist" >&2; exit 1; }

tree="$root/src/llama_cpp_python-$version"
if [ ! -f "$tree/vendor/llama.cpp/CMakeLists.txt" ]; then
  rm -rf "$tree"
  tar -xzf "$sdist" -C "$root/src"
fi
llama="$tree/vendor/llama.cpp"
[ -f "$llama/CMakeLists.txt" ] || { echo "build-llama-tools: $sdist has no vendor/llama.cpp" >&2; exit 1; }
if [ -n "${KILN_UNPACK_ONLY:-}" ]; then
  echo "$llama"
  exit 0
fi

cmake_bin="$(command -v cmake || true)"
if [ -z "$cmake_bin" ]; then
  [ -x "$root/venv/bin/cmake" ] || {
    python3 -m venv "$root/venv"
    "$root/venv/bin/python" -m pip install -q --disable-pip-version-check cmake >&2
  }
  cmake_bin="$root/venv/bin/cmake"
fi

lib="${LLAMA_CPP_LIB:-}"
if [ -z "$lib" ] && [ -x "$dev/oracle/bin/python" ]; then
  lib="$("$dev/oracle/bin/python" -c 'import importlib.util, os; s = importlib.util.find_spec("llama_cpp"); print(os.path.join(os.path.dirname(s.origin), "lib") if s else "")' 2>/dev/null || true)"
fi
[ "$lib" = none ] && lib=""
if [ -n "$lib" ] && [ ! -f "$lib/libllama.so" ]; then
  echo "build-llama-tools: $lib has no libllama.so; building everything" >&2
  lib=""
fi
if [ -n "$lib" ]; then  # a private copy, so the tools keep working when the venv they came from is rebuilt
  mkdir -p "$root/lib"
  cp -a "$lib"/lib*.so* "$root/lib/"
  lib="$root/lib"
fi

build="$root/build"
"$cmake_bin" -S "$llama" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
  -DLLAMA_BUILD_TOOLS=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >&2

if [ -z "$lib" ]; then
  "$cmake_bin" --build "$build" --config Release -j "$jobs" --target "${targets[@]}" >&2
  for t in "${targets[@]}"; do install -m 755 "$build/bin/$t" "$out/$t"; done
  lib=""
else
  # Compile only what llama.cpp's shared libraries do not hold, with exactly the flags cmake chose.
  python3 - "$build" "$jobs" "$lib" "$out" <<'EOF'
import json, os, shlex, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
build, jobs, lib, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
common = ["llama-common", "llama-common-base", "cpp-httplib"]
tools = {"llama-quantize": ["llama-quantize-impl", "llama-quantize"],
         "llama-perplexity": ["llama-perplexity-impl", "llama-perplexity"],
         "llama-bench": ["llama-bench-impl", "llama-bench"],
         "llama-mtmd-cli": ["llama-mtmd-cli"]}
entries = json.load(open(os.path.join(build, "compile_commands.json")))
def target(e):
    args = shlex.split(e["command"])
    o = args[args.index("-o") + 1]  # relative to the entry's directory (the "output" field is not, for Makefiles)
    for part in o.split("/"):
        if part.endswith(".dir"):
            return part[:-4], os.path.join(e["directory"], o)
    return None, None
objects = {}
todo = []
for e in entries:
    t, obj = target(e)
    if t in common or any(t in v for v in tools.values()):
        objects.setdefault(t, []).append(obj)
        if not (os.path.exists(obj) and os.path.getmtime(obj) >= os.path.getmtime(e["file"])):
            todo.append(e)
def run(e):
    obj = target(e)[1]
    if os.path.exists(obj) and os.path.getmtime(obj) >= os.path.getmtime(e["file"]):
        return e["file"] + " (up to date)"
    os.makedirs(os.path.dirname(obj), exist_ok=True)
    subprocess.run(e["command"], shell=True, cwd=e["directory"], check=True)
    return e["file"]
# The tools first, then `common` from its last file: what is slow to compile comes early, and the binaries' own files
# fail fast if the tree does not fit.
todo = [e for e in todo if target(e)[0] not in common] + [e for e in todo if target(e)[0] in common][::-1]
print(f"build-llama-tools: compiling {len(todo)} files (common + tools), linking against {lib}", file=sys.stderr)
with ThreadPoolExecutor(jobs) as pool:
    for i, f in enumerate(pool.map(run, todo), 1):
        print(f"  [{i}/{len(todo)}] {os.path.relpath(f, build + '/..')}", file=sys.stderr)
base = [o for t in common for o in objects.get(t, [])]
libs = ["-L" + lib, "-lllama", "-lggml", "-lggml-base", "-lpthread", "-Wl,-rpath," + lib]
if any("CPPHTTPLIB_OPENSSL_SUPPORT" in e["command"] for e in entries):  # cmake found OpenSSL for llama.cpp's downloader
    libs += ["-lssl", "-lcrypto"]
for tool, parts in tools.items():
    if tool == "llama-mtmd-cli" and not os.path.exists(os.path.join(lib, "libmtmd.so")):
        print(f"  skipped {tool}: no libmtmd.so in {lib}", file=sys.stderr)
        continue
    objs = [o for t in parts for o in objects.get(t, [])]
    assert objs, f"no objects for {tool}"
    extra = ["-lmtmd"] if tool == "llama-mtmd-cli" else []
    subprocess.run(["c++", "-O3", "-o", os.path.join(out, tool)] + objs + base + extra + libs, check=True)
    print(f"  linked {tool}", file=sys.stderr)
EOF
fi
echo "build-llama-tools: ${targets[*]} from $(basename "$sdist")${lib:+ (libraries: $lib)} in $out" >&2
echo "$out"
