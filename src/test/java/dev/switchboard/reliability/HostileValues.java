package dev.switchboard.reliability;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.UUID;

/**
 * What a hostile client sends: injection strings, unicode edge cases, numbers at and past every
 * limit, forged cursors, other parties' ids, malformed and oversized JSON. Values in {@code {{…}}} are
 * fixture symbols (another party's ids), resolved when the request is sent.
 */
final class HostileValues {
    private HostileValues() {}

    static final List<String> INJECTION = List.of(
            "' OR '1'='1",
            "'; DROP TABLE records; --",
            "1; SELECT pg_sleep(10) --",
            "\" OR \"\"=\"",
            "' UNION SELECT token_hash FROM connections --",
            "$$; DELETE FROM tenants; $$",
            "%' OR 1=1 --",
            "\\'; --",
            "$.data[?(@.marker)]",
            "$..*",
            "data->>'marker'",
            "{\"$gt\": \"\"}",
            "@.id",
            "*",
            "%",
            "_",
            "../../../../etc/passwd",
            "..",
            "${jndi:ldap://127.0.0.1/x}",
            "%s%n%x",
            "<script>alert(1)</script>");

    static final List<String> UNICODE = List.of(
            "\u0000",
            "a\u0000b",
            "\uD800",
            "x\uDC00",
            "\uDBFF\uDBFF",
            "\u202Eevil\u202C",
            "\u200B\u200C\u200D\uFEFF",
            "😀👩‍👩‍👧‍👦",
            "𝕏𝔸",
            "e\u0301\u0301\u0301",
            "\u2028\u2029\u0085",
            "ｒｅｃ＿",
            "١٢٣",
            "\t\n\r",
            " ",
            "",
            "\u007F\u0001\u001B[31m",
            "a".repeat(10_000),
            "😀".repeat(3_000),
            "\uFFFF\uFFFE");

    static final List<String> NUMBERS = List.of(
            "-1",
            "0",
            "1",
            "1000",
            "1001",
            "2147483647",
            "2147483648",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            "1e309",
            "1e99999999999", // an exponent BigDecimal cannot hold: Jackson's NumberFormatException was a 500
            "1e-2147483649",
            "1e3",
            "1.0",
            "1.5",
            "NaN",
            "Infinity",
            "0x10",
            "+1",
            " 5",
            "5 ",
            "０",
            "١");

    static final List<String> TIMES = List.of(
            "+1000000000-01-01T00:00:00Z",
            "-1000000000-01-01T00:00:00Z",
            "+294277-01-01T00:00:00Z",
            "-4714-11-24T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "2026-02-30T00:00:00Z",
            "2026-01-01T00:00:00+01:00",
            "2026-01-01",
            "now",
            "1970-01-01T00:00:00Z");

    /** Ids of the other party, and ids of the right shape that name nothing. */
    static final List<String> OTHER_IDS = List.of(
            "{{B.tenant}}",
            "{{B.integration}}",
            "{{B.connection}}",
            "{{B.record}}",
            "{{B.webhook}}",
            "{{B.message}}",
            "rec_zzzzzzzzzzzzzzzzzzzzzzzzzz",
            "rec_00000000000000000000000000",
            "msg_7zzzzzzzzzzzzzzzzzzzzzzzzz",
            "wh_00000000000000000000000000",
            "con_",
            "int_" + "9".repeat(200));

    /** Path segments sent exactly as written: malformed escapes and encoded bytes that are not text. */
    static final List<String> RAW_SEGMENTS = List.of(
            "%",
            "%zz",
            "%00",
            "a%00b",
            "%2F",
            "a%2Fb",
            "%2e%2e",
            "%C0%80",
            "%ED%A0%80",
            "%FF%FE",
            "%252F",
            ";x=1",
            "a;b=c",
            "%u0000",
            "%E2%80%AE",
            "%F0%9F%98%80",
            "%0d%0aX-Injected:%201");

    /** Header values; CR/LF and NUL are sent raw, as a hostile client can. */
    static final List<String> HEADER_ONLY = List.of(
            "W/\"1\"",
            "\"1",
            "W/",
            "\"\"",
            "1, 2",
            "-2147483649",
            "a".repeat(256),
            "a".repeat(20_000),
            "x\r\nX-Injected: 1",
            "\u00ff\u00fe",
            "é");

    static List<String> strings() {
        List<String> all = new ArrayList<>();
        all.addAll(INJECTION);
        all.addAll(UNICODE);
        all.addAll(NUMBERS);
        all.addAll(OTHER_IDS);
        return all;
    }

