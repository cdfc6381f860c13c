#!/usr/bin/env bash
# Proves docker-compose.yml by running it: builds every image from docker/Dockerfile, brings the
# whole stack up, waits until every container is healthy, runs a smoke test through the gateway
# (register, login, a query across every subgraph, a notification made from events that went
# through NATS), reports image sizes, startup times and idle memory, and tears everything down.
#
# Works where no image registry is reachable (our machines): base images are then built locally
# — Debian bookworm by debootstrap, plus the Node binary of the npm package `node` (Node's own
# build), plus Debian's postgresql-15 and nats-server — and Docker runs without a bridge
# (dockerd --bridge=none --iptables=false --storage-driver=vfs), so docker/compose.local.yml puts
# every container on the host network. With a registry, VERIFY_LOCAL_BASE=0 uses the official images.
#
#   bash scripts/verify-containers.sh        (as root; takes 10–20 minutes the first time)
# Environment: VERIFY_WORKDIR (default /var/tmp/pooya-containers), VERIFY_KEEP=1 leaves the stack up,
# VERIFY_REUSE_IMAGES=1 uses the images an earlier run built instead of building them again.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${VERIFY_WORKDIR:-/var/tmp/pooya-containers}
node_version=$(cat .node-version)
local_base=${VERIFY_LOCAL_BASE:-1}
project=pooyaverify
mkdir -p "$work"
started_at=$(date +%s)
step() { printf '\n==> %s\n' "$*"; }
compose_files=(-f docker-compose.yml)
[ "$local_base" = 1 ] && compose_files+=(-f docker/compose.local.yml)
compose() { docker-compose -p "$project" --env-file "$work/verify.env" "${compose_files[@]}" "$@"; }
# Host networking publishes nothing: Debian's docker-compose (1.29) refuses `ports` with
# network_mode host, and an override file cannot remove them; so the merged configuration is
# written once without them and used from then on.
host_network_config() {
  docker-compose -p "$project" --env-file "$work/verify.env" -f docker-compose.yml -f docker/compose.local.yml config > "$work/compose.merged.yml"
  python3 -c 'import sys, yaml
config = yaml.safe_load(open(sys.argv[1]))
for service in config.get("services", {}).values():
    service.pop("ports", None)
yaml.safe_dump(config, open(sys.argv[2], "w"), sort_keys=False)' "$work/compose.merged.yml" "$work/compose.verify.yml"
  chmod 600 "$work/compose.merged.yml" "$work/compose.verify.yml" # they hold the generated passwords
  compose_files=(-f "$work/compose.verify.yml")
}

# What docker-compose.yml (generated from the registry) says: `databases`, the services that get
# a database and role; `built`, the services built from docker/Dockerfile; `build-args <service>`,
# its --build-arg options (its Dockerfile target is `service`).
compose_facts() {
  python3 - "$@" <<'PY'
import sys, yaml
services = yaml.safe_load(open("docker-compose.yml"))["services"]
what = sys.argv[1]
if what == "databases":
    print(services["postgres"]["environment"]["SERVICE_DATABASES"])
elif what == "built":
    print(" ".join(name for name, service in services.items() if "build" in service))
elif what == "build-args":
    args = services[sys.argv[2]]["build"]["args"]
    own = {key: value for key, value in args.items() if key not in ("NODE_IMAGE", "RUNTIME_IMAGE")}
    print(" ".join(f"--build-arg {key}={value}" for key, value in own.items()))
PY
}
built_services=$(compose_facts built)

step "Docker engine"
if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io docker-compose >/dev/null; }
  nohup dockerd --bridge=none --iptables=false --storage-driver=vfs >"$work/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
fi
docker info --format 'Docker {{.ServerVersion}}, storage {{.Driver}}'
command -v docker-compose >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }

