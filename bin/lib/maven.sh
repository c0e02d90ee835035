# Makes sure Apache Maven (mvn) is on PATH. Sourced by the bin/ scripts and ./mvnw, after jdk.sh.
# Quick when it is there; installs Debian's maven package otherwise (needs root and apt-get), so a
# fresh machine of the kind CI runs on needs nothing installed by hand. Elsewhere it says what to do.

if ! command -v mvn >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "switchboard: building needs Apache Maven (mvn) on PATH, and it is not there." >&2
    echo "  Install it with your package manager (Debian/Ubuntu: apt-get install maven; macOS: brew install maven)," >&2
    echo "  then run this command again." >&2
    exit 1
  fi
  echo "switchboard: Maven is not installed; installing Debian's maven package..." >&2
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
         DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends maven >/dev/null; }; then
    echo "switchboard: installing maven with apt-get failed (see above)." >&2
    exit 1
  fi
  echo "switchboard: installed $(mvn -v 2>/dev/null | head -n 1)" >&2
fi
