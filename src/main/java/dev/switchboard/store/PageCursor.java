package dev.switchboard.store;

import dev.switchboard.support.Refusal;
import java.util.Optional;
import java.util.function.Function;

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
}
