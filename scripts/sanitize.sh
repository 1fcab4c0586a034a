#!/usr/bin/env bash
# Run the parser tests on the C accelerator built with AddressSanitizer + UndefinedBehaviorSanitizer.
#
# Usage: scripts/sanitize.sh [PYTEST ARGS...]
#   Default arguments: tests/test_speedups.py tests/test_parser_behaviour.py
#                      tests/test_parser_errors.py -q -x -p no:cacheprovider
#
# What it does:
#   1. Probes the compiler ($SANITIZE_CC, else the interpreter's sysconfig CC, else gcc, else cc):
#      a tiny C program must compile, link and run with -fsanitize=address,undefined, and
#      `$CC -print-file-name=libasan.so` must name an existing runtime. If not, it prints one
#      line and exits 0 (exit 1 when SANITIZE_REQUIRED=1, and always in self-test mode).
#   2. Copies src/jsonvisor to a fresh build/sanitize/run.XXXXXX/ (git-ignored) and compiles
#      jsonvisor/parsers/_speedups.c there with -fsanitize=address,undefined
#      -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1 (asserts on, no -fwrapv,
#      so signed overflow is reported). The in-place .so in src/ is never touched.
#   3. Runs pytest from the repo root (the repo's pytest config) with that copy first on
#      PYTHONPATH, LD_PRELOAD=libasan(+libubsan), PYTHONMALLOC=malloc (pymalloc would hide heap
#      errors), ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 and
#      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1 (your own *SAN_OPTIONS
#      are appended and win), and --capture=sys: pytest's default fd capture would swallow the
#      report a dying process writes to fd 2 (a later --capture/-s in the arguments wins). The
#      plugin scripts/sanitize_env.py stops the run unless _speedups.__file__ is the sanitized
#      build and streaming.SPEEDUPS is True. Exits with pytest's status.
#
# Environment:
#   PYTHON=...             interpreter with the dev dependencies (default: .venv/bin/python)
#   SANITIZE_CC=...        compiler command to use instead of sysconfig's CC
#   SANITIZE_REQUIRED=1    fail (exit 1) instead of skipping when the sanitizers are unavailable
#   SANITIZE_KEEP=1        keep build/sanitize/run.XXXXXX/ afterwards (it is deleted otherwise)
#   SANITIZE_SELFTEST=1    (or =asan) self-test: the COPY of _speedups.c gets a deliberate heap
#                          out-of-bounds read in plain_run_q() (it reads the code unit after the
#                          string's NUL terminator, i.e. the first byte past the allocation);
#                          the run must then die with an AddressSanitizer report.
#   SANITIZE_SELFTEST=ubsan  self-test: the copy gets a signed int overflow in plain_run_q(); the
#                          run must die with a UBSan "runtime error".
#   In self-test mode the script exits 0 when the sanitizer caught the injected fault and 1
#   otherwise. The real source file is never modified.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

PY="${PYTHON:-$ROOT/.venv/bin/python}"
REQUIRED="${SANITIZE_REQUIRED:-0}"
SELFTEST="${SANITIZE_SELFTEST:-0}"
case "$SELFTEST" in
    0 | "") SELFTEST="" ;;
    1 | asan) SELFTEST=asan ;;
    ubsan) ;;
    *) echo "sanitize: SANITIZE_SELFTEST must be 1, asan or ubsan (got '$SELFTEST')" >&2; exit 2 ;;
esac
if [ -n "$SELFTEST" ]; then
    REQUIRED=1
fi

SAN_FLAGS=(-fsanitize=address,undefined -fno-sanitize-recover=undefined
           -fno-omit-frame-pointer -g -O1)

if ! command -v "$PY" >/dev/null 2>&1; then
    echo "sanitize: no interpreter '$PY' (run 'make install' or set PYTHON=...)" >&2
    exit 1
fi

unsupported() {
    echo "sanitize: skipped, $1 (set SANITIZE_REQUIRED=1 to make this an error)"
    if [ "$REQUIRED" = 1 ]; then
        echo "sanitize: SANITIZE_REQUIRED=1${SELFTEST:+ (self-test)}: failing" >&2
        exit 1
    fi
    exit 0
}

# ---------------------------------------------------------------- 1. the compiler
CC_CMD=()
if [ -n "${SANITIZE_CC:-}" ]; then
    read -ra CC_CMD <<<"$SANITIZE_CC"
