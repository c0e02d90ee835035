package dev.switchboard.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A WebSocket client on a plain socket, for behaviour no polite client library shows: a client that
 * never reads (slow consumer), never answers pings (dead peer), whose upgrade is refused (to read
 * the HTTP error the server sends instead), or that sends broken upgrades and frames (unmasked,
 * reserved bits and opcodes, lengths it never sends, stray continuations).
 */
public final class RawWebSocket implements AutoCloseable {
    /** Header bits and opcodes of a frame's first byte, for building frames a polite client never sends. */
    public static final int FIN = 0x80, RSV1 = 0x40, RSV2 = 0x20, RSV3 = 0x10;

    public static final int CONTINUATION = 0x0, TEXT = 0x1, BINARY = 0x2, CLOSE = 0x8, PING = 0x9, PONG = 0xA;

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    public final int status;
    public final String head;
    public final String body;

    private RawWebSocket(Socket socket, int status, String head, String body) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
        this.status = status;
        this.head = head;
        this.body = body;
    }

    /**
     * Sends the upgrade request ({@code pathAndQuery}, optional bearer token) and reads the response
     * head; for a refusal also the body. {@code receiveBuffer} bytes of kernel buffer (0: default).
     */
    public static RawWebSocket open(TestServer server, String pathAndQuery, String token, int receiveBuffer)
            throws IOException {
        List<String> headers = new ArrayList<>(upgradeHeaders());
        if (token != null) {
            headers.add("Authorization: Bearer " + token);
        }
        return open(server, "GET", pathAndQuery, headers, receiveBuffer);
    }

    /** The headers of a well-formed upgrade (Host, Upgrade, Connection, version, a fresh key), to break one of. */
    public static List<String> upgradeHeaders() {
        byte[] nonce = new byte[16];
        ThreadLocalRandom.current().nextBytes(nonce);
        return List.of(
                "Host: 127.0.0.1",
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Version: 13",
                "Sec-WebSocket-Key: " + Base64.getEncoder().encodeToString(nonce));
    }

    /**
     * Upgrades {@code /api/v1/ws} plus {@code query} as a browser would: Host as the server was addressed,
     * plus the given header lines. Returns "101", or the refusal's status and error code, after checking
     * that the error names its request and carries details, as every refusal does.
     */
    public static String browserUpgrade(TestServer server, String query, String... headers) throws IOException {
        List<String> all = new ArrayList<>(
                upgradeHeaders().stream().filter(h -> !h.startsWith("Host:")).toList());
        all.add("Host: " + server.baseUrl().substring("http://".length()));
        all.addAll(List.of(headers));
        try (RawWebSocket ws = open(server, "GET", "/api/v1/ws" + query, all, 0)) {
            if (ws.status == 101) {
                return "101";
            }
            JsonNode error = Json.read(ws.body).get("error");
            assertThat(error.get("requestId").asText()).startsWith("req_");
            assertThat(error.has("details")).isTrue();
            return ws.status + " " + error.get("code").asText();
        }
    }

    /** Sends exactly this request head (header lines as given, none added) and reads the answer as above. */
    public static RawWebSocket open(
            TestServer server, String method, String pathAndQuery, List<String> headers, int receiveBuffer)
            throws IOException {
        Socket socket = new Socket();
        if (receiveBuffer > 0) {
            socket.setReceiveBufferSize(receiveBuffer);
        }
        socket.connect(
                new InetSocketAddress(
                        "127.0.0.1", Integer.parseInt(server.baseUrl().replaceAll(".*:", ""))),
                5000);
        socket.setSoTimeout(20_000);
        try {
            String request = method + " " + pathAndQuery + " HTTP/1.1\r\n" + String.join("\r\n", headers) + "\r\n\r\n";
            socket.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
            InputStream in = socket.getInputStream();
            String head = readHead(in);
            int status = Integer.parseInt(head.split(" ", 3)[1]);
            String body = "";
            if (status != 101) {
                int length = head.lines()
                        .filter(l -> l.toLowerCase().startsWith("content-length:"))
                        .map(l -> Integer.parseInt(l.substring(15).trim()))
                        .findFirst()
                        .orElse(0);
                body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
            }
            return new RawWebSocket(socket, status, head, body);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("the server closed before answering the upgrade");
            }
            head.write(b);
            matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        return head.toString(StandardCharsets.US_ASCII);
    }

    /** A frame as read: its opcode and payload. */
    public record Frame(int opcode, byte[] payload) {
        public String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }

        /** The status code of a close frame. */
        public int closeCode() {
            return payload.length < 2 ? 1005 : ((payload[0] & 0xff) << 8) | (payload[1] & 0xff);
        }
    }

    /** Reads the next frame (blocking, up to the socket timeout). */
    public Frame read() throws IOException {
        int b0 = in.readUnsignedByte();
        int b1 = in.readUnsignedByte();
        long length = b1 & 0x7f;
        if (length == 126) {
            length = in.readUnsignedShort();
        } else if (length == 127) {
            length = in.readLong();
        }
        byte[] payload = new byte[(int) length];
        in.readFully(payload);
        return new Frame(b0 & 0x0f, payload);
    }

    /** Reads frames until a close frame, answering nothing; returns its code, or -1 when the socket just ended. */
    public int readUntilClose() throws IOException {
        try {
            while (true) {
                Frame f = read();
                if (f.opcode() == 0x8) {
                    return f.closeCode();
                }
            }
        } catch (EOFException | SocketException e) {
            return -1;
        }
    }

    public void sendText(String text) throws IOException {
        send(FIN | TEXT, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Sends one masked frame whose first byte is {@code finAndOpcode} (FIN, RSV bits, opcode). */
    public void send(int finAndOpcode, byte[] payload) throws IOException {
        sendRaw(frame(finAndOpcode, payload.length, payload, true));
    }

    /**
     * One frame exactly as described: a header announcing {@code declaredLength} bytes (which may be
     * more than follow, up to 2^63 - 1), masked or not, then {@code payload}.
     */
    public static byte[] frame(int finAndOpcode, long declaredLength, byte[] payload, boolean masked) {
        ByteArrayOutputStream frame = new ByteArrayOutputStream(payload.length + 14);
        frame.write(finAndOpcode);
        int maskBit = masked ? 0x80 : 0;
        if (declaredLength < 126) {
            frame.write(maskBit | (int) declaredLength);
        } else if (declaredLength <= 0xffff) {
            frame.write(maskBit | 126);
            frame.write((int) (declaredLength >>> 8));
            frame.write((int) (declaredLength & 0xff));
        } else {
            frame.write(maskBit | 127);
            for (int shift = 56; shift >= 0; shift -= 8) {
                frame.write((int) (declaredLength >>> shift));
            }
        }
        byte[] mask = new byte[4];
        if (masked) {
            ThreadLocalRandom.current().nextBytes(mask);
            frame.write(mask, 0, 4);
        }
        for (int i = 0; i < payload.length; i++) {
            frame.write(payload[i] ^ mask[i % 4]);
        }
        return frame.toByteArray();
    }

    /** Writes bytes as they are: frames built with {@link #frame}, or anything else. */
    public void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** Reads the next data or close frame, answering the server's pings on the way as a live client does. */
    public Frame readAnsweringPings() throws IOException {
        while (true) {
            Frame f = read();
            if (f.opcode() == PING) {
                send(FIN | PONG, f.payload());
            } else if (f.opcode() != PONG) {
                return f;
            }
        }
    }

    /** Stops waiting for the server after this long (the default is 20 s). */
    public void readTimeout(Duration timeout) throws SocketException {
        socket.setSoTimeout((int) timeout.toMillis());
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
