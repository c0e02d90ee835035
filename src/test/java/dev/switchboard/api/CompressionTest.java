package dev.switchboard.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.Json;
import dev.switchboard.testing.TestServer;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

class CompressionTest {

    @Test
    void largeResponsesAreGzippedForClientsThatAcceptIt() throws Exception {
        try (TestServer server = TestServer.start()) {
            HttpRequest request = HttpRequest.newBuilder(URI.create(server.baseUrl() + "/api/v1/openapi.json"))
                    .header("Accept-Encoding", "gzip")
                    .build();
            HttpResponse<byte[]> response =
                    HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofByteArray());

            assertThat(response.headers().firstValue("Content-Encoding")).hasValue("gzip");
            String json = new String(
                    new GZIPInputStream(new ByteArrayInputStream(response.body())).readAllBytes(),
                    StandardCharsets.UTF_8);
            assertThat(Json.read(json).has("openapi")).isTrue();
        }
    }
}
