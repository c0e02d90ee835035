# Finds nginx for the rolling-restart scenario (RollingRestartTest), which puts three nodes behind it.
# Sourced by bin/reliability. Looks for NGINX_PATH, else nginx on PATH or in /usr/sbin. When there is none,
# installs Debian's nginx package if it can (root with apt-get, as in CI); otherwise it says so and the
# scenario is skipped with the reason. The scenario runs its own nginx process with its own configuration
# and never starts or changes the system's nginx service.

find_nginx() {
  local dir IFS=:
  for dir in $PATH /usr/sbin /usr/local/sbin; do
    if [ -n "$dir" ] && [ -f "$dir/nginx" ] && [ -x "$dir/nginx" ]; then
      echo "$dir/nginx"
      return 0
    fi
  done
  return 1
}

if [ -n "${NGINX_PATH:-}" ]; then
  if [ ! -x "$NGINX_PATH" ]; then
    echo "bin/reliability: NGINX_PATH is $NGINX_PATH, which is not an executable: the rolling-restart scenario will fail." >&2
  fi
elif found=$(find_nginx); then
  export NGINX_PATH="$found"
elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "bin/reliability: the rolling-restart scenario needs nginx, which is not installed; installing Debian's nginx package..." >&2
  # policy-rc.d refuses service starts while installing: the package's own nginx service must not take port 80.
  policy=/usr/sbin/policy-rc.d
  own_policy=false
  if [ ! -e "$policy" ]; then
    # Removed however the install ends: left behind, it would keep every later package's service from starting.
    trap 'rm -f "$policy"; exit 130' INT TERM
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    own_policy=true
  fi
  if DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null; then
    export NGINX_PATH=/usr/sbin/nginx
    echo "bin/reliability: installed $("$NGINX_PATH" -v 2>&1)" >&2
  else
    echo "bin/reliability: installing nginx with apt-get failed (see above): the rolling-restart scenario will be skipped." >&2
  fi
  if $own_policy; then
    rm -f "$policy"
    trap - INT TERM
  fi
else
  echo "bin/reliability: no nginx here (NGINX_PATH is unset and there is no nginx on PATH), and installing it needs" >&2
  echo "  root: the rolling-restart scenario will be skipped. To run it, install Debian's nginx package or set NGINX_PATH." >&2
fi