else
    sys_cc="$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("CC") or "")')"
    read -ra sys_cc_cmd <<<"$sys_cc"
    for cand in "${sys_cc_cmd[0]:-}" gcc cc; do
        if [ -n "$cand" ] && command -v "$cand" >/dev/null 2>&1; then
            if [ -n "$sys_cc" ] && [ "$cand" = "${sys_cc_cmd[0]}" ]; then
                CC_CMD=("${sys_cc_cmd[@]}")
            else
                CC_CMD=("$cand")
            fi
            break
        fi
    done
fi
if [ "${#CC_CMD[@]}" -eq 0 ] || ! command -v "${CC_CMD[0]}" >/dev/null 2>&1; then
    unsupported "no C compiler found (tried \$SANITIZE_CC, sysconfig CC, gcc, cc)"
fi

BUILD_ROOT="$ROOT/build/sanitize"
mkdir -p "$BUILD_ROOT"
WORK="$(mktemp -d "$BUILD_ROOT/run.XXXXXX")"
cleanup() {
    if [ "${SANITIZE_KEEP:-0}" = 1 ]; then
        echo "sanitize: kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

cat >"$WORK/probe.c" <<'EOF'
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    (void)argv;
    char *p = malloc(16);
    if (p == NULL) return 1;
    memset(p, argc, 16);
    int r = p[argc] - argc; /* in bounds: 0 */
    free(p);
    return r;
}
EOF
if ! "${CC_CMD[@]}" "${SAN_FLAGS[@]}" "$WORK/probe.c" -o "$WORK/probe" >"$WORK/probe.log" 2>&1; then
    why="$(grep -m1 -i 'error' "$WORK/probe.log" || head -n1 "$WORK/probe.log")"
    unsupported "${CC_CMD[*]} cannot build with -fsanitize=address,undefined${why:+ ($why)}"
fi
# Bounded: some kernels (vm.mmap_rnd_bits=32) send older ASan runtimes into an endless
# "AddressSanitizer:DEADLYSIGNAL" loop.
PROBE_RUN=("$WORK/probe")
if command -v timeout >/dev/null 2>&1; then
    PROBE_RUN=(timeout 60 "$WORK/probe")
fi
if ! ASAN_OPTIONS=detect_leaks=0 "${PROBE_RUN[@]}" >>"$WORK/probe.log" 2>&1; then
    unsupported "a -fsanitize=address,undefined program built by ${CC_CMD[*]} does not run here"
