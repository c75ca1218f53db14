#!/usr/bin/env bash
# bundle/build.sh: what `./gan bundle [--output FILE]` runs. Writes a tarball that runs jgan's CUDA
# backend on an x86-64 Linux with an NVIDIA driver and no Java: a jlink-ed runtime with only the
# modules jgan needs, the engine jar (the kernels, the virtual GPU and the host emulation inside it)
# and its GPU-side dependencies, and the launcher bundle/gan at the top. It packs the jar that is
# already built (./gan builds it first when it is missing or stale) and never runs Maven.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="$root/java/target"
jar="$target/jgan-engine.jar"
output="$target/jgan-bundle-linux-x86_64.tar.xz"

die() { echo "gan bundle: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --output) [ $# -ge 2 ] || die "--output needs a file name"; output="$2"; shift 2 ;;
    --output=*) output="${1#*=}"; shift ;;
    -h|--help)
      echo "Usage: ./gan bundle [--output FILE]"
      echo "Writes a self-contained jgan for x86-64 Linux with an NVIDIA driver and no JDK: a tarball"
      echo "holding jgan/gan, a jlink-ed runtime, the engine jar and the CUDA-side jars (no CPU natives:"
      echo "--device cuda only). Unpack it anywhere and run jgan/gan, e.g. jgan/gan info."
      echo "  --output FILE  xz for .tar.xz/.txz, gzip for .tar.gz/.tgz"
      echo "                 (default: java/target/jgan-bundle-linux-x86_64.tar.xz)"
      exit 0 ;;
    *) die "unknown option '$1'; usage: ./gan bundle [--output FILE]" ;;
  esac
done
case "$output" in
  *.tar.xz|*.txz) compress=(xz -6 -T0) ;;
  *.tar.gz|*.tgz) compress=(gzip -9) ;;
  *) die "--output must end in .tar.xz, .txz, .tar.gz or .tgz: $output" ;;
esac
command -v "${compress[0]}" >/dev/null || die "${compress[0]} not found: install it, or pick the other format by the name's ending"
[ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/jlink" ] || die "jlink not found: JAVA_HOME must name a JDK 25 (./gan bundle finds one)"
[ -f "$jar" ] && [ -d "$target/lib" ] || die "$jar is not built: run ./gan bundle (it builds first) or mvn package"

# The runtime's modules, found with jdeps over the engine jar and each bundled jar (the list the CI
# test checks against jdeps again): java.base; java.logging (JCuda, JLine); java.desktop (ImageIO
# for sample grids and plots; it brings java.xml, java.prefs and java.datatransfer); jdk.httpserver
# (gan serve's HTTP server). Left out:
# jdk.incubator.vector, which only the CPU kernels use (dev.jgan.cpu, and `gan info`'s vector line);
# the CPU backend cannot run here without its oneDNN natives, so the module would be dead weight
# (measured over the runtime: +0.9 MiB of gzip, +0.4 MiB of xz, +3.4 MiB unpacked) and would bring
# back the JVM's incubator warning, and with it ./gan's stderr filter. Also left out: java.sql (jackson-databind's optional java.sql types; jgan has none).
modules="java.base,java.logging,java.desktop,jdk.httpserver"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
stage="$work/jgan"
mkdir -p "$stage/lib"

# --compress zip-0: the tarball compresses the class image better than jlink's per-class zip does
# (measured over the runtime alone: gzip 31.4 MB with zip-0 against 38.1 MB with zip-9, xz 21.4 MB
# against 34.0 MB), and an uncompressed image loads its classes without inflating them. It costs
# disk once unpacked (90 MiB against 61 MiB), which the 48 MiB limit on the tarball does not count.
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
  --compress zip-0 --output "$stage/runtime"

# The jars: everything the build copied to target/lib except the CPU side (javacpp and the
# bytedeco presets: oneDNN, OpenBLAS, OpenCL, with their natives) and JCuda's natives jars, which
# are repacked below.
cp "$jar" "$stage/lib/"
for j in "$target"/lib/*.jar; do
  case "${j##*/}" in
    javacpp-*|dnnl-*|openblas-*|opencl-*) continue ;;
    onnxruntime-*) continue ;;   # CPU natives of four platforms (75 MB): gan eval --features is not in the CUDA bundle
    *-natives-*) continue ;;
  esac
  cp "$j" "$stage/lib/"
done

# JCuda's natives jars hold six JNI libraries (27 MiB unpacked, 23 of them the PTX compiler's); jgan
# loads two of them: JCudaDriver (the driver API) and JCublas2 (the virtual-GPU run of the CI test
# loads nothing else). Measured: all six are 9.4 MiB of gzip (7.3 of xz), the two 0.6 MiB (0.3). JCudnn's library is in the engine
# jar, under the name JCudnn asks for (java/pom.xml). One jar of just those two, at the class-path
# places JCuda's LibUtils looks in, stored (the tarball compresses it).
natives="$work/natives"
mkdir -p "$natives"
for j in "$target"/lib/jcuda-natives-*-linux-x86_64.jar "$target"/lib/jcublas-natives-*-linux-x86_64.jar; do
  [ -f "$j" ] || die "JCuda natives jar missing in $target/lib: rebuild with mvn package"
  (cd "$natives" && "$JAVA_HOME/bin/jar" xf "$j")
done
mkdir -p "$natives/keep/lib"
for l in libJCudaDriver libJCublas2; do
  found=("$natives"/lib/"$l"-*-linux-x86_64.so)
  [ -f "${found[0]}" ] || die "$l's JNI library is not in JCuda's natives jars"
  cp "${found[0]}" "$natives/keep/lib/"
done
"$JAVA_HOME/bin/jar" --create --no-compress --file "$stage/lib/jcuda-jni-linux-x86_64.jar" -C "$natives/keep" lib

cp "$root/bundle/gan" "$stage/gan"
chmod 755 "$stage/gan"

mkdir -p "$(dirname "$output")"
tmp_out="$output.partial"
(cd "$work" && tar --owner=0 --group=0 --numeric-owner -cf - jgan) | "${compress[@]}" >"$tmp_out"
mv "$tmp_out" "$output"

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
size_of() { du -sb "$1" | cut -f1; }
echo "bundle: $output, $(mib "$(stat -c %s "$output")") (${compress[0]}); unpacks to jgan/, $(mib "$(size_of "$stage")")"
echo "  jgan/gan       the launcher (runs jgan/runtime/bin/java, never PATH's java or JAVA_HOME)"
echo "  jgan/runtime/  $(mib "$(size_of "$stage/runtime")"), jlink-ed Java $("$stage/runtime/bin/java" --version 2>/dev/null | sed -n '1s/^[^ ]* \([^ ]*\).*/\1/p'): ${modules//,/, } (+ $("$stage/runtime/bin/java" --list-modules | cut -d@ -f1 | grep -vxF -e java.base -e java.logging -e java.desktop -e jdk.httpserver | paste -sd, - | sed 's/,/, /g'))"
echo "  jgan/lib/      $(mib "$(size_of "$stage/lib")"): $(cd "$stage/lib" && ls | paste -sd, - | sed 's/,/, /g')"
echo "  not in it:     oneDNN, OpenBLAS, OpenCL, javacpp (--device cpu needs the full build); jdk.incubator.vector"
