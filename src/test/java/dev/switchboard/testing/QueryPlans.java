package dev.switchboard.testing;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.db.Jdbc;
import dev.switchboard.support.Json;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.function.ToLongFunction;

/** How a query ran: for tests that bound the rows a statement reads, whatever the machine's speed. */
public final class QueryPlans {
    private QueryPlans() {}

    /**
     * {@code query}'s plan as it ran with {@code params}, with its row counts and the pages it read; what
     * it changed is rolled back, so {@code c} must be in autocommit (nothing of the caller's uncommitted).
     */
    public static JsonNode explain(Connection c, String query, Object... params) throws SQLException {
        if (!c.getAutoCommit()) {
            throw new IllegalStateException("explain rolls back its transaction: call it outside the caller's");
        }
        c.setAutoCommit(false);
        try (var s = Jdbc.prepare(c, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query, params)) {
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return Json.MAPPER.readTree(rs.getString(1));
            }
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("EXPLAIN gave no JSON", e);
        } finally {
            c.rollback();
            c.setAutoCommit(true);
        }
    }

    /**
     * The rows every node of a plan returned, over all its runs: the work of a part run again for each row
     * of another (a subquery joined in a loop) shows here when it reads its table only once (its sorted
     * input rescanned).
     */
    public static long rowsHandled(JsonNode plan) {
        return sum(
                plan,
                node -> node.has("Actual Rows")
                        ? loops(node) * node.path("Actual Rows").asLong()
                        : 0);
    }

    /** The rows of {@code table} a plan's scans looked at: those they returned and those they filtered out. */
    public static long rowsRead(JsonNode plan, String table) {
        return sum(
                plan,
                node -> table.equals(node.path("Relation Name").asText())
                        ? loops(node)
                                * (node.path("Actual Rows").asLong()
                                        + node.path("Rows Removed by Filter").asLong())
                        : 0);
    }

    private static long loops(JsonNode node) {
        return node.path("Actual Loops").asLong(1);
    }

    /** {@code perNode} summed over every node of the plan's tree. */
    private static long sum(JsonNode node, ToLongFunction<JsonNode> perNode) {
        long total = node.isObject() ? perNode.applyAsLong(node) : 0;
        for (JsonNode child : node) {
            total += sum(child, perNode);
        }
        return total;
    }
}