fi
ASAN_LIB="$("${CC_CMD[@]}" -print-file-name=libasan.so)"
UBSAN_LIB="$("${CC_CMD[@]}" -print-file-name=libubsan.so)"
case "$ASAN_LIB" in
    /*) [ -e "$ASAN_LIB" ] || unsupported "$ASAN_LIB does not exist" ;;
    *) unsupported "${CC_CMD[*]} has no shared libasan.so to preload (gcc's comes with libasan8)" ;;
esac
PRELOAD="$ASAN_LIB"
case "$UBSAN_LIB" in
    /*) [ -e "$UBSAN_LIB" ] && PRELOAD="$PRELOAD:$UBSAN_LIB" ;;
esac

# ---------------------------------------------------------------- 2. the sanitized build
TREE="$WORK/tree"
mkdir -p "$TREE"
cp -R "$ROOT/src/jsonvisor" "$TREE/jsonvisor"
find "$TREE" \( -name '__pycache__' -o -name '*.so' -o -name '*.pyd' \) -prune -exec rm -rf {} +
SRC="$TREE/jsonvisor/parsers/_speedups.c"

if [ -n "$SELFTEST" ]; then
    # The copy of the stage file that holds plain_run_q() (a unity build: _speedups.c
    # includes the stages), restored by nothing: the tree is a throwaway copy.
    SRC="$(grep -l '^plain_run_q(' "$TREE"/jsonvisor/parsers/_speedups.c "$TREE"/jsonvisor/parsers/_c_*.h | head -n1)"
    cp "$SRC" "$WORK/_speedups.c.orig"
    if [ "$SELFTEST" = asan ]; then
        # A peek one code unit past the terminating NUL = the first byte after the allocation.
        inject='    if (pos < n) { volatile Py_UCS4 selftest_peek = PyUnicode_READ(t->kind, t->data, n + 1); (void)selftest_peek; }'
    else
        inject='    if (pos < n) { volatile int selftest_big = INT_MAX; volatile int selftest_sum = selftest_big + (int)(n > 0); (void)selftest_sum; }'
    fi
    # Inside plain_run_q(), after the line that loads the text's length.
    sed -i "/^plain_run_q(/,/^}/{/^    Py_ssize_t n = t->n;/a\\
$inject
}" "$SRC"
    if cmp -s "$SRC" "$WORK/_speedups.c.orig"; then
        echo "sanitize: self-test: could not inject the fault (plain_run_q() changed shape?)" >&2
        exit 1
    fi
    echo "sanitize: self-test ($SELFTEST): injected into the copy's plain_run_q():"
    diff -u "$WORK/_speedups.c.orig" "$SRC" | sed -n '/^[-+][^-+]/p' || true
fi

EXT_SUFFIX="$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')"
mapfile -t INCLUDES < <("$PY" -c '
import sysconfig
paths = sysconfig.get_paths()
for d in dict.fromkeys((paths["include"], paths["platinclude"])):
    print("-I" + d)
')
SO="$TREE/jsonvisor/parsers/_speedups$EXT_SUFFIX"
start=$SECONDS
"${CC_CMD[@]}" -shared -fPIC -Wall "${SAN_FLAGS[@]}" "${INCLUDES[@]}" -DJSONVISOR_BUILD='"sanitize"' \
    "$TREE/jsonvisor/parsers/_speedups.c" -o "$SO"
echo "sanitize: built $SO with ${CC_CMD[*]} ${SAN_FLAGS[*]} ($((SECONDS - start))s)"
# The SSE accelerator of jsonvisor.llm, sanitized the same way (its tests skip without it).
SSE_SO="$TREE/jsonvisor/llm/_sse$EXT_SUFFIX"
if [ -f "$TREE/jsonvisor/llm/_sse.c" ]; then
    "${CC_CMD[@]}" -shared -fPIC -Wall "${SAN_FLAGS[@]}" "${INCLUDES[@]}" \
        "$TREE/jsonvisor/llm/_sse.c" -o "$SSE_SO"
    echo "sanitize: built $SSE_SO"
fi

# ---------------------------------------------------------------- 3 + 4. the run
if [ "$#" -eq 0 ]; then
    set -- tests/test_speedups.py tests/test_parser_behaviour.py tests/test_parser_errors.py \
        -q -x -p no:cacheprovider
fi
echo "sanitize: LD_PRELOAD=$PRELOAD PYTHONMALLOC=malloc $PY -m pytest $*"

run_pytest() {
    env -u JSONVISOR_PURE \
        LD_PRELOAD="$PRELOAD${LD_PRELOAD:+:$LD_PRELOAD}" \
        ASAN_OPTIONS="detect_leaks=0:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
        PYTHONMALLOC=malloc \
        PYTHONDONTWRITEBYTECODE=1 \
        PYTHONPATH="$TREE:$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}" \
        SANITIZE_EXPECTED_SO="$SO" \
        SANITIZE_EXPECTED_SSE_SO="$SSE_SO" \
        "$PY" -m pytest -p sanitize_env --capture=sys "$@"
}

start=$SECONDS
if [ -z "$SELFTEST" ]; then
    status=0
    run_pytest "$@" || status=$?
    echo "sanitize: pytest exited $status after $((SECONDS - start))s"
    exit "$status"
fi

# Self-test: the run must fail, with the sanitizer's own report.
set +e
run_pytest "$@" 2>&1 | tee "$WORK/selftest.log"
status="${PIPESTATUS[0]}"
set -e
if [ "$SELFTEST" = asan ]; then
    pattern='ERROR: AddressSanitizer'
else
    pattern='runtime error:'
fi
echo "sanitize: self-test run exited $status after $((SECONDS - start))s"
if [ "$status" -ne 0 ] && grep -q "$pattern" "$WORK/selftest.log"; then
    echo "sanitize: self-test passed: the injected fault was caught ($(grep -m1 "$pattern" "$WORK/selftest.log"))"
    exit 0
fi
echo "sanitize: self-test FAILED: no '$pattern' report and/or the run passed" >&2
exit 1
