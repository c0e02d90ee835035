package dev.switchboard.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a plain socket, one request per connection, for what ordinary clients refuse to
 * send: request targets with malformed escapes, header values with raw UTF-8 or control bytes, bodies
 * that are not valid UTF-8, chunked bodies of any size. The body is written on its own thread while
 * the response is read, so a server that answers early (413) and closes is still heard.
 */
public final class RawHttp {
    private static final int MAX_RESPONSE = 16 * 1024 * 1024;

    private RawHttp() {}

    /** A request exactly as it goes on the wire: the target is sent as given (UTF-8), header values too. */
    public record Request(
            String method, String target, List<Map.Entry<String, String>> headers, byte[] body, boolean chunked) {
        public Request {
            headers = List.copyOf(headers);
        }
    }

    /** A response; header names are lower case. */
    public record Response(int status, Map<String, List<String>> headers, byte[] body) {
        public String header(String name) {
            List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
            return values == null || values.isEmpty() ? null : values.getFirst();
        }

        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    public static Response send(String host, int port, Request request, Duration timeout) throws IOException {
        return send(host, port, null, request, timeout);
    }

    /** Sends from {@code localAddress} (any 127.x.y.z on Linux) when given, so a test can be another client address. */
    public static Response send(String host, int port, InetAddress localAddress, Request request, Duration timeout)
            throws IOException {
        try (Socket socket = new Socket()) {
            if (localAddress != null) {
                socket.bind(new InetSocketAddress(localAddress, 0));
            }
            socket.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
            socket.setSoTimeout((int) timeout.toMillis());
            OutputStream out = socket.getOutputStream();
            out.write(head(host, port, request));
            out.flush();
            Thread writer = Thread.ofVirtual().start(() -> writeBody(out, request));
            try {
                return read(socket.getInputStream(), request.method().equals("HEAD"));
            } finally {
                writer.interrupt();
            }
        }
    }

    private static byte[] head(String host, int port, Request request) {
        StringBuilder head = new StringBuilder(request.method())
                .append(' ')
                .append(request.target())
                .append(" HTTP/1.1\r\n");
        head.append("Host: ").append(host).append(':').append(port).append("\r\n");
        head.append("Connection: close\r\n");
        for (Map.Entry<String, String> h : request.headers()) {
            head.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
        }
        if (request.body() != null) {
            head.append(
                    request.chunked()
                            ? "Transfer-Encoding: chunked\r\n"
                            : "Content-Length: " + request.body().length + "\r\n");
        }
        return head.append("\r\n").toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void writeBody(OutputStream out, Request request) {
        byte[] body = request.body();
        if (body == null) {
            return;
        }
        try {
            if (!request.chunked()) {
                out.write(body);
            } else {
                for (int at = 0; at < body.length; at += 64 * 1024) {
                    int n = Math.min(64 * 1024, body.length - at);
                    out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(body, at, n);
                    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                }
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            out.flush();
        } catch (IOException e) {
            // The server answered and closed before reading it all (a 413): its answer is what counts.
        }
    }

    /** Reads one response from a connection the caller wrote a request to itself, leaving the stream after it. */
    public static Response read(InputStream in) throws IOException {
        return read(in, false);
    }

    private static Response read(InputStream in, boolean head) throws IOException {
        while (true) {
            String statusLine = line(in);
            if (statusLine == null) {
                throw new IOException("the connection closed before a response");
            }
            String[] parts = statusLine.split(" ", 3);
            int status = Integer.parseInt(parts[1]);
            Map<String, List<String>> headers = new LinkedHashMap<>();
            for (String line = line(in); line != null && !line.isEmpty(); line = line(in)) {
                int colon = line.indexOf(':');
                headers.computeIfAbsent(
                                line.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                        .add(line.substring(colon + 1).trim());
            }
            if (status / 100 == 1) {
                continue; // 100 Continue and the like: the real answer follows
            }
            if (head || status == 204 || status == 304) {
                return new Response(status, headers, new byte[0]);
            }
            List<String> encoding = headers.getOrDefault("transfer-encoding", List.of());
            List<String> length = headers.get("content-length");
            byte[] body = encoding.stream().anyMatch(e -> e.equalsIgnoreCase("chunked"))
                    ? chunked(in)
                    : length != null ? exactly(in, Integer.parseInt(length.getFirst())) : untilClosed(in);
            return new Response(status, headers, body);
        }
    }

    private static byte[] chunked(InputStream in) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String size = line(in);
            if (size == null) {
                throw new IOException("the chunked body broke off");
            }
            int n = Integer.parseInt(size.split(";")[0].trim(), 16);
            if (n == 0) {
                while (true) {
                    String trailer = line(in);
                    if (trailer == null || trailer.isEmpty()) {
                        return body.toByteArray();
                    }
                }
            }
            if (body.size() + n > MAX_RESPONSE) {
                throw new IOException("response larger than " + MAX_RESPONSE + " bytes");
            }
            body.write(exactly(in, n));
            line(in);
        }
    }

    private static byte[] exactly(InputStream in, int n) throws IOException {
        if (n > MAX_RESPONSE) {
            throw new IOException("response larger than " + MAX_RESPONSE + " bytes");
        }
        byte[] bytes = in.readNBytes(n);
        if (bytes.length < n) {
            throw new IOException("the body broke off after " + bytes.length + " of " + n + " bytes");
        }
        return bytes;
    }

    private static byte[] untilClosed(InputStream in) throws IOException {
        byte[] bytes = in.readNBytes(MAX_RESPONSE);
        if (in.read() >= 0) {
            throw new IOException("response larger than " + MAX_RESPONSE + " bytes");
        }
        return bytes;
    }

    /** One CRLF-terminated line (ISO-8859-1, as HTTP heads are), or null at the end of the stream. */
    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            if (b == '\n') {
                byte[] bytes = line.toByteArray();
                int end = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, end, StandardCharsets.ISO_8859_1);
            }
            line.write(b);
        }
        return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
    }
}
