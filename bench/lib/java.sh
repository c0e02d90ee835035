# Runs a Java benchmark of src/test/java/dev/switchboard/bench (never run by bin/test) with the test
# classpath, building first when the sources are newer than the last build. Sourced by bench scripts:
#   run_java_benchmark <name> <class> <time limit, e.g. 20m> <harness heap, e.g. 512m> [arguments...]
. "$root/bin/lib/jdk.sh"
. "$root/bin/lib/maven.sh"
cd "$root"

run_java_benchmark() {
  local name="$1" class="$2" limit="$3" heap="$4"
  shift 4
  local stamp=target/bench/built
  if [ ! -f "$stamp" ] || [ -n "$(find src client/src/main pom.xml -newer "$stamp" -print -quit)" ]; then
    echo "$name: building (Java $(java_major "$JAVA_HOME/bin/java") at $JAVA_HOME)" >&2
    mvn -q -B -Dstyle.color=never -DskipTests package
    mvn -q -B -Dstyle.color=never dependency:build-classpath -Dmdep.includeScope=test \
      -Dmdep.outputFile=target/bench/classpath
    touch "$stamp"
  fi
  local commit
  commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit="$commit+changes"
  fi
  # The harness keeps a small heap and a cheap collector: it shares the cores being measured.
  exec timeout --signal=TERM --kill-after=60 "$limit" \
    "$JAVA_HOME/bin/java" "-Xms$heap" "-Xmx$heap" -XX:+UseSerialGC \
    -cp "target/test-classes:target/classes:$(cat target/bench/classpath)" \
    "dev.switchboard.bench.$class" --root "$root" --commit "$commit" "$@"
}
