#!/usr/bin/env bash
# Set-up for the PostgreSQL backend's tests (feature `timescale`): makes sure PostgreSQL server
# binaries (initdb, pg_ctl; version 15 preferred) and the `postgres` user exist, and defines
# pg_start/pg_stop for CI's throwaway cluster. (Run without ANOMDET_PG_URL, the tests start
# their own cluster the same way: see src/storage/postgres/testing.rs.)
# Usage (from .ci/run): `source .ci/pg.sh; pg_start; trap pg_stop EXIT` then
# `cargo test --locked --all-features postgres`.
# Set ANOMDET_PG_URL=postgres://user@host:port/db to use an existing server instead.
set -euo pipefail

have_server() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }

if [ -z "${ANOMDET_PG_URL:-}" ] && ! have_server; then
  echo "pg.sh: installing PostgreSQL server binaries"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql-15 \
    || apt-get install -y -qq --no-install-recommends postgresql
  # The package may start a default cluster on 5432; the tests do not use it.
fi

if [ -z "${ANOMDET_PG_URL:-}" ]; then
  have_server || { echo "pg.sh: no initdb found after install" >&2; exit 1; }
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "pg.sh: initdb refuses root and there is no postgres user" >&2
    exit 1
  fi
  echo "pg.sh: PostgreSQL $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  if compgen -G '/usr/share/postgresql/*/extension/timescaledb.control' >/dev/null; then
    echo "pg.sh: timescaledb extension available (needs shared_preload_libraries to load)"
  else
    echo "pg.sh: timescaledb extension not installed: timescale-only tests report SKIPPED"
  fi
fi

# pg_make_certs DIR: a throwaway certificate authority (DIR/ca.pem) and a server certificate
# it signed for localhost and 127.0.0.1 (DIR/server.crt, DIR/server.key), with the openssl CLI.
pg_make_certs() {
  local dir=$1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
    -subj "/CN=AnomDet test CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    >/dev/null 2>&1 &&
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=localhost" -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1 &&
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    >"$dir/server.ext" &&
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 7 -extfile "$dir/server.ext" -out "$dir/server.crt" >/dev/null 2>&1 &&
  chmod 600 "$dir/server.key"
}

# pg_start: a throwaway cluster for CI (initdb as `postgres` in a temp dir, trust auth, a free
# port on 127.0.0.1, TLS on with a throwaway CA when openssl is there); exports ANOMDET_PG_URL
# (and ANOMDET_PG_CA, the CA's PEM file, for the TLS tests) so every test uses it. The cluster
# runs with fsync=off (tests; benches print the settings they ran with). pg_stop: stops it and
# removes the directory. Sourced by .ci/run, which calls pg_stop from an EXIT trap.
pg_start() {
  local bin port
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  PG_CI_DIR="$(mktemp -d /tmp/anomdet-ci-pg.XXXXXX)"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  local as=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$PG_CI_DIR"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -D "$PG_CI_DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
  local ssl=""
  unset ANOMDET_PG_CA
  if command -v openssl >/dev/null && pg_make_certs "$PG_CI_DIR"; then
    [ "$(id -u)" = 0 ] && chown postgres "$PG_CI_DIR/server.key"
    ssl="-c ssl=on -c ssl_cert_file=$PG_CI_DIR/server.crt -c ssl_key_file=$PG_CI_DIR/server.key"
    export ANOMDET_PG_CA="$PG_CI_DIR/ca.pem"
  else
    echo "pg.sh: no openssl (or it failed): cluster without TLS, TLS tests report SKIPPED"
  fi
  "${as[@]}" "$bin/pg_ctl" -D "$PG_CI_DIR/data" -l "$PG_CI_DIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_CI_DIR -c fsync=off $ssl" start >/dev/null
  PG_CI_BIN="$bin"
  PG_CI_AS=("${as[@]}")
  export ANOMDET_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "pg.sh: cluster up at 127.0.0.1:$port ($("$bin/postgres" --version)${ssl:+, TLS on})"
}

pg_stop() {
  if [ -n "${PG_CI_DIR:-}" ] && [ -d "$PG_CI_DIR" ]; then
    "${PG_CI_AS[@]}" "$PG_CI_BIN/pg_ctl" -D "$PG_CI_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_CI_DIR"
    echo "pg.sh: cluster stopped"
  fi
}
