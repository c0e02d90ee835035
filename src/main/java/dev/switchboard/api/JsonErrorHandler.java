package dev.switchboard.api;

import dev.switchboard.support.Ids;
import dev.switchboard.web.HttpErrors;
import dev.switchboard.web.RequestIds;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's answer to requests that never reach the API because they are not valid HTTP: a header
 * with a control character, a target with a malformed escape, headers or a URI over Jetty's limits.
 * Jetty's own handler answers those with an HTML page (and with nothing for methods other than GET,
 * POST and HEAD); this one gives them the same error JSON and {@code Request-Id} as every other error.
 */
final class JsonErrorHandler extends ErrorHandler {

    @Override
    public boolean errorPageForMethod(String method) {
        return true;
    }

    @Override
    protected void generateResponse(
            Request request, Response response, int status, String message, Throwable cause, Callback callback) {
        String requestId = Ids.newId("req");
        String code = switch (status) {
            case 400 -> "malformed_request";
            case 413 -> "body_too_large";
            case 414 -> "uri_too_long";
            case 431 -> "headers_too_large";
            default -> "http_" + status;
        };
        String text = switch (status) {
            case 400 -> "the request is not valid HTTP" + (message == null ? "" : ": " + message);
            case 414 -> "the request target is longer than the server accepts";
            case 431 -> "the request headers are larger than the server accepts";
            default -> message == null ? "HTTP " + status : message;
        };
        response.getHeaders().put(RequestIds.HEADER, requestId);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put("X-Content-Type-Options", "nosniff");
        byte[] body = HttpErrors.json(code, text, requestId, null).getBytes(StandardCharsets.UTF_8);
        response.write(true, ByteBuffer.wrap(body), callback);
    }
}
