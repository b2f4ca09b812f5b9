#!/usr/bin/env bash
# A PostgreSQL server on loopback for the shared-storage tests, from Debian's packages.
# Installs it if missing, starts the newest cluster, makes a user and a database, and prints
# the SQLAlchemy URL on stdout (everything else goes to stderr). Needs root.
set -euo pipefail
exec 3>&1 1>&2

USER_NAME=codesign
PASSWORD=codesign
DATABASE=codesign_test

if ! command -v pg_ctlcluster >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
    pg_createcluster "$version" main 3>&-
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
    # The server must not inherit fd 3: the caller's $(...) would wait for it forever.
    pg_ctlcluster "$version" main start 3>&-
fi

as_postgres() { su postgres -c "psql -p $port -qtAX $*"; }
if [ "$(as_postgres "-c \"SELECT 1 FROM pg_roles WHERE rolname = '$USER_NAME'\"")" != 1 ]; then
    as_postgres "-c \"CREATE ROLE $USER_NAME LOGIN PASSWORD '$PASSWORD'\""
fi
# The secrets test makes a role of its own with a random password (and drops it again).
as_postgres "-c \"ALTER ROLE $USER_NAME CREATEROLE\""
if [ "$(as_postgres "-c \"SELECT 1 FROM pg_database WHERE datname = '$DATABASE'\"")" != 1 ]; then
    as_postgres "-c \"CREATE DATABASE $DATABASE OWNER $USER_NAME\""
fi
echo "postgresql+psycopg2://$USER_NAME:$PASSWORD@127.0.0.1:$port/$DATABASE" >&3
