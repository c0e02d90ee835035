package dev.switchboard.reliability;

import static dev.switchboard.testing.RawWebSocket.BINARY;
import static dev.switchboard.testing.RawWebSocket.CLOSE;
import static dev.switchboard.testing.RawWebSocket.CONTINUATION;
import static dev.switchboard.testing.RawWebSocket.FIN;
import static dev.switchboard.testing.RawWebSocket.PING;
import static dev.switchboard.testing.RawWebSocket.PONG;
import static dev.switchboard.testing.RawWebSocket.RSV1;
import static dev.switchboard.testing.RawWebSocket.RSV2;
import static dev.switchboard.testing.RawWebSocket.RSV3;
import static dev.switchboard.testing.RawWebSocket.TEXT;
import static dev.switchboard.testing.RawWebSocket.frame;

import dev.switchboard.support.Json;
import dev.switchboard.testing.RawWebSocket;
import dev.switchboard.testing.TestServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.LongSupplier;

/**
 * What a hostile or broken client does to {@code GET /api/v1/ws}, one socket a case, each with the
 * outcomes the README allows: an error message on a socket that stays open for a message the server
 * cannot act on, the documented close code for oversize (1009), binary (1003), floods (4102), protocol
 * (1002) and encoding (1007) errors and silent clients (4101, or 4104 for one silent inside a message), and
 * an HTTP refusal with the error JSON for a bad upgrade.
 */
final class WebSocketAttacks {
    static final String PATH = "/api/v1/ws";
    static final int MAX_MESSAGE = 64 * 1024;
    /** Client messages a socket may send in the README's window before it is closed with 4102. */
    static final int MESSAGES_PER_WINDOW = 100;
    /** Pages of other origins opening a socket with the visitor's AccessToken cookie (cross-site WebSocket hijacking). */
    static final String CROSS_SITE = "cross-site upgrade with the visitor's cookie";
    /** The server's own origin for the raw upgrades, whose Host is 127.0.0.1 (port 80 as far as the origin goes). */
    private static final String OWN_ORIGIN = "Origin: http://127.0.0.1";

    /** The attacker: its token, tokens that must be refused, and the other tenant whose position it tries. */
    record Attacker(
            TestServer server,
            String token,
            List<Refused> refusedTokens,
            LongSupplier otherTenantsHead,
            String otherTenant,
            HostileSocket.Seen seen) {}

    /** A token the upgrade must refuse with this status. */
    record Refused(String what, String token, int status) {}

    /** One hostile client; {@code expected} are the outcomes the README allows for it. */
    record Case(String group, String name, List<String> expected, Attack attack) {}

    @FunctionalInterface
    interface Attack {
        String run() throws IOException;
    }

    private final Attacker attacker;
    private final List<Case> cases = new ArrayList<>();

    private WebSocketAttacks(Attacker attacker) {
        this.attacker = attacker;
    }

    static List<Case> all(Attacker attacker) {
        WebSocketAttacks attacks = new WebSocketAttacks(attacker);
        attacks.malformedMessages();
        attacks.subscriptions();
        attacks.oversizeAndBinary();
        attacks.encodingAndFragments();
        attacks.protocolViolations();
        attacks.floods();
        attacks.silentClients();
        attacks.upgrades();
        attacks.crossSiteUpgrades();
        return List.copyOf(attacks.cases);
    }