# A Debian rootfs with `packages`, set up by `setup`, imported as `image` with `entrypoint` and
# `env` (skipped when the image exists).
debian_image() {
  local image=$1 packages=$2 setup=$3 entrypoint=${4:-} env=${5:-} dir="$work/rootfs-${1//[\/:]/-}"
  if docker image inspect "$image" >/dev/null 2>&1; then echo "$image: present"; return; fi
  command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  rm -rf "$dir" && mkdir -p "$dir"
  # No cluster, no service start at install time.
  mkdir -p "$dir/etc/postgresql-common/createcluster.d"
  echo "create_main_cluster = false" > "$dir/etc/postgresql-common/createcluster.d/no-main.conf"
  mkdir -p "$dir/usr/sbin" && printf '#!/bin/sh\nexit 101\n' > "$dir/usr/sbin/policy-rc.d" && chmod +x "$dir/usr/sbin/policy-rc.d"
  debootstrap --variant=minbase ${packages:+--include="$packages"} bookworm "$dir" http://deb.debian.org/debian >"$work/debootstrap-${image//[\/:]/-}.log" 2>&1
  eval "$setup"
  chroot "$dir" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node' 2>/dev/null || true
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/locale/* "$dir/usr/sbin/policy-rc.d"
  local changes=(--change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin' --change 'ENV LANG=C.UTF-8')
  [ -n "$entrypoint" ] && changes+=(--change "ENTRYPOINT $entrypoint")
  [ -n "$env" ] && changes+=(--change "ENV $env")
  tar -C "$dir" -c . | docker import "${changes[@]}" - "$image" >/dev/null
  rm -rf "$dir"
  echo "$image: built"
}

if [ "$local_base" = 1 ]; then
  step "Base images, built locally (debootstrap + Node ${node_version} from npm)"
  node_pkg="$work/node-${node_version}"
  [ -x "$node_pkg/node_modules/node/bin/node" ] || npm install --prefix "$node_pkg" --no-save --no-audit --no-fund "node@${node_version}" >/dev/null 2>&1
  npm_version=$(npm --version)
  [ -f "$work/npm-${npm_version}.tgz" ] || (cd "$work" && npm pack "npm@${npm_version}" >/dev/null 2>&1)
  add_node='install -m 0755 "'"$node_pkg"'/node_modules/node/bin/node" "$dir/usr/local/bin/node"'
  add_npm='mkdir -p "$dir/usr/local/lib/node_modules/npm" && tar -xzf "'"$work/npm-${npm_version}.tgz"'" -C "$dir/usr/local/lib/node_modules/npm" --strip-components=1 && ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dir/usr/local/bin/npm" && ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$dir/usr/local/bin/npx"'
  debian_image "pooya-local/node:${node_version}" "" "$add_node"
  # The build stage reaches the npm registry; this machine's own certificate authorities (an
  # egress proxy's, for instance) go into the build base so that it trusts what the host trusts.
  add_host_cas='cp /usr/local/share/ca-certificates/*.crt "$dir/usr/local/share/ca-certificates/" 2>/dev/null; chroot "$dir" update-ca-certificates >/dev/null 2>&1 || true'
  debian_image "pooya-local/node-build:${node_version}" "ca-certificates" "$add_node && $add_npm && $add_host_cas" "" "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt"
  add_entrypoint='install -m 0755 "'"$root"'/docker/local/postgres-entrypoint.sh" "$dir/usr/local/bin/docker-entrypoint.sh"'
  debian_image "pooya-local/postgres:15" "postgresql-15,postgresql-client-15" "$add_entrypoint" '["/usr/local/bin/docker-entrypoint.sh"]'
  debian_image "pooya-local/nats:2.9" "nats-server" "" '["/usr/sbin/nats-server"]'
  export NODE_IMAGE="pooya-local/node-build:${node_version}" RUNTIME_IMAGE="pooya-local/node:${node_version}"
  export POSTGRES_IMAGE="pooya-local/postgres:15" NATS_IMAGE="pooya-local/nats:2.9"
fi

step "Configuration (generated passwords, full of characters a URL cannot carry)"
password() { node -e 'console.log(require("crypto").randomBytes(18).toString("base64") + "/#@:%+")'; }
{
  echo "POSTGRES_PASSWORD=$(password)"
  for s in $(compose_facts databases); do echo "${s^^}_DB_PASSWORD=$(password)"; done
  echo "POOYA_ADMIN_EMAIL=admin@verify.example"
  echo "POOYA_ADMIN_PASSWORD=verify-admin-password"
} > "$work/verify.env"
chmod 600 "$work/verify.env"
[ "$local_base" = 1 ] && host_network_config

cleanup() {
  if [ "${VERIFY_KEEP:-0}" != 1 ]; then
    step "Tear down"
    compose down -v --remove-orphans >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
compose down -v --remove-orphans >/dev/null 2>&1 || true

step "Build the images"
build_started=$(date +%s)
for target in $built_services; do
  if [ "${VERIFY_REUSE_IMAGES:-0}" = 1 ] && docker image inspect "${project}_${target}" >/dev/null 2>&1; then
    echo "reusing ${project}_${target} ($(docker image inspect -f '{{.Created}}' "${project}_${target}"))"
    continue
  fi
  read -ra service_args <<< "$(compose_facts build-args "$target")"
  # No registry here means no Prisma CDN either: generate needs no engine, so the CLI is told not to fetch one.
  [ "$local_base" = 1 ] && wrap_network=(--network host --build-arg PRISMA_SCHEMA_ENGINE_BINARY=/usr/bin/false) || wrap_network=()
  docker build -q "${wrap_network[@]}" -f docker/Dockerfile --target service "${service_args[@]}" \
    --build-arg "NODE_IMAGE=${NODE_IMAGE:-node:24-bookworm-slim}" --build-arg "RUNTIME_IMAGE=${RUNTIME_IMAGE:-node:24-bookworm-slim}" \
    -t "${project}_${target}" . >/dev/null
  echo "built ${project}_${target}"
done
echo "images built in $(( $(date +%s) - build_started )) s"

step "Up"
up_started=$(date +%s)
compose up -d --no-build
services="postgres nats $built_services"
for _ in $(seq 1 180); do
  unhealthy=""
  for s in $services; do
    id=$(compose ps -q "$s")
    state=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null || echo missing)
    [ "$state" = healthy ] || unhealthy="$unhealthy $s:$state"
  done
  [ -z "$unhealthy" ] && break
  sleep 2
done
if [ -n "$unhealthy" ]; then
  echo "not healthy:$unhealthy"
  compose logs --tail 40
  exit 1
fi
echo "every container healthy $(( $(date +%s) - up_started )) s after 'up'"

step "Smoke test through the gateway"
node scripts/lib/smoke.mjs http://127.0.0.1:4000/graphql admin@verify.example verify-admin-password

step "Images"
docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^${project}_" | sort

step "Containers: time from start to ready, and idle memory"
sleep 10
for s in $built_services; do
  id=$(compose ps -q "$s")
  started=$(docker inspect -f '{{.State.StartedAt}}' "$id")
  # The whole log is read (grep -m1 would close the pipe early: SIGPIPE under pipefail).
  ready=$( { docker logs "$id" 2>&1 | grep '"msg":"'"$s"' ready"' || true; } | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s.split("\n")[0]).time)}catch{console.log("")}})')
  memory=$(docker stats --no-stream --format '{{.MemUsage}}' "$id" | cut -d/ -f1)
  if [ -n "$ready" ]; then
    took=$(node -e "console.log(Date.parse('$ready') - Date.parse('$started'))")
    echo "$s: ready ${took} ms after the container started; idle memory ${memory}"
  else
    echo "$s: idle memory ${memory}"
  fi
done

step "Graceful stop of one service (SIGTERM reaches Node as PID 1)"
stop_started=$(date +%s%N)
compose stop -t 15 food >/dev/null 2>&1
echo "food stopped in $(( ($(date +%s%N) - stop_started) / 1000000 )) ms, exit code $(docker inspect -f '{{.State.ExitCode}}' "$(compose ps -q food)")"

echo
echo "verify-containers: passed in $(( $(date +%s) - started_at )) s"
