# Finds a JDK 21 or newer and exports JAVA_HOME and PATH for it. Sourced by the bin/ scripts.
# Looks at $JAVA_HOME, then the java on PATH, then the JDKs under /usr/lib/jvm and /opt.

java_major() {
  # Prints the major version of the java binary $1 (17, 21, 25, ...), or nothing.
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}

find_jdk() {
  local candidates=() home major
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for home in /usr/lib/jvm/* /opt/java/* /opt/jdk*; do
    [ -d "$home" ] && candidates+=("$home")
  done
  for home in "${candidates[@]}"; do
    [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || continue
    major=$(java_major "$home/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 21 ]; then
      echo "$home"
      return 0
    fi
  done
  return 1
}

if ! SWITCHBOARD_JDK=$(find_jdk); then
  echo "switchboard: needs a JDK 21 or newer, and found none." >&2
  echo "  Looked at JAVA_HOME (${JAVA_HOME:-unset}), the java on PATH ($(command -v java || echo none)), /usr/lib/jvm and /opt." >&2
  echo "  Install a JDK 21+ (for example Temurin 21 or 25) and set JAVA_HOME to it." >&2
  exit 1
fi
export JAVA_HOME="$SWITCHBOARD_JDK"
export PATH="$JAVA_HOME/bin:$PATH"
# Maven's own libraries use sun.misc.Unsafe, which JDK 24+ warns about at every build.
if [ "$(java_major "$JAVA_HOME/bin/java")" -ge 24 ]; then
  export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
fi
