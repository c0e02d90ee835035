# Switchboard from its distribution: build the tarball first, then the image.
#   bin/dist
#   docker build --build-arg VERSION=<version> -t switchboard:<version> .   # the <version> bin/dist printed
# The distribution carries its own Java runtime and this platform's PostgreSQL binaries, so the base needs
# only glibc, a shell and coreutils (Debian's slim image; BASE picks another with the same).
ARG BASE=debian:bookworm-slim
FROM ${BASE}
ARG VERSION

# The distribution's tarball, unpacked by ADD; /opt/switchboard does not change between versions.
ADD target/dist/switchboard-${VERSION}-linux-x64.tar.gz /opt/
RUN ln -s "/opt/switchboard-${VERSION}" /opt/switchboard \
 && mkdir -p /var/lib/switchboard \
 && chown 10001:10001 /var/lib/switchboard

# Not root: PostgreSQL refuses it, and a server has no need of it. A numeric user, so Kubernetes'
# runAsNonRoot can check it.
USER 10001:10001
WORKDIR /var/lib/switchboard
# The embedded PostgreSQL (a single node) keeps its data here; several nodes use SWITCHBOARD_DATABASE_URL.
VOLUME /var/lib/switchboard
ENV SWITCHBOARD_DATA_DIR=/var/lib/switchboard \
    SWITCHBOARD_JAVA_OPTS="-XX:MaxRAMPercentage=70"
# 8080: the API, console and sockets; 9090: the management port (/metrics, /health/*) when
# SWITCHBOARD_MANAGEMENT_PORT=9090, as the compose file and the Kubernetes manifests set it.
EXPOSE 8080 9090

# Ready: the database answers with this node's schema. bash's /dev/tcp, so the image needs no HTTP client.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${SWITCHBOARD_MANAGEMENT_PORT:-${SWITCHBOARD_PORT:-8080}} && printf 'GET /health/ready HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

# SIGTERM drains and stops the node; give it time (docker stop -t 60, stop_grace_period in compose).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/opt/switchboard/bin/switchboard"]
