# Installs the parsers that AsyncApiTest and OpenApiContractTest validate the served documents with
# (npm's @asyncapi/parser and @readme/openapi-parser, pinned in src/test/api-documents/package-lock.json).
# Sourced by bin/test. Needs Node.js and npm: as root with apt-get (as in CI) it installs Debian's nodejs
# and npm when they are missing. Where that or npm ci cannot be done, it says so and the two tests' parser
# checks are skipped, with the reason.

api_documents_dir="$root/src/test/api-documents"
if [ ! -d "$api_documents_dir/node_modules/@asyncapi/parser" ] || \
   [ ! -d "$api_documents_dir/node_modules/@readme/openapi-parser" ]; then
  if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bin/test: the API documents' checks need Node.js and npm; installing Debian's nodejs and npm packages..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null || \
      echo "bin/test: installing nodejs and npm failed (see above)." >&2
  fi
  if command -v npm >/dev/null 2>&1; then
    echo "bin/test: installing the AsyncAPI and OpenAPI parsers (npm ci in src/test/api-documents)..." >&2
    (cd "$api_documents_dir" && npm ci --silent --no-audit --no-fund) || \
      echo "bin/test: npm ci failed: the API documents' parser checks will be skipped." >&2
  else
    echo "bin/test: no npm here: the API documents' parser checks will be skipped. Install Node.js and npm to run them." >&2
  fi
fi
