#!/usr/bin/env bash
# Packs a libscout build and the Debian libraries it loads into one archive that runs on another
# x86-64 Linux machine without Debian's packages (a GPU server with its own CUDA, say):
#
#   scripts/bundle.sh BUILD_DIR ARCHIVE.tar.xz [TEST_BINARY_NAME...]
#   # there:  tar xf ARCHIVE.tar.xz && libscout-bundle/bin/libscout list
#
# The archive holds libscout-bundle/{bin/libscout, lib/libscout_core.so, plugins/*.so, tests/...,
# deps/*.so}. bin/libscout and tests/* are small wrappers that put deps/ and lib/ on the library
# path. The CUDA, cuDNN and driver libraries are NOT packed: the target's own are used (its CUDA
# major version must match the build's). The C and C++ runtimes are not packed either: the target's
# must be as new as the build machine's (Debian 12: glibc 2.36, GCC 12).
set -euo pipefail
if [ $# -lt 2 ]; then sed -n '2,12p' "$0"; exit 2; fi
build=$(cd "$1" && pwd)
archive=$2
shift 2
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/libscout-bundle
mkdir -p "$root"/{bin,lib,plugins,tests,deps,real}

cp "$build"/lib/libscout_core.so* "$root/lib/"
cp "$build"/plugins/*.so "$root/plugins/" 2>/dev/null || true
cp "$build/libscout" "$root/real/"
for t in "$@"; do cp "$build/tests/$t" "$root/real/"; done

# Libraries that dlopen finds by name (the GEMM providers) and the ones the ELF files need.
multiarch=/usr/lib/$(gcc -print-multiarch)
extra=()
for f in openblas-pthread/libopenblas.so.0 blis-pthread/libblis.so.4 atlas/libblas.so.3; do
  [ -e "$multiarch/$f" ] && extra+=("$multiarch/$f")
done
skip='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|librt\.|libpthread\.|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas|libcudnn|libnvidia|libOpenCL)'
for elf in "$root"/real/* "$root"/lib/*.so* "$root"/plugins/*.so "${extra[@]}"; do
  ldd "$elf" 2>/dev/null | awk '/=> \//{print $1, $3}' | while read -r name path; do
    [[ "$name" =~ $skip ]] && continue
    [ -e "$root/deps/$name" ] || cp -L "$path" "$root/deps/$name"
  done
done
for f in "${extra[@]}"; do
  sub=$(dirname "${f#"$multiarch"/}")
  mkdir -p "$root/deps/$sub"
  cp -L "$f" "$root/deps/$sub/"
done

# Wrappers: bin/libscout and tests/<name> run real/<name> with the bundle's libraries. The GEMM
# providers look for Debian's paths first, then the bare name on the library path.
for exe in "$root"/real/*; do
  name=$(basename "$exe")
  dest=$root/bin/$name
  [ "$name" = libscout ] || dest=$root/tests/$name
  cat > "$dest" <<WRAP
#!/usr/bin/env bash
here=\$(cd "\$(dirname "\$0")/.." && pwd)
export LD_LIBRARY_PATH="\$here/lib:\$here/deps:\$here/deps/openblas-pthread:\$here/deps/blis-pthread:\$here/deps/atlas\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export LIBSCOUT_PLUGIN_DIR="\$here/plugins"
exec "\$here/real/$name" "\$@"
WRAP
  chmod +x "$dest"
done
tar -C "$stage" -cJf "$archive" libscout-bundle
echo "bundle.sh: wrote $archive ($(du -h "$archive" | cut -f1))"
