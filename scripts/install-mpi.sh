#!/bin/sh
# Installs what `cargo build --features distributed` needs (issue 19) when it is missing, on
# Debian or Ubuntu: Open MPI (the library, its headers and mpirun) and libclang (rsmpi's
# bindgen reads mpi.h with it). Idempotent: with everything present it installs nothing.
# MPICH works as well (mpich libmpich-dev), but Debian's MPICH 4.0.2 reduces unsigned 64-bit
# values as signed (pmodels/mpich#6083); klpcheck's start-up self-test then refuses to run.
set -eu
need=""
for pkg in libopenmpi-dev openmpi-bin libclang-dev; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        need="$need $pkg"
    fi
done
if [ -z "$need" ]; then
    echo "install-mpi: libopenmpi-dev openmpi-bin libclang-dev are installed"
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "install-mpi: installing$need"
$sudo apt-get update
# shellcheck disable=SC2086 # one word per package
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends $need
