#!/usr/bin/env bash
# Installs every build, run and test dependency of microseg from Debian 12 packages.
# Idempotent: when everything is already installed it only runs dpkg queries.
#   scripts/install-deps.sh          build + run + test dependencies
#   scripts/install-deps.sh --slurm  also the Slurm daemons used by tests/slurm
#   scripts/install-deps.sh --build  only what building and running need (the container image,
#                                    scripts/container/microseg.def)
set -euo pipefail

build_packages=(
  build-essential cmake g++ pkg-config
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools
  libeigen3-dev
  libboost-program-options-dev libboost-serialization-dev
  # SHA-256 (libcrypto's EVP interface) and JSON (header-only) for the manifest.
  libssl-dev nlohmann-json3-dev
)
packages=(
  "${build_packages[@]}"
  clang-format catch2
  # tests/style reads function extents and signatures with it.
  universal-ctags
  # The man page is generated from the --help texts (the tests render it with man); tests/install
  # loads the modulefile and checks the Debian package (dpkg-deb, dpkg-shlibdeps of dpkg-dev).
  help2man man-db environment-modules dpkg-dev
  # The CSV parser's fuzz test: clang with libFuzzer and the sanitizer runtimes.
  clang-14 libclang-rt-14-dev
  # Test oracles and plotting, from Debian (not pip): /usr/bin/python3 sees them.
  python3 python3-numpy python3-scipy python3-sklearn python3-statsmodels python3-h5py
  python3-pandas python3-matplotlib
  # docs/reading-outputs.md's R snippet (tests/cli/test_reading_outputs.py).
  r-base-core r-cran-hdf5r
)
case "${1:-}" in
  --slurm) packages+=(slurmctld slurmd slurm-client munge) ;;
  --build) packages=("${build_packages[@]}") ;;
  "") ;;
  *) echo "install-deps: unknown option '$1' (--slurm, --build or nothing)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