    private void malformedMessages() {
        for (String text : List.of(
                "",
                " ",
                "not json",
                "{",
                "}",
                "{\"type\":\"ping\"",
                "{\"type\":\"ping\"}}",
                "{'type':'ping'}",
                "{type:ping}",
                "{\"type\":\"ping\",}",
                "/* c */{\"type\":\"ping\"}",
                "[]",
                "[{\"type\":\"ping\"}]",
                "42",
                "-1e999",
                "null",
                "true",
                "\"ping\"",
                "{\"type\":\"ping\",\"n\":1" + "0".repeat(2000) + "}",
                "[".repeat(20_000) + "]".repeat(20_000),
                "{\"type\":\"subscribe\",\"eventTypes\":[\"device.*\"],\"eventTypes\":[\"*\"]}",
                "{\"type\":\"ping\",\"x\":" + "{\"a\":".repeat(5_000) + "1" + "}".repeat(5_000) + "}")) {
            message("malformed JSON", text, "reply:error/malformed_message");
        }
        for (String text : List.of(
                "{}",
                "{\"type\":null}",
                "{\"type\":1}",
                "{\"type\":true}",
                "{\"type\":[\"ping\"]}",
                "{\"type\":{\"type\":\"ping\"}}",
                "{\"Type\":\"ping\"}",
                "{\"type\":\"ping\",\"extra\":1}",
                "{\"type\":\"ping\",\"x\":" + "[".repeat(Json.MAX_NESTING_DEPTH - 2)
                        + "]".repeat(Json.MAX_NESTING_DEPTH - 2) + "}",
                padded("{\"type\":\"ping\",\"pad\":\"", "\"}", MAX_MESSAGE))) {
            message("wrong shape", text, "reply:error/invalid_field");
        }
        List<String> types = new ArrayList<>(List.of(
                "dance",
                "PING",
                "Ping",
                " ping",
                "ping ",
                "events",
                "live",
                "pong",
                "error",
                "subscribed",
                "__proto__",
                "constructor",
                "a".repeat(59) + "😀",
                "x".repeat(60_000)));
        types.addAll(HostileValues.UNICODE);
        for (String type : types) {
            message("unknown type", Json.write(Map.of("type", type)), "reply:error/unknown_type");
        }
        for (String escaped : List.of("\\u0000", "\\uD800", "\\uDC00\\uD800", "\\uDBFF", "\\u202E", "\\uFFFF")) {
            message("unknown type", "{\"type\":\"" + escaped + "\"}", "reply:error/unknown_type");
        }
    }

    private void subscriptions() {
        List<String> bad = new ArrayList<>(List.of(
                "{\"type\":\"subscribe\"}",
                "{\"type\":\"subscribe\",\"eventTypes\":null}",
                "{\"type\":\"subscribe\",\"eventTypes\":\"device.*\"}",
                "{\"type\":\"subscribe\",\"eventTypes\":[]}",
                "{\"type\":\"subscribe\",\"eventTypes\":{}}",
                "{\"type\":\"subscribe\",\"eventTypes\":[1]}",
                "{\"type\":\"subscribe\",\"eventTypes\":[null]}",
                "{\"type\":\"subscribe\",\"eventTypes\":[[\"*\"]]}",
                "{\"type\":\"subscribe\",\"eventTypes\":[{\"$gt\":\"\"}]}",
                "{\"type\":\"subscribe\",\"eventTypes\":[\"\"]}",
                "{\"type\":\"subscribe\",\"eventTypes\":[\"Device Commands\"]}",
                "{\"type\":\"subscribe\",\"eventTypes\":[\"device..command\"]}",
                "{\"type\":\"subscribe\",\"eventTypes\":[\"**\"]}",
                "{\"type\":\"subscribe\",\"eventTypes\":[\"%\"]}",
                "{\"type\":\"subscribe\",\"eventTypes\":[\"device.*\"],\"tenant\":\"" + attacker.otherTenant() + "\"}",
                "{\"type\":\"subscribe\",\"eventTypes\":" + Json.write(Collections.nCopies(101, "device.*")) + "}",
                "{\"type\":\"subscribe\",\"eventTypes\":[\"" + "a".repeat(60_000) + "\"]}"));
        for (String value : HostileValues.UNICODE) {
            bad.add(Json.write(Map.of("type", "subscribe", "eventTypes", List.of(value))));
        }
        for (String value : HostileValues.INJECTION) {
            if (!value.equals("*")) { // the one injection string that is also a valid pattern
                bad.add(Json.write(Map.of("type", "subscribe", "eventTypes", List.of(value))));
            }
        }
        bad.forEach(text -> message("subscribe with a bad filter", text, "reply:error/invalid_field"));
        // Types the integration may not receive: narrowing keeps what it may, and what it may not never appears.
        for (String types : List.of(
                "[\"*\"]",
                "[\"device.*\"]",
                "[\"customers.*\",\"device.status\"]",
                "[\"device.command\",\"device.status\",\"connection.*\"]",
                "[\"reservations.created\",\"*\"]")) {
            message(
                    "subscribe beyond the integration's types",
                    "{\"type\":\"subscribe\",\"eventTypes\":" + types + "}",
                    "reply:subscribed");
        }
        for (String types :
                List.of("[\"device.status\"]", "[\"connection.*\"]", "[\"webhook.test\",\"device.status\"]")) {
            message(
                    "subscribe beyond the integration's types",
                    "{\"type\":\"subscribe\",\"eventTypes\":" + types + "}",
                    "reply:error/empty_subscription");
        }
        add(
                "subscribe beyond the integration's types",
                "narrow to device.command, then ask for * again",
                List.of("reply:subscribed reply:subscribed"),
                () -> {
                    try (HostileSocket socket = open()) {
                        socket.socket.sendText("{\"type\":\"subscribe\",\"eventTypes\":[\"device.command\"]}");
                        String first = socket.reply();
                        socket.socket.sendText("{\"type\":\"subscribe\",\"eventTypes\":[\"*\"]}");
                        return first + " " + socket.replyAndStillOpen();
                    }
                });
    }

