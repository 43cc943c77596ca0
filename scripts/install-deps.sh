#!/usr/bin/env bash
# Installs every Debian 12 package that libscout's build, tests and study need.
# Idempotent: packages already present are left alone.
#
#   scripts/install-deps.sh          host (x86-64) build, tests, benchmarks, report checks
#   scripts/install-deps.sh --arm    additionally: cross compilers, qemu-user, arm64/armhf libraries
#
# Runs as root, or through sudo when not root.
set -euo pipefail

want_arm=0
for arg in "$@"; do
  case "$arg" in
    --arm) want_arm=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-deps.sh: must run as root (sudo is not installed)" >&2; exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
apt_install() { $SUDO apt-get install -y --no-install-recommends "$@"; }

host_packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  # GEMM providers (loaded at run time with dlopen) and Eigen (compiled in)
  libopenblas0-pthread libopenblas-pthread-dev libblis4-pthread libblis-pthread-dev
  libatlas3-base libblas3 libblas-dev libeigen3-dev
  # neural-network libraries
  libdnnl-dev libxnnpack-dev libpthreadpool-dev libcpuinfo-dev
  # OpenCL: CLBlast on PoCL (OpenCL on the CPU)
  libclblast-dev ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
  # model import: ONNX's protobuf classes, its conformance data (the conformance test), and
  # clang with libFuzzer (the importer's fuzz target, fuzz/run_fuzz.sh)
  libprotobuf-dev protobuf-compiler libonnx-dev libonnx-testdata clang libclang-rt-14-dev
  # tooling: tests, benchmarks, CLI, JSON
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev
  # report checks: XML parser for the SVG/HTML tests, headless browser
  libexpat1-dev chromium
)

# Tolerate a failed index of a foreign architecture (added by --arm) caught mid-sync.
$SUDO apt-get update || echo "install-deps.sh: apt-get update reported errors; continuing" >&2
apt_install "${host_packages[@]}"

