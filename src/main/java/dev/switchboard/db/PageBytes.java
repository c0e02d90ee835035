package dev.switchboard.db;

/**
 * Bounds a page by the bytes of its rows' data as well as by their number, in SQL: a page of a
 * thousand 1 MB records would otherwise be read into the server's memory whole. Rows are taken in
 * order while their data adds up to {@link #MAX} (always the first, so a reader makes progress), and
 * the first row past the bound comes back with its data null, which tells the caller that the page
 * stopped early and where it continues. The running sum reads the stored {@code data_bytes} column,
 * so the data of rows past the bound is never converted to text or sent.
 */
public final class PageBytes {
    /**
     * The data a page of records or events carries at most (beyond its first row): record list pages,
     * feed pages and the events a webhook message is built from.
     */
    public static final int MAX = 1024 * 1024;

    private PageBytes() {}

    /**
     * Wraps {@code rows}, a query selecting {@code columns}, {@code data} (jsonb) and {@code data_bytes},
     * ordered by {@code order} and limited, into one that returns {@code columns} and {@code data} as
     * text: null for the row that would take the page past {@code maxBytes}, and no rows after it.
     */
    public static String bounded(String columns, String rows, String order, int maxBytes) {
        if (maxBytes < 1) {
            throw new IllegalArgumentException("maxBytes must be positive: " + maxBytes);
        }
        String window = "OVER (ORDER BY " + order + " ROWS UNBOUNDED PRECEDING)";
        return "SELECT " + columns + ", CASE WHEN fits THEN data::text END AS data FROM ("
                + "SELECT p.*, row_number() " + window + " AS n,"
                + " (row_number() " + window + " = 1 OR sum(data_bytes) " + window + " <= " + maxBytes + ") AS fits,"
                + " sum(data_bytes) " + window + " - data_bytes AS before"
                + " FROM (" + rows + ") p) b"
                + " WHERE n <= 2 OR before <= " + maxBytes + " ORDER BY " + order;
    }
}
