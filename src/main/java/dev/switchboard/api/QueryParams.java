package dev.switchboard.api;

import dev.switchboard.support.Instants;
import dev.switchboard.support.Refusal;
import dev.switchboard.support.WholeNumbers;
import dev.switchboard.web.QueryStrings;
import io.javalin.http.Context;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** Query parameters read with a 400 that names the parameter when one is malformed. */
final class QueryParams {
    private QueryParams() {}

    /**
     * Refuses a query parameter not in {@code names}, or one given twice: on a filtered list, a misspelt filter
     * ({@code tenantid}) was ignored and the list answered unfiltered, which a script retrying or counting what it
     * lists cannot tell.
     */
    static void only(Context ctx, String... names) {
        QueryStrings.only(ctx, "a query parameter of this list", List.of(names), true);
    }

    /** A list's page size when none is asked for, and the largest one may ask for (the messages list's are its own). */
    static final int DEFAULT_LIMIT = 100;

    static final int MAX_LIMIT = 1000;

    static int limit(Context ctx) {
        return limit(ctx, DEFAULT_LIMIT, MAX_LIMIT);
    }

    static int limit(Long value) {
        return limit(value, DEFAULT_LIMIT, MAX_LIMIT);
    }

    static int limit(Context ctx, int defaultValue, int max) {
        return limit(longValue(ctx, "limit"), defaultValue, max);
    }

    /** A page size, wherever it came from (a query parameter, a WebSocket request's params). */
    static int limit(Long value, int defaultValue, int max) {
        if (value == null) {
            return defaultValue;
        }
        if (value < 1 || value > max) {
            throw new Refusal.InvalidField("limit", "must be between 1 and " + max);
        }
        return value.intValue();
    }

    /** The {@code cursor} a page was asked after; null when absent or empty (from the first). */
    static String cursor(Context ctx) {
        String cursor = ctx.queryParam("cursor");
        return cursor == null || cursor.isEmpty() ? null : cursor;
    }

    /**
     * A page of a list as JSON: its items under {@code name}, then the cursor to the next page, the last
     * item's id when the page is full (a page that is not has no next).
     */
    static <T> Map<String, Object> page(String name, List<T> items, int limit, Function<T, String> idOf) {
        return page(name, items, items.size() == limit ? idOf.apply(items.getLast()) : null);
    }

    static Map<String, Object> page(String name, List<?> items, String cursor) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put(name, items);
        json.put("cursor", cursor);
        return json;
    }

    static Long longValue(Context ctx, String name) {
        String text = ctx.queryParam(name);
        if (text == null || text.isEmpty()) {
            return null;
        }
        Long value = WholeNumbers.parse(text);
        if (value == null) {
            throw new Refusal.InvalidField(name, "'" + text + "' is not a whole number");
        }
        return value;
    }

    static Instant instant(Context ctx, String name) {
        String text = ctx.queryParam(name);
        if (text == null || text.isEmpty()) {
            return null;
        }
        return Instants.parse(text, name);
    }
}
