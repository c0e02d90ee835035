# Finds Go for WebhookSnippetsTest, which compiles and runs the Go webhook-verification snippet of
# docs/webhook-verification.md against a real signed request. Sourced by bin/test. Switchboard needs no
# Go; only this test does. As root with apt-get (as in CI) it installs Debian's golang-go when go is
# missing; otherwise it says so and that test is skipped, with the reason.

if ! command -v go >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bin/test: the Go webhook snippet's test needs Go; installing Debian's golang-go package..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends golang-go >/dev/null || \
      echo "bin/test: installing golang-go failed (see above): the Go snippet's test will be skipped." >&2
  else
    echo "bin/test: no Go here: the Go snippet's test (WebhookSnippetsTest) will be skipped. Install Go to run it." >&2
  fi
fi
