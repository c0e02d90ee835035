package dev.switchboard.webhooks;

import dev.switchboard.support.WholeNumbers;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP/1.1 connection to a receiver, used by one attempt at a time: it writes a request and reads
 * the answer's status, the few headers delivery acts on, and the body: a 2xx's to its end (a delivery is
 * a complete answer), any other's as far as {@value #MAX_BODY} bytes. The first
 * {@value WebhookSender#MAX_RESPONSE_BYTES} are kept. Every read waits only until the attempt's deadline.
 * Reading ends as soon as the answer is complete, so the connection can carry the next request; an
 * answer whose end is unknown or was not read ({@code Connection: close}, HTTP/1.0, a failure's long
 * body) leaves it unusable, and it is closed.
 *
 * <p>Blocking reads and writes on a virtual thread: the thread that sends the webhook is the one that
 * reads its answer, with no hand-off to selector or callback threads. That is most of what a request
 * costs on a busy node.
 */
final class WebhookConnection implements AutoCloseable {
    /** More than is kept, so that a receiver answering with a page of a few KiB keeps its connection. */
    static final int MAX_BODY = 4 * 1024;

    private static final int MAX_LINE = 8 * 1024;
    private static final int MAX_HEAD = 64 * 1024;

    private final Socket socket;
    /** The TCP socket under {@link #socket} (the same one for http). */
    private final Socket plain;

    private final InputStream in;
    private final OutputStream out;
    private final byte[] buffer = new byte[8 * 1024];
    private final byte[] body = new byte[MAX_BODY];
    private int bodyLength;
    private int position;
    private int limit;
    private long deadline;
    private boolean answerStarted;
    /** When this connection, idle, stops being worth reusing ({@link System#nanoTime()}). */
    long reusableUntil;

    /** {@code socket} talks to the receiver (over TLS for https) on {@code plain}, its TCP socket. */
    WebhookConnection(Socket socket, Socket plain) throws IOException {
        this.socket = socket;
        this.plain = plain;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** A response as far as delivery needs it. */
    record Answer(int status, String location, String retryAfter, String body, boolean reusable, long keepAliveNanos) {}

    /**
     * Sends {@code request} (head and body) and reads the answer, all before {@code deadlineNanos}.
     *
     * @throws SocketTimeoutException when the deadline passes first
     * @throws IOException when the connection breaks or the answer is not HTTP
     */
    Answer exchange(byte[] request, long deadlineNanos) throws IOException {
        deadline = deadlineNanos;
        answerStarted = false;
        // One write: one wake-up of the receiver, and no receiver ever sees a head without its body
        // (the benchmark's Jetty receiver answered some of those late or with 400).
        out.write(request);
        int status;
        Headers headers;
        do { // 1xx answers are interim: the real one follows
            String statusLine = line();
            status = statusLine(statusLine);
            headers = headers(statusLine.startsWith("HTTP/1.1"));
            if (status == 101) {
                // Another protocol follows, never an answer: waiting for one would only end at the deadline.
                throw new IOException("101 Switching Protocols to a request that asked for no upgrade");
            }
        } while (status >= 100 && status < 200);
        bodyLength = 0;
        // A body that breaks off or does not end by the deadline is no complete answer: the attempt fails
        // whatever the status said, so a 200 cut short is sent again rather than taken as delivered.
        boolean complete = readBody(status, headers);
        String text = excerpt();
        // Bytes past the answer would be read as the next one's: such a connection is not reused.
        boolean reusable = complete && headers.http11 && !headers.close && position == limit;
        return new Answer(status, headers.location, headers.retryAfter, text, reusable, headers.keepAliveNanos);
    }

    /** What an attempt keeps of the body read: its first bytes, cut before a character rather than inside one. */
    private String excerpt() {
        int kept = WebhookSender.MAX_RESPONSE_BYTES;
        int end = bodyLength;
        if (end > kept) {
            end = kept;
            while (end > kept - 3 && (body[end] & 0xC0) == 0x80) { // a UTF-8 continuation byte
                end--;
            }
        }
        return new String(body, 0, end, StandardCharsets.UTF_8);
    }

    /**
     * Whether the receiver sent something since the last answer ended: an answer to no request (which
     * the next request would read as its own), or a TLS close. Either way the connection is done with.
     */
    boolean spokeWhileIdle() {
        try {
            return plain.getInputStream().available() > 0 || (socket != plain && in.available() > 0);
        } catch (IOException e) {
            return true;
        }
    }

    /** Whether any byte of an answer arrived: a request that failed before then may not have reached the receiver. */
    boolean answerStarted() {
        return answerStarted;
    }

    /** The TCP socket, which {@link WebhookConnections} watches for the attempt's deadline. */
    Socket plain() {
        return plain;
    }

    /**
     * Ends the connection at once, from any thread: an attempt blocked on it fails. The TCP socket goes
     * first: a TLS socket's own close waits for the lock its blocked writer holds (to send its closing
     * alert), so closing it first would block as long as the receiver does not read.
     */
    @Override
    public void close() {
        try {
            plain.close();
            socket.close();
        } catch (IOException e) {
            // closing: nothing more to read or write
        }
    }

    boolean closed() {
        return plain.isClosed();
    }

    private static int statusLine(String line) throws IOException {
        // HTTP/1.1 200 OK: three digits, then a space or the end of the line
        if (!line.startsWith("HTTP/1.") || line.length() < 12 || line.charAt(8) != ' ') {
            throw new IOException("not an HTTP/1.x answer: " + abbreviate(line));
        }
        long status = digits(line.substring(9, 12));
        if (status < 100 || status > 599 || (line.length() > 12 && line.charAt(12) != ' ')) {
            throw new IOException("not an HTTP status line: " + abbreviate(line));
        }
        return (int) status;
    }

    /** A decimal number of ASCII digits only (no sign, no other script's digits), or -1. */
    private static long digits(String text) {
        Long value = text.startsWith("-") ? null : WholeNumbers.parse(text);
        return value == null ? -1 : value;
    }

    private static final class Headers {
        boolean http11;
        boolean chunked;
        boolean close;
        long contentLength = -1;
        long keepAliveNanos = -1;
        String location;
        String retryAfter;
    }

    private Headers headers(boolean http11) throws IOException {
        Headers headers = new Headers();
        headers.http11 = http11;
        int size = 0;
        for (String line = line(); !line.isEmpty(); line = line()) {
            size += line.length();
            if (size > MAX_HEAD) {
                throw new IOException("answer headers larger than " + MAX_HEAD + " bytes");
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = line.substring(colon + 1).trim();
            switch (name) {
                case "content-length" -> {
                    headers.contentLength = digits(value);
                    if (headers.contentLength < 0) {
                        throw new IOException("invalid Content-Length: " + abbreviate(value));
                    }
                }
                case "transfer-encoding" ->
                    headers.chunked = value.toLowerCase(Locale.ROOT).endsWith("chunked");
                case "connection" ->
                    headers.close |= value.toLowerCase(Locale.ROOT).contains("close");
                case "keep-alive" -> headers.keepAliveNanos = keepAliveTimeout(value);
                case "location" -> headers.location = value;
                case "retry-after" -> headers.retryAfter = value;
                default -> {}
            }
        }
        return headers;
    }

    /** {@code Keep-Alive: timeout=5, max=1000}: how long the receiver keeps an idle connection, or -1. */
    static long keepAliveTimeout(String value) {
        for (String part : value.split(",")) {
            String[] pair = part.trim().split("=", 2);
            if (pair.length == 2 && pair[0].trim().equalsIgnoreCase("timeout")) {
                try {
                    return TimeUnit.SECONDS.toNanos(Math.max(0, Long.parseLong(pair[1].trim())));
                } catch (NumberFormatException e) {
                    return -1;
                }
            }
        }
        return -1;
    }

    /**
     * Reads the body, keeping its first {@value #MAX_BODY} bytes; true when all of it was read. A 2xx is read
     * to its end (at most {@value #MAX_DELIVERED_BODY} bytes, the rest dropped): only a complete answer is a
     * delivery, and one that broke off past what is kept (a receiver that crashed mid-answer) was taken for
     * one. Any other status fails the attempt whatever follows, so its body is read only as far as it is kept.
     */
    private boolean readBody(int status, Headers headers) throws IOException {
        if (status == 204 || status == 304) {
            return true;
        }
        boolean toTheEnd = status >= 200 && status < 300;
        if (headers.chunked) {
            return readChunked(status, toTheEnd);
        }
        if (headers.contentLength >= 0) {
            keep(Math.min(headers.contentLength, MAX_BODY));
            if (headers.contentLength <= MAX_BODY) {
                return true;
            }
            if (!toTheEnd) {
                return false;
            }
            refusePastTheLimit(status, headers.contentLength);
            skip(headers.contentLength - MAX_BODY);
            return true;
        }
        // The body ends when the connection does.
        while (bodyLength < MAX_BODY && (position < limit || fill())) {
            copy(MAX_BODY);
        }
        long read = bodyLength;
        while (toTheEnd && (position < limit || fill())) {
            read += limit - position;
            position = limit;
            refusePastTheLimit(status, read);
        }
        return false;
    }

    /** The most of a 2xx's body read to find its end: a webhook's answer is a short acknowledgement. */
    static final long MAX_DELIVERED_BODY = 1024 * 1024;

    private void refusePastTheLimit(int status, long bodyBytes) throws OversizedAnswer {
        if (bodyBytes > MAX_DELIVERED_BODY) {
            throw new OversizedAnswer(status, excerpt());
        }
    }

    /**
     * A 2xx whose body runs past {@link #MAX_DELIVERED_BODY}: not a delivery, since it is not read to its
     * end, though its status and first bytes arrived, and the attempt shows them.
     */
    static final class OversizedAnswer extends IOException {
        /** What arrived of it, as any answer: the connection is not reused. */
        final Answer answer;

        OversizedAnswer(int status, String excerpt) {
            super("a " + status + " answer whose body is over " + MAX_DELIVERED_BODY
                    + " bytes: only a complete answer is a delivery, and one this long is not read to its end");
            this.answer = new Answer(status, null, null, excerpt, false, -1);
        }
    }

    /** Reads and drops exactly {@code count} more bytes of the body. */
    private void skip(long count) throws IOException {
        while (count > 0) {
            if (position == limit && !fill()) {
                throw new EOFException("the answer ended before its body did");
            }
            int n = (int) Math.min(limit - position, count);
            position += n;
            count -= n;
        }
    }

    private boolean readChunked(int status, boolean toTheEnd) throws IOException {
        long total = 0;
        while (true) {
            String sizeLine = bodyLine();
            int semicolon = sizeLine.indexOf(';');
            long size;
            try {
                size = Long.parseLong((semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).trim(), 16);
            } catch (NumberFormatException e) {
                throw new IOException("invalid chunk size: " + abbreviate(sizeLine));
            }
            if (size < 0) {
                throw new IOException("invalid chunk size: " + abbreviate(sizeLine));
            }
            if (size == 0) {
                while (!bodyLine().isEmpty()) {} // trailers
                return true;
            }
            long kept = Math.min(size, MAX_BODY - bodyLength);
            if (kept < size && !toTheEnd) {
                keep(kept);
                return false;
            }
            if (toTheEnd && size > MAX_DELIVERED_BODY - total) { // never overflows: total is at most the limit
                // Refused at its size line, showing what has arrived of it: a receiver declaring a huge chunk
                // and then stalling is not waited for.
                copy(bodyLength + (int) Math.min(kept, limit - position));
                throw new OversizedAnswer(status, excerpt());
            }
            total += size;
            keep(kept);
            skip(size - kept);
            if (!bodyLine().isEmpty()) {
                throw new IOException("a chunk longer than its size");
            }
        }
    }

    /** A line of a chunked body: the answer ending there ended inside its body, not its headers. */
    private String bodyLine() throws IOException {
        try {
            return line();
        } catch (EOFException e) {
            throw new EOFException("the answer ended before its body did");
        }
    }

    /** Reads exactly {@code count} more bytes of the body. */
    private void keep(long count) throws IOException {
        int end = bodyLength + (int) count;
        while (bodyLength < end) {
            if (position == limit && !fill()) {
                throw new EOFException("the answer ended before its body did");
            }
            copy(end);
        }
    }

    /** Moves what the buffer holds of the body into it, up to {@code end} bytes of body in all. */
    private void copy(int end) {
        int n = Math.min(limit - position, end - bodyLength);
        System.arraycopy(buffer, position, body, bodyLength, n);
        position += n;
        bodyLength += n;
    }

    private String line() throws IOException {
        StringBuilder line = new StringBuilder(64);
        while (true) {
            if (position == limit && !fill()) {
                throw new EOFException(
                        answerStarted ? "the answer ended in its headers" : "the connection closed without an answer");
            }
            byte b = buffer[position++];
            if (b == '\n') {
                int end = line.length();
                if (end > 0 && line.charAt(end - 1) == '\r') {
                    line.setLength(end - 1);
                }
                return line.toString();
            }
            if (line.length() >= MAX_LINE) {
                throw new IOException("an answer line longer than " + MAX_LINE + " bytes");
            }
            line.append((char) (b & 0xff));
        }
    }

    /** Reads more into the buffer, waiting at most until the deadline; false at the end of the stream. */
    private boolean fill() throws IOException {
        if (deadline - System.nanoTime() <= 0) {
            throw new SocketTimeoutException("deadline passed");
        }
        socket.setSoTimeout(millisUntil(deadline));
        int n = in.read(buffer, 0, buffer.length);
        if (n < 0) {
            return false;
        }
        answerStarted = true;
        position = 0;
        limit = n;
        return true;
    }

    /** A socket timeout that ends at {@code deadline} ({@link System#nanoTime()}): at least 1 ms, as 0 means none. */
    static int millisUntil(long deadline) {
        long millis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        return (int) Math.clamp(millis, 1, Integer.MAX_VALUE);
    }

    private static String abbreviate(String text) {
        return text.length() <= 80 ? text : text.substring(0, 80) + "…";
    }
}
