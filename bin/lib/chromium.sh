# Makes sure a headless browser is there for the browser test (ExamplePageTest): Debian's chromium.
# Sourced by bin/test. Quick when it is installed; installs it with apt-get otherwise (needs root).

if [ -z "${CHROMIUM_PATH:-}" ] && [ -x /usr/bin/chromium ]; then
  export CHROMIUM_PATH=/usr/bin/chromium
fi
if [ -z "${CHROMIUM_PATH:-}" ]; then
  echo "bin/test: the browser test needs Chromium, which is not installed; installing Debian's chromium package..." >&2
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "bin/test: cannot install it here (needs root and apt-get). Install chromium, or set CHROMIUM_PATH" >&2
    echo "  to a Chromium or Chrome binary, then run bin/test again." >&2
    exit 1
  fi
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
         DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; then
    echo "bin/test: installing chromium with apt-get failed (see above)." >&2
    exit 1
  fi
  export CHROMIUM_PATH=/usr/bin/chromium
  echo "bin/test: installed $("$CHROMIUM_PATH" --version 2>/dev/null)" >&2
fi
