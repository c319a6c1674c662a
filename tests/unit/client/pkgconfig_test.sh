#!/bin/sh
# libtern as an installed package: installs the libtern component of BUILD_DIR into a temporary
# prefix, builds tests/unit/client/pkgconfig_consumer.c with only `pkg-config --cflags --libs
# libtern` (PKG_CONFIG_PATH at the prefix) and runs it. EXTRA_CFLAGS are the build's own
# CMAKE_C_FLAGS (sanitizers: instrumented static libraries need the consumer linked alike).
# Fails, never skips, when a tool is missing.
# Usage: pkgconfig_test.sh BUILD_DIR SOURCE_DIR CC VERSION [EXTRA_CFLAGS]
set -eu
build=$1 src=$2 cc=$3 version=$4 extra=${5:-}
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
for tool in cmake pkg-config "$cc"; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool not found"
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tern-pc-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" --component libtern >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "cmake --install"; }
pc=$(find "$tmp/prefix" -name libtern.pc)
[ -n "$pc" ] || fail "no libtern.pc installed"
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
got=$(pkg-config --modversion libtern) || fail "pkg-config --modversion"
[ "$got" = "$version" ] || fail "modversion '$got', want '$version'"
cflags=$(pkg-config --cflags libtern) || fail "pkg-config --cflags"
libs=$(pkg-config --libs libtern) || fail "pkg-config --libs"
case "$cflags $libs" in
*"$tmp/prefix"*) ;;
*) fail "flags do not point into the prefix: $cflags $libs" ;;
esac
# shellcheck disable=SC2086 # the flags are word lists
"$cc" $extra $cflags -o "$tmp/consumer" "$src/tests/unit/client/pkgconfig_consumer.c" $libs ||
    fail "compile and link with: $cflags $libs"
out=$("$tmp/consumer") || fail "the consumer failed"
[ "$out" = "libtern $version" ] || fail "output '$out', want 'libtern $version'"
echo "ok: $out ($cflags $libs)"