    private void oversizeAndBinary() {
        message("oversized", padded("{\"type\":\"ping\",\"pad\":\"", "\"}", MAX_MESSAGE + 1), "close:1009");
        message(
                "oversized",
                padded("{\"type\":\"subscribe\",\"eventTypes\":[\"", "\"]}", 4 * MAX_MESSAGE),
                "close:1009");
        byte[] justOver = new byte[MAX_MESSAGE + 1];
        Arrays.fill(justOver, (byte) 'x');
        frames("oversized", "a frame of 64 KiB + 1", "close:1009", frame(FIN | TEXT, justOver.length, justOver, true));
        // Lengths of 4 GiB and more are refused from the frame header: the client need not send the bytes.
        for (long declared : List.of(1L << 32, 8L << 30, Long.MAX_VALUE)) {
            frames(
                    "oversized",
                    "a frame announcing " + declared + " bytes, then 10 of them",
                    "close:1009",
                    frame(FIN | TEXT, declared, new byte[10], true));
        }
        // RFC 6455 gives a length with the top bit set no meaning. Jetty takes what follows as a message (answered
        // like any other) and then, depending on how the bytes arrive, refuses the stream, refuses the length as
        // past the message limit, or waits for more, which the heartbeat ends: a documented close either way,
        // never a hang.
        silent(
                "oversized",
                "a frame whose 64-bit length has the top bit set",
                List.of("close:1002", "close:1009", "close:4101"),
                frame(FIN | TEXT, Long.MIN_VALUE, new byte[8], true));
        frames("binary", "a binary frame", "close:1003", frame(FIN | BINARY, 3, new byte[] {1, 2, 3}, true));
        frames("binary", "an empty binary frame", "close:1003", frame(FIN | BINARY, 0, new byte[0], true));
        frames(
                "binary",
                "a fragmented binary message",
                "close:1003",
                frame(BINARY, 2, new byte[] {1, 2}, true),
                frame(FIN | CONTINUATION, 1, new byte[] {3}, true));
        frames(
                "binary",
                "a binary message over the size limit",
                "close:1009",
                frame(FIN | BINARY, justOver.length, justOver, true));
    }

