package dev.switchboard.db;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives PostgreSQL statistics for the {@code records} table as soon as it holds data, instead of when
 * autovacuum first gets to it (a minute or more later; for a database restored from a dump or
 * upgraded with {@code pg_upgrade}, which carry no statistics, once enough rows change).
 *
 * <p>Without statistics the planner takes every equality as very selective, and then two indexes
 * that both contain a lookup's columns cost the same: {@code records.get} read a record through
 * {@code records_updated (tenant_pk, collection_pk, updated_at, id)}, scanning every record of the
 * collection to find one id, rather than through the primary key, and reads slowed with every record
 * written until the first analyze. One {@code ANALYZE} of a few hundred rows settles it, and
 * autovacuum keeps the statistics current from then on.
 *
 * <p>Only tables where no statistics at all mislead the planner are analyzed early ({@link #TABLES}).
 * The others are better left to autovacuum: analyzed this early, with {@code webhook_messages} holding
 * a few live rows among many dead ones, {@code events} and {@code webhook_messages} gave the delivery
 * step plans that touched 930 buffers per message instead of 29 (measured), until autovacuum analyzed
 * them again.
 *
 * <p>Every {@value #PERIOD_SECONDS} s this looks for those tables that hold at least {@value #MIN_BYTES}
 * bytes and were never analyzed nor vacuumed ({@code pg_class.reltuples < 0}) or have no column
 * statistics ({@code pg_stats}), and analyzes each at most once in the node's life: an analyze this
 * role may not run, or one that finds only dead rows (and so makes no statistics), is not repeated
 * every few seconds (one the database was unreachable for is). Several nodes doing it at once is harmless.
 */
public final class TableStatistics implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TableStatistics.class);
    static final int PERIOD_SECONDS = 10;
    /** Eight pages: below this a scan of the whole table is as cheap as any plan. */
    static final long MIN_BYTES = 65_536;
    /** The tables with two indexes that serve the same lookup equally well when nothing is known. */
    static final String[] TABLES = {"records"};

    private final DataSource dataSource;
    private final Set<String> analyzed = new HashSet<>();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("table-statistics").daemon().factory());

    public TableStatistics(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public void start() {
        scheduler.scheduleWithFixedDelay(this::runSafely, PERIOD_SECONDS, PERIOD_SECONDS, TimeUnit.SECONDS);
    }

    private void runSafely() {
        try {
            runOnce();
        } catch (RuntimeException e) {
            log.warn(
                    "Looking for tables without statistics failed ({}); retrying in {} s",
                    e.getMessage(),
                    PERIOD_SECONDS);
        }
    }

    /** Analyzes the tables that need it now; returns their names. */
    synchronized List<String> runOnce() {
        List<String> due = Jdbc.withConnection(
                        dataSource,
                        c -> Jdbc.query(
                                c,
                                "SELECT c.relname FROM pg_class c"
                                        + " WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(?)"
                                        + " AND pg_relation_size(c.oid) >= ? AND (c.reltuples < 0 OR NOT EXISTS ("
                                        + " SELECT 1 FROM pg_stats s WHERE s.schemaname = current_schema()"
                                        + " AND s.tablename = c.relname))"
                                        + " ORDER BY c.relname",
                                rs -> rs.getString(1),
                                TABLES,
                                MIN_BYTES))
                .stream()
                .filter(table -> !analyzed.contains(table))
                .toList();
        for (String table : due) {
            long started = System.nanoTime();
            try {
                Jdbc.withConnection(dataSource, c -> Jdbc.update(c, "ANALYZE " + quoted(table)));
                analyzed.add(table);
            } catch (DatabaseException e) {
                if (e.isUnavailable()) {
                    throw e; // this table and the rest: the next pass tries again
                }
                analyzed.add(table);
                log.warn(
                        "Analyzing table {} failed ({}); this node does not try again: run ANALYZE {} once, or"
                                + " wait for autovacuum to analyze it",
                        table,
                        e.getMessage(),
                        table);
                continue;
            }
            log.info(
                    "Analyzed table {} ({} ms): it held data but had no statistics yet, so PostgreSQL could pick"
                            + " slow plans for it; autovacuum keeps them current from now on",
                    table,
                    (System.nanoTime() - started) / 1_000_000);
        }
        return due;
    }

    private static String quoted(String identifier) {
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
