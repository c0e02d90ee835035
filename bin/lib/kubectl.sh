# Finds kubectl for KubernetesManifestsTest (kubectl apply --dry-run=client on deploy/kubernetes/). Sourced
# by bin/test. Uses KUBECTL, else a kubectl on PATH; where there is none, installs Debian's
# kubernetes-client if it can (root with apt-get, as in CI); otherwise says so and the test is skipped,
# with the reason.

if [ -n "${KUBECTL:-}" ]; then
  [ -x "$KUBECTL" ] || echo "bin/test: KUBECTL is $KUBECTL, which is not an executable: KubernetesManifestsTest will fail." >&2
elif command -v kubectl >/dev/null 2>&1; then
  :
elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "bin/test: KubernetesManifestsTest needs kubectl, which is not installed; installing Debian's kubernetes-client..." >&2
  if DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null; then
    echo "bin/test: installed $(kubectl version --client 2>/dev/null | head -n 1)" >&2
  else
    echo "bin/test: installing kubernetes-client failed (see above): KubernetesManifestsTest will be skipped." >&2
  fi
else
  echo "bin/test: no kubectl here, and installing it needs root: KubernetesManifestsTest's kubectl check will be" >&2
  echo "  skipped. To run it, install Debian's kubernetes-client (apt-get install kubernetes-client) or set KUBECTL." >&2
fi
