# Installs the AsyncAPI parser that AsyncApiTest validates the served AsyncAPI document with (npm's
# @asyncapi/parser, pinned in src/test/asyncapi/package-lock.json). Sourced by bin/test. Needs Node.js
# and npm: as root with apt-get (as in CI) it installs Debian's nodejs and npm when they are missing.
# Where that or npm ci cannot be done, it says so and AsyncApiTest's parser check is skipped, with the reason.

asyncapi_dir="$root/src/test/asyncapi"
if [ ! -d "$asyncapi_dir/node_modules/@asyncapi/parser" ]; then
  if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bin/test: the AsyncAPI check needs Node.js and npm; installing Debian's nodejs and npm packages..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null || \
      echo "bin/test: installing nodejs and npm failed (see above)." >&2
  fi
  if command -v npm >/dev/null 2>&1; then
    echo "bin/test: installing the AsyncAPI parser (npm ci in src/test/asyncapi)..." >&2
    (cd "$asyncapi_dir" && npm ci --silent --no-audit --no-fund) || \
      echo "bin/test: npm ci failed: AsyncApiTest's parser check will be skipped." >&2
  else
    echo "bin/test: no npm here: AsyncApiTest's parser check will be skipped. Install Node.js and npm to run it." >&2
  fi
fi
