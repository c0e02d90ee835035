package dev.switchboard.store;

import dev.switchboard.support.Ids;
import dev.switchboard.support.Refusal;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.ToLongFunction;

/**
 * The cursor of a list in creation order: the id of the last item of the previous page, turned into
 * that item's primary key. An id that names none of the listed items is refused rather than taken as
 * none, which would start a client's paging over (and one that kept following it would never end).
 */
public final class PageCursor {
    private PageCursor() {}

    /**
     * The primary key to list after: 0 for no cursor (null or empty), else {@code pkOf}'s answer for it.
     *
     * @param what the kind of item, for the refusal ("tenant id", "endpoint id")
     */
    public static long after(String cursor, Function<String, Optional<Long>> pkOf, String what) {
        if (cursor == null || cursor.isEmpty()) {
            return 0;
        }
        return pkOf.apply(cursor)
                .orElseThrow(() -> new Refusal.InvalidField("cursor", "is not " + what + " this server returned"));
    }

    /**
     * As {@link #after(String, Function, String)}, for items the server names ({@code <prefix>_} and a
     * UUIDv7, which sorts by creation time) and that may be deleted while a client pages: a cursor whose
     * item is gone still names its place, and the list goes on after the last listed item whose id sorts
     * before it ({@code lastPkBefore}, given the id in its canonical form; 0 for none). Only text that is
     * not such an id is refused.
     */
    public static long after(
            String cursor,
            String prefix,
            Function<String, Optional<Long>> pkOf,
            ToLongFunction<String> lastPkBefore,
            String what) {
        if (cursor == null || cursor.isEmpty()) {
            return 0;
        }
        String id = Ids.parse(prefix, cursor)
                .map(uuid -> Ids.format(prefix, uuid))
                .orElseThrow(() -> new Refusal.InvalidField("cursor", "is not " + what + " this server returned"));
        return pkOf.apply(id).orElseGet(() -> lastPkBefore.applyAsLong(id));
    }
}