    /** Forged cursors: not base64, base64 of nonsense, and well-formed ones at the edges of time. */
    static List<String> cursors() {
        String uuid = UUID.randomUUID().toString();
        List<String> forged = new ArrayList<>(List.of(
                "!!!",
                "=",
                "a",
                "{{B.message}}",
                "{{B.webhook}}",
                "{{B.integration}}",
                "{{B.tenant}}",
                "{{B.record}}"));
        for (String raw : List.of(
                "i:not-a-uuid",
                "i:" + uuid,
                "u:99999999999999999999.0:" + uuid,
                "u:31556889864403199.999999999:" + uuid,
                "u:-31557014167219200.0:" + uuid,
                "u:9000000000000.0:" + uuid,
                "u:-300000000000.0:" + uuid,
                "u:1.-5:" + uuid,
                "u:1:" + uuid,
                "x",
                "i:",
                "u::",
                "\u0000")) {
            forged.add(Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8)));
        }
        return forged;
    }

    /** A random string of code points from the ranges parsers get wrong. */
    static String randomText(Random random) {
        int[][] ranges = {
            {0, 0x1F},
            {0x20, 0x7E},
            {0x80, 0xFF},
            {0x200B, 0x202E},
            {0xD800, 0xDFFF},
            {0xFFF0, 0xFFFF},
            {0x1F600, 0x1F64F},
            {0x10FFF0, 0x10FFFF}
        };
        StringBuilder text = new StringBuilder();
        int length = 1 + random.nextInt(random.nextInt(10) == 0 ? 5000 : 40);
        for (int i = 0; i < length; i++) {
            int[] range = ranges[random.nextInt(ranges.length)];
            text.appendCodePoint(range[0] + random.nextInt(range[1] - range[0] + 1));
        }
        return text.toString();
    }

    /** Bodies that are not the JSON they claim to be. */
    static final List<String> MALFORMED_JSON = List.of(
            "",
            " ",
            "{",
            "}",
            "{\"data\":",
            "{\"data\":{}",
            "{\"data\":{}}}",
            "{\"data\":{}} trailing",
            "{'data':{}}",
            "{data:{}}",
            "{\"data\":{},}",
            "[]",
            "[{\"data\":{}}]",
            "\"data\"",
            "42",
            "null",
            "true",
            "{\"data\":NaN}",
            "{\"data\":{\"x\":Infinity}}",
            "{\"data\":{\"x\":01}}",
            "{\"data\":{\"x\":.5}}",
            "{\"data\":{\"x\":1e999999}}",
            "{\"data\":{\"x\":1e99999999999}}",
            "{\"data\":{\"x\":\"\\u0000\"}}",
            "{\"data\":{\"x\":\"\\uD800\"}}",
            "{\"data\":{\"\\u0000\":1}}",
            "{\"data\":{\"x\":\"\\uDC00\\uD800\"}}",
            "/* c */{\"data\":{}}",
            "{\"data\":{}}\u0000",
            "\uFEFF{\"data\":{}}",
            "{\"data\":{\"x\":\"a\nb\"}}",
            "{\"data\":{},\"data\":{}}",
            "{\"data\":{\"x\":\"\\q\"}}",
            "{\"data\":{\"x\":1" + "0".repeat(2000) + "}}",
            "{\"data\":{\"x\":\"" + "\\u".repeat(3) + "\"}}");

    /** Bodies with bytes that are not UTF-8 (overlong NUL, an encoded surrogate, a cut sequence, stray bytes). */
    static List<byte[]> invalidUtf8() {
        List<byte[]> bodies = new ArrayList<>();
        for (byte[] bad : new byte[][] {
            {(byte) 0xC0, (byte) 0x80},
            {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
            {(byte) 0xE2, (byte) 0x82},
            {(byte) 0xFF, (byte) 0xFE},
            {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80}
        }) {
            byte[] head = "{\"data\":{\"x\":\"".getBytes(StandardCharsets.US_ASCII);
            byte[] tail = "\"}}".getBytes(StandardCharsets.US_ASCII);
            byte[] body = new byte[head.length + bad.length + tail.length];
            System.arraycopy(head, 0, body, 0, head.length);
            System.arraycopy(bad, 0, body, head.length, bad.length);
            System.arraycopy(tail, 0, body, head.length + bad.length, tail.length);
            bodies.add(body);
        }
        return bodies;
    }

    /** {"data": …} nested {@code depth} levels deep in objects or arrays. */
    static String nested(int depth, boolean arrays) {
        StringBuilder json = new StringBuilder("{\"data\":{\"n\":");
        json.append((arrays ? "[" : "{\"a\":").repeat(depth)).append('1').append((arrays ? "]" : "}").repeat(depth));
        return json.append("}}").toString();
    }

    /** Wrong-typed JSON values for a field of the given OpenAPI type. */
    static List<String> wrongTypes(String type) {
        return switch (type) {
            case "string" ->
                List.of("0", "-1", "1.5", "true", "[]", "[\"x\"]", "{}", "{\"a\":1}", "1e400", "12345678901234567890");
            case "integer" ->
                List.of(
                        "\"1\"",
                        "1.5",
                        "1e2",
                        "-1",
                        "0",
                        "1001",
                        "2147483648",
                        "9223372036854775808",
                        "1e400",
                        "-1e400",
                        "true",
                        "[]",
                        "{}",
                        "\"NaN\"");
            case "array" ->
                List.of(
                        "\"x\"",
                        "1",
                        "{}",
                        "true",
                        "[1]",
                        "[null]",
                        "[[]]",
                        "[{}]",
                        "[\"\\u0000\"]",
                        "[" + "\"a\",".repeat(1500) + "\"a\"]");
            case "object" ->
                List.of(
                        "\"x\"",
                        "1",
                        "[]",
                        "true",
                        "\"{}\"",
                        "{\"\":1}",
                        "{\"\\u0000\":1}",
                        "{\"n\":1e1001}",
                        "{\"n\":-1e-1001}",
                        "{\"n\":123456789012345678901234567890}",
                        "{\"n\":1e1000}",
                        "{\"__proto__\":{\"admin\":true}}");
            default -> List.of("\"x\"", "1", "[]", "{}");
        };
    }
}
