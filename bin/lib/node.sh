# Makes sure Node.js is on PATH for WebhookSnippetsTest (it runs the Node snippet of
# docs/webhook-verification.md). Sourced by bin/test. Installs Debian's nodejs when it can (root with
# apt-get, as in CI); otherwise says so, and that test's Node case is skipped with the reason.
if ! command -v node >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bin/test: the webhook snippet test needs Node.js, which is not installed; installing Debian's nodejs..." >&2
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
           DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs >/dev/null; }; then
      echo "bin/test: installing nodejs failed (see above): the Node snippet check will be skipped." >&2
    fi
  else
    echo "bin/test: no Node.js here, and installing it needs root: the Node snippet check will be skipped." >&2
  fi
fi
