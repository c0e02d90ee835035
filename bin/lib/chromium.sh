# Finds a headless browser for the browser tests (@Browser, such as ExamplePageTest). Sourced by bin/test.
# Looks the way HeadlessChromium does: CHROMIUM_PATH, else chromium (or Chrome) on PATH. When there is
# none, installs Debian's chromium if it can (root with apt-get, as in CI, where the browser tests must
# run); otherwise it says so and the browser tests are skipped, each with the reason.

find_chromium() {
  # An executable regular file, as HeadlessChromium checks: bash's "command -v" also prints a PATH entry
  # that is not executable when nothing else matches.
  local name dir IFS=:
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    for dir in $PATH; do
      if [ -n "$dir" ] && [ -f "$dir/$name" ] && [ -x "$dir/$name" ]; then
        echo "$dir/$name"
        return 0
      fi
    done
  done
  return 1
}

if [ -n "${CHROMIUM_PATH:-}" ]; then
  if [ ! -x "$CHROMIUM_PATH" ]; then
    echo "bin/test: CHROMIUM_PATH is $CHROMIUM_PATH, which is not an executable: the browser tests will fail." >&2
    echo "  Point it at a Chromium or Chrome binary, or unset it to skip them." >&2
  fi
elif found=$(find_chromium); then
  export CHROMIUM_PATH="$found"
elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "bin/test: the browser tests need Chromium, which is not installed; installing Debian's chromium package..." >&2
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
         DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; then
    echo "bin/test: installing chromium with apt-get failed (see above)." >&2
    exit 1
  fi
  export CHROMIUM_PATH=/usr/bin/chromium
  echo "bin/test: installed $("$CHROMIUM_PATH" --version 2>/dev/null)" >&2
else
  echo "bin/test: no Chromium here (CHROMIUM_PATH is unset and there is no chromium on PATH), and installing it" >&2
  echo "  needs root: the browser tests (ExamplePageTest) will be skipped. To run them, install Debian's chromium" >&2
  echo "  (apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary." >&2
fi
