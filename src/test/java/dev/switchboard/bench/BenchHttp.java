package dev.switchboard.bench;

import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.client.transport.HttpClientTransportOverHTTP;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.ClientConnector;

/**
 * The harness's own HTTP client, for the setup, the open-loop GETs and the feed reader: one Jetty
 * HttpClient speaking HTTP/1.1 with keep-alive, with one selector thread, since the harness shares two
 * cores with the server and the database. Callers block on virtual threads.
 */
final class BenchHttp implements AutoCloseable {
    private final HttpClient client;
    private final String baseUrl;

    BenchHttp(String baseUrl) throws Exception {
        this.baseUrl = baseUrl;
        ClientConnector connector = new ClientConnector();
        connector.setSelectors(1);
        client = new HttpClient(new HttpClientTransportOverHTTP(connector));
        client.setMaxConnectionsPerDestination(512);
        client.setMaxRequestsQueuedPerDestination(8192);
        client.setFollowRedirects(false);
        client.setUserAgentField(null);
        client.start();
    }

    ContentResponse send(String method, String path, String token, String json) throws Exception {
        Request request = client.newRequest(baseUrl + path).method(method).timeout(30, TimeUnit.SECONDS);
        if (token != null) {
            request.headers(h -> h.put(HttpHeader.AUTHORIZATION, "Bearer " + token));
        }
        if (json != null) {
            request.body(new StringRequestContent("application/json", json));
        }
        return request.send();
    }

    /** Sends and returns the body, failing unless the answer has {@code status}. */
    String expect(int status, String method, String path, String token, String json) throws Exception {
        return checked(status, method, path, send(method, path, token, json)).getContentAsString();
    }

    /** Sends and fails unless the answer has {@code status}; the body is not decoded (a load request). */
    void call(int status, String method, String path, String token, String json) throws Exception {
        checked(status, method, path, send(method, path, token, json));
    }

    private static ContentResponse checked(int status, String method, String path, ContentResponse response) {
        if (response.getStatus() != status) {
            throw new IllegalStateException(method + " " + path + " answered " + response.getStatus() + " (expected "
                    + status + "): " + response.getContentAsString());
        }
        return response;
    }

    @Override
    public void close() {
        try {
            client.stop();
        } catch (Exception e) {
            throw new IllegalStateException("the HTTP client did not stop", e);
        }
    }
}
