# Shared by scripts/test, scripts/demo and .ci/run: make sure the Debian/Ubuntu packages a
# script needs are installed. As root, installs the missing ones with apt-get; otherwise
# prints the exact apt-get line and exits non-zero. Sourced, not run.

# One build job per core: ninja's default (cores + 2) oversubscribes a 2-core machine, and the
# test files are heavy enough that the extra jobs only add swapping between them.
CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"
export CMAKE_BUILD_PARALLEL_LEVEL

bulwark_missing_packages() {
  local package
  for package in "$@"; do
    dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q '^install ok installed$' ||
      printf '%s ' "$package"
  done
}

bulwark_require_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "bulwark: not a Debian/Ubuntu system; make sure you have the equivalents of: $*" >&2
    return 0
  fi
  local missing
  missing=$(bulwark_missing_packages "$@")
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "bulwark: installing ${missing}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086  # one word per package
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "bulwark: missing packages. Install them with:" >&2
    echo "  sudo apt-get install -y ${missing% }" >&2
    exit 1
  fi
}

# Workflow presets (cmake --workflow) need CMake 3.25.
bulwark_require_cmake() {
  local version
  version=$(cmake --version | sed -n 's/^cmake version \([0-9]*\.[0-9]*\).*/\1/p')
  local major=${version%%.*} minor=${version#*.}
  if [ "$major" -lt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -lt 25 ]; }; then
    echo "bulwark: CMake ${version} is too old; 3.25 or newer is needed (cmake --workflow)." >&2
    echo "  Debian 12 and Ubuntu 24.04 ship it; elsewhere: pip install cmake, or Kitware's APT repository." >&2
    exit 1
  fi
}