if [ "$want_arm" -eq 1 ]; then
  # Cross builds (see cmake/toolchains/): the cross compilers and qemu-user come from apt; the ARM
  # libraries are NOT installed through apt. Multi-Arch co-installation would force the arm64/armhf
  # copies to the exact versions of the host's amd64 packages (often not on the mirror at the same
  # time) and XNNPACK, pthreadpool, cpuinfo and oneDNN cannot be co-installed at all; apt would then
  # remove host packages. Instead every ARM package and its run-time dependencies are downloaded
  # and unpacked with `dpkg -x` into third_party/sysroot/<arch>/ (git-ignored), a complete run-time
  # root that the toolchain files search and that qemu-user uses as its -L prefix.
  for arch in arm64 armhf; do
    dpkg --print-foreign-architectures | grep -qx "$arch" || $SUDO dpkg --add-architecture "$arch"
  done
  # A mirror caught mid-sync can fail one index (seen: bookworm-security armhf); the main archive
  # still has every package, so a partial update is not fatal here.
  $SUDO apt-get update || echo "install-deps.sh: apt-get update reported errors; continuing" >&2
  apt_install g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user

  # What the libscout build links or loads on ARM. libdnnl (oneDNN) has an arm64 build but no
  # armhf one in Debian 12 (left out there with a message).
  arm_libs=(libc6 libstdc++6 libgcc-s1 libgomp1 libdnnl-dev
            libopenblas-pthread-dev libopenblas0-pthread libblis-pthread-dev libblis4-pthread
            libatlas3-base libblas-dev libblas3 libarm-compute-dev
            libxnnpack-dev libpthreadpool-dev libcpuinfo-dev
            libgtest-dev libgmock-dev libbenchmark-dev libprotobuf-dev libonnx-dev
            libclblast-dev ocl-icd-opencl-dev
            libeigen3-dev nlohmann-json3-dev libcli11-dev libexpat1-dev)
  # Compile-time parts that the cross toolchain already has in /usr/<triplet>/ (mixing two copies
  # of the C library headers breaks include_next), and host tools that cannot run anyway.
  skip_re='^(libc6-dev|linux-libc-dev|libcrypt-dev|libnsl-dev|libtirpc-dev|libc-dev-bin|rpcsvc-proto|gcc-12-base)$'

  # Package queries. The output is read whole before matching: `apt-cache show | grep -q` would
  # fail at random under pipefail (grep exits at the first match, apt-cache gets SIGPIPE).
  arch_all() { local info; info=$(apt-cache show --no-all-versions "$1" 2>/dev/null) || return 1
               grep -qx 'Architecture: all' <<<"$info"; }
  has_record() { local info; info=$(apt-cache show --no-all-versions "$1" 2>/dev/null) || return 1
                 grep -q '^Package:' <<<"$info"; }

  root=$(cd "$(dirname "$0")/.." && pwd)/third_party/sysroot
  for arch in arm64 armhf; do
    dest="$root/$arch"
    mkdir -p "$dest/debs"
    wanted=()
    for pkg in "${arm_libs[@]}"; do
      # Architecture-independent packages (headers only: Eigen, nlohmann-json, CLI11) have no
      # :$arch name; `apt-cache show pkg:$arch` then succeeds silently, so test for a record.
      if arch_all "$pkg"; then wanted+=("$pkg")
      elif has_record "$pkg:$arch"; then wanted+=("$pkg:$arch")
      else echo "install-deps.sh: $pkg has no $arch build in this archive; left out" >&2; fi
    done
    if [ "${#wanted[@]}" -eq 0 ]; then
      echo "install-deps.sh: no $arch package found: the $arch package index is missing (apt-get update failed?)" >&2
      exit 1
    fi
    # The run-time closure: every dependency of the wanted packages, for this architecture or
    # architecture-independent (unsuffixed names that have no :$arch twin in the list).
    closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
                --no-breaks --no-replaces --no-enhances "${wanted[@]}" 2>/dev/null |
              grep -v '^ ' | grep -v '^<' | sort -u)
    to_fetch=()
    for entry in $closure; do
      name=${entry%%:*}
      [[ "$name" =~ $skip_re ]] && continue
      if [[ "$entry" == *:"$arch" ]]; then to_fetch+=("$entry")
      elif [[ "$entry" != *:* ]] && ! grep -qx "$name:$arch" <<<"$closure" &&
           arch_all "$name"; then
        to_fetch+=("$name")
      fi
    done
    # apt-get download skips nothing on its own: fetch only what is not in debs/ yet (idempotent).
    missing=()
    for pkg in "${to_fetch[@]}"; do
      name=${pkg%%:*}
      compgen -G "$dest/debs/${name}_*.deb" >/dev/null || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
      (cd "$dest/debs" && apt-get download "${missing[@]}")
    fi
    for deb in "$dest"/debs/*.deb; do
      stamp="$dest/debs/.$(basename "$deb").unpacked"
      [ -e "$stamp" ] && continue
      dpkg -x "$deb" "$dest" && touch "$stamp"
    done
    # dpkg -x runs no maintainer scripts: make the links that update-alternatives would make
    # (libblas.so.3, libopenblas.so.0, ...), choosing the highest priority, as Debian does.
    for deb in "$dest"/debs/*.deb; do dpkg-deb -I "$deb" postinst 2>/dev/null || true; done |
      sed -e ':a' -e '/\\$/N' -e 's/\\\n//' -e 'ta' |
      awk '$1 == "update-alternatives" && $2 == "--install" {
             prio = $6; pick($3, $5, prio)
             for (i = 7; i + 3 <= NF; i++) if ($i == "--slave") { pick($(i + 1), $(i + 3), prio); i += 3 }
           }
           function pick(link, path, p) { if (!(link in best) || p > best[link]) { best[link] = p; to[link] = path } }
           END { for (l in to) print l, to[l] }' |
      while read -r link target; do
        mkdir -p "$dest$(dirname "$link")"
        ln -sfn "$(realpath -m --relative-to="$dest$(dirname "$link")" "$dest$target")" "$dest$link"
      done
    # Absolute symbolic links (/lib/ld-linux-aarch64.so.1 -> /lib/aarch64-linux-gnu/...) would
    # point into the host: make them relative to the sysroot.
    find "$dest" -path "$dest/debs" -prune -o -type l -lname '/*' -print | while read -r link; do
      target=$(readlink "$link")
      ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$dest$target")" "$link"
    done
    echo "install-deps.sh: $arch sysroot ready in $dest ($(ls "$dest"/debs/*.deb | wc -l) packages)"
  done
fi
echo "install-deps.sh: done"
