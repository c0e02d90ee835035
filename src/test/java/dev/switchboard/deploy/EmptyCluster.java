package dev.switchboard.deploy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * What {@code kubectl apply --dry-run=client} needs from a cluster, on loopback: there is no cluster on
 * this machine, and client-side dry run still asks the API server two things. Discovery (which API groups
 * and kinds exist, so it can map {@code apps/v1 Deployment} to {@code deployments}): answered with the
 * documents a Kubernetes API server gives for the three groups the manifests use, kept in {@code
 * src/test/resources/kubernetes/}. And the live object, to choose between create and patch: answered 404,
 * as an empty namespace would. Everything else is 404 too, so kubectl's own checks of the manifests
 * (parsing, kinds, versions, names) are what decide.
 */
final class EmptyCluster implements AutoCloseable {
    private static final Map<String, String> DISCOVERY = Map.of(
            "/api", "api.json",
            "/apis", "apis.json",
            "/api/v1", "api-v1.json",
            "/apis/apps/v1", "apis-apps-v1.json",
            "/apis/policy/v1", "apis-policy-v1.json");

    private final HttpServer server;

    EmptyCluster() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::answer);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void answer(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            String resource = DISCOVERY.get(path);
            if (resource != null && exchange.getRequestMethod().equals("GET")) {
                send(exchange, 200, read(resource));
                return;
            }
            send(
                    exchange,
                    404,
                    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"NotFound\","
                            + "\"message\":\"the server could not find the requested resource\",\"code\":404}");
        }
    }

    private static String read(String resource) throws IOException {
        try (InputStream in = EmptyCluster.class.getResourceAsStream("/kubernetes/" + resource)) {
            if (in == null) {
                throw new IOException("missing test resource kubernetes/" + resource);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static void send(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