    private void encodingAndFragments() {
        for (byte[] bad : new byte[][] {
            {(byte) 0xC0, (byte) 0x80},
            {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
            {(byte) 0xE2, (byte) 0x82},
            {(byte) 0xFF, (byte) 0xFE},
            {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
            {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}
        }) {
            byte[] text = concat(utf8("{\"type\":\""), bad, utf8("\"}"));
            frames("invalid UTF-8", "text with " + hex(bad), "close:1007", frame(FIN | TEXT, text.length, text, true));
        }
        byte[] euro = utf8("{\"type\":\"€\"}");
        int cut = 10; // inside the three bytes of €: valid only when the fragments are joined
        frames(
                "fragments",
                "a character split across two fragments",
                "reply:error/unknown_type",
                frame(TEXT, cut, Arrays.copyOf(euro, cut), true),
                frame(FIN | CONTINUATION, euro.length - cut, Arrays.copyOfRange(euro, cut, euro.length), true));
        byte[] invalidEnd = concat(utf8("{\"type\":\"a"), new byte[] {(byte) 0xE2, (byte) 0x82});
        frames(
                "invalid UTF-8",
                "a message ending inside a character",
                "close:1007",
                frame(TEXT, 4, Arrays.copyOf(invalidEnd, 4), true),
                frame(
                        FIN | CONTINUATION,
                        invalidEnd.length - 4,
                        Arrays.copyOfRange(invalidEnd, 4, invalidEnd.length),
                        true));
        frames(
                "fragments",
                "a continuation with no message started",
                "close:1002",
                frame(FIN | CONTINUATION, 15, utf8(HostileSocket.PING), true));
        frames(
                "fragments",
                "a new text frame inside a fragmented message",
                "close:1002",
                frame(TEXT, 5, utf8("{\"typ"), true),
                frame(FIN | TEXT, 15, utf8(HostileSocket.PING), true));
        frames(
                "fragments",
                "a ping and a pong frame between the fragments of a message",
                "reply:pong",
                frame(TEXT, 8, utf8("{\"type\":"), true),
                frame(FIN | PING, 2, utf8("hi"), true),
                frame(FIN | PONG, 0, new byte[0], true),
                frame(FIN | CONTINUATION, 7, utf8("\"ping\"}"), true));
        ByteArrayOutputStream oneByteEach = new ByteArrayOutputStream();
        byte[] ping = utf8(HostileSocket.PING);
        for (int i = 0; i < ping.length; i++) {
            int opcode = (i == 0 ? TEXT : CONTINUATION) | (i == ping.length - 1 ? FIN : 0);
            oneByteEach.writeBytes(frame(opcode, 1, new byte[] {ping[i]}, true));
        }
        frames("fragments", "a message in one-byte fragments", "reply:pong", oneByteEach.toByteArray());
        // README: more than 4,000 frames in 10 s besides each message's last close the socket with 4102.
        frames("fragments", "3000 empty fragments before the message", "reply:pong", emptyFragmentsThenPing(3_000));
        frames("fragments", "5000 empty fragments before the message", "close:4102", emptyFragmentsThenPing(5_000));
        ByteArrayOutputStream endless = new ByteArrayOutputStream();
        byte[] kib = new byte[1024];
        Arrays.fill(kib, (byte) 'x');
        endless.writeBytes(frame(TEXT, 9, utf8("{\"type\":\""), true));
        for (int i = 0; i <= MAX_MESSAGE / kib.length; i++) {
            endless.writeBytes(frame(CONTINUATION, kib.length, kib, true));
        }
        frames("fragments", "fragments that never end, past the size limit", "close:1009", endless.toByteArray());
    }

    private static byte[] emptyFragmentsThenPing(int fragments) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(frame(TEXT, 0, new byte[0], true));
        for (int i = 1; i < fragments; i++) {
            out.writeBytes(frame(CONTINUATION, 0, new byte[0], true));
        }
        byte[] ping = utf8(HostileSocket.PING);
        out.writeBytes(frame(FIN | CONTINUATION, ping.length, ping, true));
        return out.toByteArray();
    }

    private void protocolViolations() {
        byte[] ping = utf8(HostileSocket.PING);
        frames("protocol", "an unmasked text frame", "close:1002", frame(FIN | TEXT, ping.length, ping, false));
        frames(
                "protocol",
                "an unmasked close frame",
                "close:1002",
                frame(FIN | CLOSE, 2, new byte[] {3, (byte) 0xE8}, false));
        for (int rsv : List.of(RSV1, RSV2, RSV3)) {
            frames(
                    "protocol",
                    "reserved bit " + Integer.toHexString(rsv) + " set",
                    "close:1002",
                    frame(FIN | rsv | TEXT, ping.length, ping, true));
        }
        for (int opcode : List.of(0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF)) {
            frames(
                    "protocol",
                    "reserved opcode " + Integer.toHexString(opcode),
                    "close:1002",
                    frame(FIN | opcode, 2, utf8("{}"), true));
        }
        frames("protocol", "a ping of 126 bytes", "close:1002", frame(FIN | PING, 126, new byte[126], true));
        frames("protocol", "a pong of 64 KiB", "close:1002", frame(FIN | PONG, 65_536, new byte[65_536], true));
        frames(
                "protocol",
                "a fragmented ping",
                "close:1002",
                frame(PING, 1, new byte[] {1}, true),
                frame(FIN | CONTINUATION, 1, new byte[] {2}, true));
        frames(
                "protocol",
                "a close frame with a one-byte body",
                "close:1002",
                frame(FIN | CLOSE, 1, new byte[] {3}, true));
        for (int code : List.of(0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535)) {
            frames(
                    "protocol",
                    "a close frame with code " + code,
                    "close:1002",
                    frame(FIN | CLOSE, 2, new byte[] {(byte) (code >>> 8), (byte) code}, true));
        }
        byte[] badReason = {3, (byte) 0xE8, (byte) 0xC0, (byte) 0x80};
        frames(
                "protocol",
                "a close frame whose reason is not UTF-8",
                "close:1007",
                frame(FIN | CLOSE, 4, badReason, true));
        frames("protocol", "a normal close", "close:1000", frame(FIN | CLOSE, 2, new byte[] {3, (byte) 0xE8}, true));
        frames(
                "protocol",
                "an unsolicited pong, then a message",
                "reply:pong",
                frame(FIN | PONG, 3, utf8("abc"), true),
                frame(FIN | TEXT, ping.length, ping, true));
        byte[] junk = new byte[1024];
        new Random(7).nextBytes(junk);
        junk[0] = (byte) (FIN | 0x3); // a reserved opcode, so the junk is refused at its first byte
        frames("protocol", "1 KiB of random bytes", "close:1002", junk);
    }

    private void floods() {
        flood("a ping message flood", HostileSocket.PING);
        flood("a subscribe flood", "{\"type\":\"subscribe\",\"eventTypes\":[\"device.command\"]}");
        flood("a flood of malformed messages", "{");
        add("flood", "2000 ping frames, then a message", List.of("reply:pong"), () -> {
            try (HostileSocket socket = open()) {
                ByteArrayOutputStream pings = new ByteArrayOutputStream();
                for (int i = 0; i < 2000; i++) {
                    pings.writeBytes(frame(FIN | PING, 4, utf8("ping"), true));
                }
                socket.sendQuietly(pings.toByteArray());
                socket.socket.sendText(HostileSocket.PING);
                return socket.replyAndStillOpen();
            }
        });
    }

    /** One more message than the window allows, in one write: every one before it answered, then 4102. */
    private void flood(String name, String text) {
        add("flood", name, List.of("close:4102 after " + MESSAGES_PER_WINDOW + " replies"), () -> {
            try (HostileSocket socket = open()) {
                byte[] payload = utf8(text);
                ByteArrayOutputStream burst = new ByteArrayOutputStream();
                for (int i = 0; i <= MESSAGES_PER_WINDOW; i++) {
                    burst.writeBytes(frame(FIN | TEXT, payload.length, payload, true));
                }
                socket.sendQuietly(burst.toByteArray());
                int[] replies = {0};
                String end = socket.untilClose(replies);
                return end + " after " + replies[0] + " replies";
            }
        });
    }

    /** Clients that start something and go quiet, answering no ping: the heartbeat closes them (4101). */
    private void silentClients() {
        byte[] some = new byte[10];
        List<String> pingTimeout = List.of("close:4101");
        // A client that stopped inside a text message (its bytes arrive as fragments) is closed by whichever
        // comes first: its ping's timeout, or the message's deadline (a heartbeat from its first fragment).
        List<String> pingTimeoutOrMessageIncomplete = List.of("close:4101", "close:4104");
        silent(
                "silent client",
                "a frame of 100 bytes, 10 sent, then silence",
                pingTimeoutOrMessageIncomplete,
                frame(FIN | TEXT, 100, some, true));
        silent(
                "silent client",
                "a frame of 64 KiB + 1, 10 bytes sent, then silence",
                pingTimeoutOrMessageIncomplete,
                frame(FIN | TEXT, MAX_MESSAGE + 1, some, true));
        // "GE" reads as the header of a frame with a reserved bit (RSV1) and a reserved opcode (7): Jetty
        // 12.1.12 refuses such a header at once with 1002; earlier versions waited for the whole 69-byte
        // frame, which never comes, until the ping timed out.
        silent(
                "silent client",
                "an HTTP request on the open socket",
                List.of("close:1002", "close:4101"),
                utf8("GET /api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        silent(
                "silent client",
                "a fragmented message never finished",
                pingTimeoutOrMessageIncomplete,
                frame(TEXT, 8, utf8("{\"type\":"), true));
        silent("silent client", "half a frame header", pingTimeout, new byte[] {(byte) (FIN | TEXT)});
        silent("silent client", "nothing at all", pingTimeout, new byte[0]);
    }

    /** Sends {@code bytes}, then reads to the close without answering pings. */
    private void silent(String group, String name, List<String> expected, byte[] bytes) {
        add(group, name, expected, () -> {
            try (HostileSocket socket = open()) {
                socket.sendQuietly(bytes);
                try {
                    int code = socket.socket.readUntilClose();
                    return code < 0 ? "ended" : "close:" + code;
                } catch (SocketTimeoutException e) {
                    return "no answer";
                }
            }
        });
    }

    private void upgrades() {
        String token = attacker.token();
        List<String> ok = RawWebSocket.upgradeHeaders();
        String auth = "Authorization: Bearer " + token;
        upgrade("no Sec-WebSocket-Key", "http:4xx", "GET", PATH, without(ok, "Sec-WebSocket-Key"), auth);
        for (String key : List.of("", "not base64!", "c2hvcnQ=", "A".repeat(200), "dGhlIHNhbXBsZSBub25jZQ==, second")) {
            upgrade(
                    "Sec-WebSocket-Key '" + HostileRequests.abbreviate(key) + "'",
                    "http:400",
                    "GET",
                    PATH,
                    replaced(ok, "Sec-WebSocket-Key", key),
                    auth);
        }
        upgrade("no Sec-WebSocket-Version", "http:4xx", "GET", PATH, without(ok, "Sec-WebSocket-Version"), auth);
        for (String version : List.of("8", "12", "14", "99999999999", "13, 8", "thirteen", "")) {
            upgrade(
                    "Sec-WebSocket-Version '" + version + "'",
                    "http:4xx",
                    "GET",
                    PATH,
                    replaced(ok, "Sec-WebSocket-Version", version),
                    auth);
        }
        // A handshake without "Upgrade: websocket" is no upgrade; Jetty's WebSocket servlet refuses its method.
        upgrade("no Upgrade header", "http:4xx", "GET", PATH, without(ok, "Upgrade"), auth);
        upgrade("Upgrade: h2c", "http:4xx", "GET", PATH, replaced(ok, "Upgrade", "h2c"), auth);
        upgrade("POST with an upgrade", "http:4xx", "POST", PATH, ok, auth, "Content-Length: 0");
        upgrade("no token", "http:401", "GET", PATH, ok);
        upgrade("an unknown token", "http:401", "GET", PATH, ok, "Authorization: Bearer sb_access_" + "0".repeat(40));
        upgrade("Basic credentials", "http:401", "GET", PATH, ok, "Authorization: Basic dXNlcjpwYXNz");
        upgrade("an empty bearer", "http:401", "GET", PATH, ok, "Authorization: Bearer ");
        upgrade("a 20 KB token", "http:431", "GET", PATH, ok, "Authorization: Bearer " + "a".repeat(20_000));
        for (String query : HostileValues.INJECTION.subList(0, 6)) {
            upgrade(
                    "access_token '" + query + "'",
                    "http:401",
                    "GET",
                    PATH + "?access_token=" + URLEncoder.encode(query, StandardCharsets.UTF_8),
                    ok);
        }
        // A malformed %-escape is refused as such (invalid_query) before the token is looked for.
        upgrade("access_token with a bad escape", "http:400", "GET", PATH + "?access_token=%zz", ok);
        for (Refused refused : attacker.refusedTokens()) {
            upgrade(
                    refused.what(),
                    "http:" + refused.status(),
                    "GET",
                    PATH,
                    ok,
                    "Authorization: Bearer " + refused.token());
            upgrade(
                    refused.what() + " in the cookie",
                    "http:" + refused.status(),
                    "GET",
                    PATH,
                    ok,
                    "Cookie: AccessToken=" + refused.token(),
                    OWN_ORIGIN);
        }
        // README: a Switchboard-Tenant header naming another tenant than the token's is 400 (invalid_header).
        upgrade(
                "another tenant named in Switchboard-Tenant, replaying from 0",
                "http:400",
                "GET",
                PATH + "?after=0",
                ok,
                auth,
                "Switchboard-Tenant: " + attacker.otherTenant());
        upgrade("replaying the tenant's whole log", "upgraded", "GET", PATH + "?after=0", ok, auth);
        add(
                "upgrade",
                "after = the other tenant's head",
                List.of("http:400"),
                () -> upgradeOutcome(
                        "GET", PATH + "?after=" + attacker.otherTenantsHead().getAsLong(), ok, List.of(auth)));
        for (String after : List.of(
                "9223372036854775807",
                "9223372036854775808",
                "99999999999999999999",
                "-1",
                "-9223372036854775808",
                "abc",
                "1e3",
                "0x10",
                "1.0",
                "%205",
                "%00",
                "")) {
            upgrade(
                    "after=" + after,
                    after.isEmpty() ? "upgraded" : "http:400",
                    "GET",
                    PATH + "?after=" + after,
                    ok,
                    auth);
        }
        // Other scripts' digits are digits to Java, but not to the README's "a whole number": "١" (Arabic-Indic)
        // and a fullwidth "１" are refused, as in the feed's ?after=.
        for (String one : List.of("%EF%BC%91", "%D9%A1")) {
            upgrade("after=" + one, "http:400", "GET", PATH + "?after=" + one, ok, auth);
        }
    }

    /**
     * A page on another site, a sibling host, another port or plain http opens the socket in a visitor's
     * browser, which attaches the AccessToken cookie: each must be refused before the upgrade (403), and
     * the server's own page must still get its socket.
     */
    private void crossSiteUpgrades() {
        List<String> ok = RawWebSocket.upgradeHeaders();
        String cookie = "Cookie: AccessToken=" + attacker.token();
        for (String origin : List.of(
                "https://evil.example",
                "http://evil.example",
                "http://127.0.0.1:8081",
                "https://127.0.0.1",
                "http://127.0.0.1.evil.example",
                "http://localhost",
                "null",
                "file://",
                "chrome-extension://abcdefghijklmnop",
                "http://127.0.0.1/",
                "http://127.0.0.1@evil.example",
                "HTTP://EVIL.EXAMPLE",
                "http://" + "a".repeat(5_000) + ".example")) {
            add(
                    CROSS_SITE,
                    "Origin '" + HostileRequests.abbreviate(origin) + "', replaying from 0",
                    List.of("http:403"),
                    () -> upgradeOutcome("GET", PATH + "?after=0", ok, List.of(cookie, "Origin: " + origin)));
        }
        add(
                CROSS_SITE,
                "no Origin, replaying from 0",
                List.of("http:403"),
                () -> upgradeOutcome("GET", PATH + "?after=0", ok, List.of(cookie)));
        add(
                CROSS_SITE,
                "two Origin headers, the first the server's own",
                List.of("http:403", "http:400"),
                () -> upgradeOutcome(
                        "GET", PATH + "?after=0", ok, List.of(cookie, "Origin: https://evil.example", OWN_ORIGIN)));
        add(
                CROSS_SITE,
                "X-Forwarded-Proto: https from a plain-http page",
                List.of("http:403"),
                () -> upgradeOutcome(
                        "GET", PATH + "?after=0", ok, List.of(cookie, OWN_ORIGIN, "X-Forwarded-Proto: https")));
        add(
                CROSS_SITE,
                "the server's own page",
                List.of("upgraded"),
                () -> upgradeOutcome("GET", PATH + "?after=0", ok, List.of(cookie, OWN_ORIGIN)));
    }

    private void message(String group, String text, String expected) {
        add(group, HostileRequests.abbreviate(text), List.of(expected), () -> {
            try (HostileSocket socket = open()) {
                // Quietly: the server may refuse an oversized message and close before all of it is written.
                byte[] utf8 = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                socket.sendQuietly(frame(FIN | TEXT, utf8.length, utf8, true));
                return socket.replyAndStillOpen();
            }
        });
    }

    private void frames(String group, String name, String expected, byte[]... frames) {
        add(group, name, List.of(expected), () -> {
            try (HostileSocket socket = open()) {
                for (byte[] f : frames) {
                    socket.sendQuietly(f);
                }
                return socket.replyAndStillOpen();
            }
        });
    }

    private void upgrade(
            String name, String expected, String method, String target, List<String> headers, String... more) {
        add("upgrade", name, List.of(expected), () -> upgradeOutcome(method, target, headers, List.of(more)));
    }

    /** {@code upgraded} (and answering a ping), or {@code http:<status>}; a refusal of ours must carry the error JSON. */
    private String upgradeOutcome(String method, String target, List<String> headers, List<String> more)
            throws IOException {
        List<String> all = new ArrayList<>(headers);
        all.addAll(more);
        RawWebSocket raw = RawWebSocket.open(attacker.server(), method, target, all, 0);
        if (raw.status == 101) {
            try (HostileSocket socket = new HostileSocket(raw, attacker.seen())) {
                socket.socket.sendText(HostileSocket.PING);
                String reply = socket.reply();
                return reply.equals("reply:pong") ? "upgraded" : "upgraded then " + reply;
            }
        }
        raw.close();
        return raw.body.contains("\"error\"") || !isSwitchboardRefusal(raw.status)
                ? "http:" + raw.status
                : "http:" + raw.status + " without the error JSON";
    }

    /** Statuses the route's own checks answer with; their body is the error JSON. */
    private static boolean isSwitchboardRefusal(int status) {
        return List.of(400, 401, 403, 426, 429).contains(status);
    }

    private HostileSocket open() throws IOException {
        RawWebSocket raw = RawWebSocket.open(attacker.server(), PATH, attacker.token(), 0);
        if (raw.status != 101) {
            raw.close();
            throw new IOException("the attacker's own upgrade was refused: " + raw.status + " " + raw.body);
        }
        return new HostileSocket(raw, attacker.seen());
    }

    private void add(String group, String name, List<String> expected, Attack attack) {
        cases.add(new Case(group, name, expected, attack));
    }

    /** Whether an outcome is one of the expected ones ({@code http:4xx} stands for any 4xx). */
    static boolean allowed(Case c, String outcome) {
        return c.expected().stream()
                .anyMatch(e -> e.equals(outcome)
                        || e.endsWith("xx")
                                && outcome.length() == e.length()
                                && outcome.startsWith(e.substring(0, e.length() - 2)));
    }

    private static List<String> without(List<String> headers, String name) {
        return headers.stream()
                .filter(h -> !h.regionMatches(true, 0, name + ":", 0, name.length() + 1))
                .toList();
    }

    private static List<String> replaced(List<String> headers, String name, String value) {
        List<String> result = new ArrayList<>(without(headers, name));
        result.add(name + ": " + value);
        return result;
    }

    /** A JSON text of exactly {@code size} bytes: {@code head}, x's, {@code tail}. */
    private static String padded(String head, String tail, int size) {
        return head + "x".repeat(size - head.length() - tail.length()) + tail;
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static String hex(byte[] bytes) {
        StringBuilder s = new StringBuilder();
        for (byte b : bytes) {
            s.append(String.format("%02X ", b));
        }
        return s.toString().trim();
    }
}
