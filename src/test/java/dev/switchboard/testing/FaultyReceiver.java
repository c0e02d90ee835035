package dev.switchboard.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A receiver that misbehaves at the HTTP and TCP level, chosen by the request path: it hangs, resets
 * the connection, trickles its answer a byte at a time, streams an endless body, redirects in a loop
 * or to addresses webhooks must not reach (any target: {@link #redirectTo}), or answers 429 and 410. It records when each request
 * arrived, by path. Loopback only.
 */
public final class FaultyReceiver implements AutoCloseable {
    private final ServerSocket server;
    private final Map<String, List<Instant>> arrivals = new ConcurrentHashMap<>();
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private volatile boolean running = true;

    public FaultyReceiver() {
        try {
            server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        Thread.ofVirtual().start(this::accept);
    }

    public String url(String path) {
        return "http://127.0.0.1:" + server.getLocalPort() + path;
    }

    /** A URL that answers 307 to {@code target}. */
    public String redirectTo(String target) {
        return url("/redirect-to/" + java.net.URLEncoder.encode(target, StandardCharsets.UTF_8));
    }

    /** When requests to {@code path} arrived, in order. */
    public List<Instant> arrivals(String path) {
        return List.copyOf(arrivals.getOrDefault(path, List.of()));
    }

    private void accept() {
        while (running) {
            try {
                Socket socket = server.accept();
                open.add(socket);
                Thread.ofVirtual().start(() -> serve(socket));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            String path = readRequest(socket.getInputStream());
            arrivals.computeIfAbsent(path, p -> new CopyOnWriteArrayList<>()).add(Instant.now());
            OutputStream out = socket.getOutputStream();
            if (path.startsWith("/redirect-to/")) {
                String target =
                        java.net.URLDecoder.decode(path.substring("/redirect-to/".length()), StandardCharsets.UTF_8);
                respond(out, "307 Temporary Redirect", "Location: " + target + "\r\n");
                return;
            }
            switch (path) {
                case "/hang" -> socket.getInputStream().read(); // until the client gives up
                case "/reset" -> {
                    socket.setSoLinger(true, 0); // closing now sends RST
                    return;
                }
                case "/trickle" -> {
                    for (byte b : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII)) {
                        out.write(b);
                        out.flush();
                        Thread.sleep(150);
                    }
                }
                case "/huge" -> {
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    byte[] chunk = new byte[64 * 1024];
                    java.util.Arrays.fill(chunk, (byte) 'x');
                    for (int i = 0; i < 16_000; i++) { // up to 1 GB, until the client stops reading
                        out.write(chunk);
                    }
                }
                case "/loop" -> respond(out, "307 Temporary Redirect", "Location: /loop\r\n");
                case "/private" -> respond(out, "307 Temporary Redirect", "Location: http://10.0.0.1/hooks\r\n");
                case "/metadata" ->
                    respond(out, "308 Permanent Redirect", "Location: http://169.254.169.254/latest/meta-data/\r\n");
                case "/mapped" -> respond(out, "307 Temporary Redirect", "Location: http://[::ffff:7f00:2]/x\r\n");
                case "/busy" ->
                    respond(out, arrivals(path).size() == 1 ? "429 Too Many Requests" : "200 OK", "Retry-After: 1\r\n");
                case "/gone" -> respond(out, "410 Gone", "");
                default -> respond(out, "200 OK", "");
            }
        } catch (IOException e) {
            // the client went away: expected for most faults
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            open.remove(socket);
        }
    }

    private static void respond(OutputStream out, String status, String headers) throws IOException {
        out.write(("HTTP/1.1 " + status + "\r\n" + headers + "Content-Length: 0\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** Reads the request line, headers and body (by Content-Length); returns the path. */
    private static String readRequest(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            head.write(b);
            byte[] h = head.toByteArray();
            int n = h.length;
            if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') {
                break;
            }
        }
        String text = head.toString(StandardCharsets.US_ASCII);
        int length = 0;
        for (String line : text.split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        in.readNBytes(length);
        String[] requestLine = text.split("\r\n", 2)[0].split(" ");
        String target = requestLine.length > 1 ? requestLine[1] : "/";
        int query = target.indexOf('?');
        return query < 0 ? target : target.substring(0, query);
    }

    @Override
    public void close() {
        running = false;
        try {
            server.close();
        } catch (IOException e) {
            // closing
        }
        open.forEach(s -> {
            try {
                s.close();
            } catch (IOException e) {
                // closing
            }
        });
    }
}
