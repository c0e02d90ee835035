package dev.switchboard.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.Switchboard;
import dev.switchboard.config.Config;
import dev.switchboard.config.ConfigLoader;
import dev.switchboard.config.DatabaseUrl;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;

/** The real server on port 0, against its own test database, with a known admin key. */
public final class TestServer implements AutoCloseable {
    public static final String ADMIN_KEY = "sb_admin_test-admin-key-0123456789abcdef";

    private final Switchboard switchboard;
    private final DatabaseUrl database;
    public final Api admin;

    private TestServer(Switchboard switchboard, DatabaseUrl database) {
        this.switchboard = switchboard;
        this.database = database;
        this.admin = api(ADMIN_KEY);
    }

    public static TestServer start() {
        return start(TestDatabase.create(), Map.of(), InstantSource.system());
    }

    public static TestServer start(Map<String, String> env) {
        return start(TestDatabase.create(), env, InstantSource.system());
    }

    /** A server on the given database: a second node, or a restart. */
    public static TestServer start(DatabaseUrl database, Map<String, String> extraEnv, InstantSource clock) {
        Map<String, String> env = new HashMap<>();
        env.put("SWITCHBOARD_DATABASE_URL", database.jdbcUrl());
        env.put("SWITCHBOARD_ADMIN_KEY", ADMIN_KEY);
        env.put("SWITCHBOARD_PORT", "0");
        env.put("SWITCHBOARD_HOST", "127.0.0.1");
        env.put("SWITCHBOARD_DATABASE_POOL_SIZE", "8");
        env.putAll(extraEnv);
        Config config = ConfigLoader.load(Optional.<Path>empty(), env);
        Switchboard switchboard = new Switchboard(config, clock, key -> {}, env).start();
        return new TestServer(switchboard, database);
    }

    public DatabaseUrl database() {
        return database;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + switchboard.port();
    }

    public Switchboard switchboard() {
        return switchboard;
    }

    public Api api(String token) {
        return new Api(baseUrl(), token, null);
    }

    /** The admin key acting for a tenant. */
    public Api adminFor(String tenantId) {
        return new Api(baseUrl(), ADMIN_KEY, tenantId);
    }

    /** Creates a tenant, returning its id. */
    public String createTenant(String id) {
        return admin.post("/api/v1/tenants", Map.of("id", id, "name", id))
                .expect(201)
                .json()
                .get("id")
                .asText();
    }

    /**
     * Appends {@code count} events of {@code type} (empty data) to the tenant's log in one statement, the
     * stream's counter moved once: tens of thousands in a second, where as many appends one by one in one
     * transaction would each walk the counter row's versions so far.
     */
    public void appendEvents(String tenantId, String type, int count) {
        dev.switchboard.db.Jdbc.withConnection(switchboard.database().dataSource(), c -> {
            try (var insert = c.prepareStatement("WITH st AS (SELECT s.pk, s.last_seq FROM streams s"
                    + "   JOIN tenants t ON t.pk = s.tenant_pk WHERE t.id = ? FOR UPDATE OF s),"
                    + " appended AS (INSERT INTO events (stream_pk, seq, id, type, time, data)"
                    + "   SELECT st.pk, st.last_seq + g, (lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0')"
                    + "     || '7' || substr(md5(g || random()::text), 1, 19))::uuid, ?, now(), '{}'::jsonb"
                    + "   FROM st, generate_series(1, ?) g)"
                    + " UPDATE streams SET last_seq = streams.last_seq + ? FROM st WHERE streams.pk = st.pk")) {
                insert.setString(1, tenantId);
                insert.setString(2, type);
                insert.setInt(3, count);
                insert.setInt(4, count);
                insert.execute();
            }
            return null;
        });
    }

    public void createCollection(String name, Object... fieldsAndSchema) {
        Map<String, Object> body = new HashMap<>();
        body.put("name", name);
        for (int i = 0; i + 1 < fieldsAndSchema.length; i += 2) {
            body.put((String) fieldsAndSchema[i], fieldsAndSchema[i + 1]);
        }
        admin.post("/api/v1/collections", body).expect(201);
    }

    /** An integration with the given permissions and event types; returns its JSON (with clientKey). */
    public JsonNode createIntegration(
            String name, java.util.List<String> read, java.util.List<String> write, java.util.List<String> eventTypes) {
        return admin.post(
                        "/api/v1/integrations",
                        Map.of(
                                "name",
                                name,
                                "permissions",
                                Map.of("read", read, "write", write),
                                "eventTypes",
                                eventTypes))
                .expect(201)
                .json();
    }

    /** Connects an integration to a tenant; returns the connection JSON (with accessToken). */
    public JsonNode connect(String integrationId, String tenantId) {
        return admin.post("/api/v1/integrations/" + integrationId + "/connections", Map.of("tenantId", tenantId))
                .expect(201)
                .json();
    }

    /** A partner's access token with full rights on one tenant (see {@link Partner} for more than the token). */
    public String partnerToken(String tenantId) {
        return Partner.on(this, tenantId, java.util.List.of("*"), java.util.List.of("*"), java.util.List.of("*"))
                .accessToken();
    }

    /**
     * Ends the connections on which the nodes of this server's database listen for each other's notices,
     * as a restarted PostgreSQL or a proxy dropping idle connections would: each node misses what is sent
     * until it listens again (about a second later) and then resyncs.
     */
    public void endListeningConnections() throws java.sql.SQLException {
        try (java.sql.Connection c =
                        java.sql.DriverManager.getConnection(database().jdbcUrl());
                java.sql.Statement s = c.createStatement()) {
            s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    + " WHERE application_name = 'switchboard-listener'");
        }
    }

    /** The value of the first /metrics sample whose name and labels match {@code regex}; NaN when none does. */
    public double metric(String regex) {
        String text = api(null).get("/metrics").body();
        Matcher m = Pattern.compile("(?m)^" + regex + "\\s+([0-9.eE+-]+)$").matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    /** Reads of the log by GET /api/v1/events so far, on this node. */
    public double feedReads() {
        return metric("switchboard_events_feed_reads_total");
    }

    /**
     * Waits until a long poll sent to this node when {@link #feedReads} was {@code before} is waiting: it
     * has read twice, the second time after registering its wait, so any commit from now on wakes it.
     * Nothing else may read the feed on this node meanwhile.
     */
    public void awaitLongPollWaiting(double before) {
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(10))
                .until(() -> feedReads() - before >= 2);
    }

    @Override
    public void close() {
        switchboard.close();
    }
}
