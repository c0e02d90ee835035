package dev.switchboard.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** A small real HTTP client for the API: one token, optional tenant header, JSON in and out. */
public final class Api {
    private static final HttpClient CLIENT =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final String baseUrl;
    private final String token;
    private final String tenant;
    private final Map<String, String> headers;

    /** A client for any running server. */
    public static Api of(String baseUrl, String token) {
        return new Api(baseUrl, token, null);
    }

    Api(String baseUrl, String token, String tenant) {
        this(baseUrl, token, tenant, Map.of());
    }

    private Api(String baseUrl, String token, String tenant, Map<String, String> headers) {
        this.baseUrl = baseUrl;
        this.token = token;
        this.tenant = tenant;
        this.headers = headers;
    }

    /** The token this client sends. */
    public String token() {
        return token;
    }

    /** The same client sending one more header on every request. */
    public Api withHeader(String name, String value) {
        Map<String, String> more = new LinkedHashMap<>(headers);
        more.put(name, value);
        return new Api(baseUrl, token, tenant, more);
    }

    public Response get(String path) {
        return send("GET", path, null);
    }

    public Response delete(String path) {
        return send("DELETE", path, null);
    }

    public Response post(String path, Object body) {
        return send("POST", path, body instanceof String s ? s : Json.write(body));
    }

    public Response patch(String path, Object body) {
        return send("PATCH", path, body instanceof String s ? s : Json.write(body));
    }

    public Response send(String method, String path, String body) {
        HttpRequest.Builder b =
                HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(60));
        if (token != null) b.header("Authorization", "Bearer " + token);
        if (tenant != null) b.header("Switchboard-Tenant", tenant);
        headers.forEach(b::header);
        if (body != null) b.header("Content-Type", "application/json");
        b.method(
                method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        try {
            HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.headers(), r.body());
        } catch (IOException e) {
            throw new IllegalStateException(method + " " + path + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A response: status, headers, body; {@link #expect} fails with the body when the status is wrong. */
    public record Response(int status, java.net.http.HttpHeaders headers, String body) {
        public Response expect(int expected) {
            if (status != expected) {
                throw new AssertionError("expected HTTP " + expected + " but got " + status + ": " + body);
            }
            return this;
        }

        public JsonNode json() {
            return Json.read(body);
        }

        public String header(String name) {
            return headers.firstValue(name).orElse(null);
        }

        public String errorCode() {
            return json().path("error").path("code").asText();
        }
    }
}
