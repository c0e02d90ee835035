package dev.switchboard;

import dev.switchboard.api.AdminRoutes;
import dev.switchboard.api.AuditRoutes;
import dev.switchboard.api.ConsoleApiRoutes;
import dev.switchboard.api.EventRoutes;
import dev.switchboard.api.HttpApi;
import dev.switchboard.api.OperationsRoutes;
import dev.switchboard.api.PortalLinkRoutes;
import dev.switchboard.api.Readiness;
import dev.switchboard.api.RecordRoutes;
import dev.switchboard.api.SocketOperations;
import dev.switchboard.api.WebhookRoutes;
import dev.switchboard.auth.Authenticator;
import dev.switchboard.auth.SlidingWindowRateLimiter;
import dev.switchboard.config.Config;
import dev.switchboard.config.ConfigException;
import dev.switchboard.config.WebSocketSettings;
import dev.switchboard.config.WebhookSettings;
import dev.switchboard.console.ConsolePages;
import dev.switchboard.console.ConsoleRoutes;
import dev.switchboard.db.Database;
import dev.switchboard.db.DatabaseException;
import dev.switchboard.db.TableStatistics;
import dev.switchboard.events.ControlChannel;
import dev.switchboard.events.ControlMessage.CollectionsChanged;
import dev.switchboard.events.ControlMessage.ConnectionChanged;
import dev.switchboard.events.ControlMessage.IntegrationChanged;
import dev.switchboard.events.ControlMessage.ManualMessageDue;
import dev.switchboard.events.ControlMessage.Resync;
import dev.switchboard.events.ControlMessage.WebhookChanged;
import dev.switchboard.events.EventLog;
import dev.switchboard.events.EventWakeups;
import dev.switchboard.events.Retention;
import dev.switchboard.events.StreamWaiters;
import dev.switchboard.store.AuditLog;
import dev.switchboard.store.CollectionStore;
import dev.switchboard.store.ConnectionStore;
import dev.switchboard.store.ConsoleSessionStore;
import dev.switchboard.store.IntegrationStore;
import dev.switchboard.store.RecordStore;
import dev.switchboard.store.ServerSecrets;
import dev.switchboard.store.TenantStore;
import dev.switchboard.support.Ids;
import dev.switchboard.support.SecretBox;
import dev.switchboard.support.Version;
import dev.switchboard.tracing.Tracing;
import dev.switchboard.web.RequestBodies;
import dev.switchboard.webhooks.AddressPolicy;
import dev.switchboard.webhooks.Deliverer;
import dev.switchboard.webhooks.DeliveryOverview;
import dev.switchboard.webhooks.DeliveryStats;
import dev.switchboard.webhooks.EndpointStore;
import dev.switchboard.webhooks.MessageLog;
import dev.switchboard.webhooks.StreamLeases;
import dev.switchboard.webhooks.WebhookDispatcher;
import dev.switchboard.webhooks.WebhookMessages;
import dev.switchboard.webhooks.WebhookMetrics;
import dev.switchboard.webhooks.WebhookSender;
import dev.switchboard.websockets.AccessWatch;
import dev.switchboard.websockets.LogGate;
import dev.switchboard.websockets.OperatorSessions;
import dev.switchboard.websockets.Resume;
import dev.switchboard.websockets.Sockets;
import dev.switchboard.websockets.StreamHub;
import dev.switchboard.websockets.WebSocketMetrics;
import dev.switchboard.websockets.WebSockets;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root: builds every part of a Switchboard node by hand, in the order data flows
 * (database → event log and control channel → stores → authentication → WebSockets and webhook
 * delivery → HTTP edge), and closes them in reverse. It is the one place that wires: components take
 * their parts, and it subscribes each to the wake-ups and control messages it acts on.
 */
public final class Switchboard implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Switchboard.class);

    private final Config config;
    private final InstantSource clock;
    private final Consumer<String> adminKeyAnnouncer;
    private final Map<String, String> environment;
    private final Deque<AutoCloseable> closeables = new ArrayDeque<>();
    /** How long a readiness answer is reused: probes may call as often as they like, the database sees one check a second. */
    private static final java.time.Duration READINESS_CACHE = java.time.Duration.ofSeconds(1);
    /** The management routes take no bodies. */
    private static final long MANAGEMENT_MAX_BODY = 1024;

    private HttpApi http;
    private HttpApi management;
    private Readiness readiness;
    private Database database;
    private WebSockets websockets;
    private DeliveryStats deliveryStats;

    public Switchboard(Config config) {
        this(config, InstantSource.system(), Switchboard::printAdminKey);
    }

    public Switchboard(Config config, InstantSource clock, Consumer<String> adminKeyAnnouncer) {
        this(config, clock, adminKeyAnnouncer, System.getenv());
    }

    /** {@code environment}: where the standard {@code OTEL_*} variables that configure tracing are read. */
    public Switchboard(
            Config config, InstantSource clock, Consumer<String> adminKeyAnnouncer, Map<String, String> environment) {
        this.config = config;
        this.clock = clock;
        this.adminKeyAnnouncer = adminKeyAnnouncer;
        this.environment = environment;
    }

    public Switchboard start() {
        long started = System.nanoTime();
        // A generated admin key is shown only once the node is ready: shown by a start that then failed
        // (a port in use), it would be in that start's output alone, and the next start shows none.
        AtomicReference<String> generatedAdminKey = new AtomicReference<>();
        ServerSecrets serverSecrets = null;
        try {
            PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            new JvmMemoryMetrics().bindTo(meters);
            new JvmThreadMetrics().bindTo(meters);
            new ProcessorMetrics().bindTo(meters);
            JvmGcMetrics gc = new JvmGcMetrics();
            gc.bindTo(meters);
            closeables.push(gc);

            // Off (no SDK at all) unless the OTEL_* variables ask for traces; closed last, after the last span.
            Tracing tracing;
            try {
                tracing = Tracing.fromEnvironment(environment, Version.current());
            } catch (io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException e) {
                // OTEL_EXPORTER_OTLP_PROTOCOL=grpc, say: the SDK's own message is in the cause ("No
                // GrpcSenderProvider").
                throw new ConfigException("the OTEL_* variables: " + e.getMessage()
                        + (e.getCause() == null ? "" : " (" + e.getCause().getMessage() + ")"));
            }
            closeables.push(tracing);
            if (tracing.on()) {
                log.info("Tracing is on: spans are exported as the OTEL_* variables configure");
            }

            database = Database.open(config, meters);
            closeables.push(database);
            // The management port closes after the rest of the node, just before the database: health checks
            // say "draining" and /metrics is scraped through the whole stop, where closing it with the public
            // port left Prometheus seeing the node down for the seconds its webhook attempts took to finish.
            closeables.push(() -> {
                if (management != null) {
                    management.close();
                }
            });
            serverSecrets = new ServerSecrets(database.dataSource());
            byte[] adminKeyHash = serverSecrets.adminKeyHash(config, generatedAdminKey::set);
            SecretBox secrets = serverSecrets.secretBox(config);
            serverSecrets.warnOfAnotherAdminKey(config, secrets);

            // Commits wake readers through wakeups; rare changes reach every node (this one right after
            // its commit) through the control channel, whose subscribers follow each component below.
            String nodeId = Ids.newId("node");
            ControlChannel control = new ControlChannel();
            EventWakeups wakeups = new EventWakeups(database, nodeId, control, meters);
            closeables.push(wakeups);
            StreamWaiters waiters = new StreamWaiters();
            wakeups.addListener(waiters);
            EventLog eventLog = new EventLog(database.dataSource(), wakeups);

            TenantStore tenants = new TenantStore(database.dataSource());
            IntegrationStore integrations = new IntegrationStore(database.dataSource(), control);
            ConnectionStore connections = new ConnectionStore(database.dataSource(), eventLog, control, secrets, clock);
            CollectionStore collections = new CollectionStore(database.dataSource(), control);
            control.subscribe(CollectionsChanged.class, m -> collections.reloadAnnounced());
            control.subscribe(Resync.class, m -> collections.reloadAnnounced());
            collections.syncDeclared(config.collections());
            RecordStore records = new RecordStore(database.dataSource(), eventLog, clock, config.maxBodyBytes());
            ConsoleSessionStore consoleSessions =
                    new ConsoleSessionStore(database.dataSource(), clock, secrets.mac(adminKeyHash));
            AuditLog audit = new AuditLog(database.dataSource(), clock);

            Authenticator auth = new Authenticator(
                    adminKeyHash,
                    integrations,
                    connections,
                    tenants,
                    new SlidingWindowRateLimiter(config.rateLimitRequests(), config.rateLimitWindow(), clock),
                    config.failedAuthLimit(),
                    consoleSessions,
                    config.console().sessionIdleTimeout(),
                    clock);
            control.subscribe(ConnectionChanged.class, auth::connectionChanged);
            control.subscribe(IntegrationChanged.class, auth::integrationChanged);
            control.subscribe(Resync.class, auth::resync);

            // The API's operations; a WebSocket's requests reach the records and events ones through
            // websockets.Operations, which the API implements (the socket layer sits below the API).
            EventRoutes eventRoutes =
                    new EventRoutes(auth, eventLog, waiters, audit, config.eventsMaxWait(), clock, meters);
            control.subscribe(ConnectionChanged.class, eventRoutes::connectionChanged);
            SocketOperations socketOperations = new SocketOperations(
                    collections, records, eventRoutes, WebSockets.frameDataBytes(config.websockets()));

            // WebSockets: commits wake the hub's feeds; connection and integration changes re-check sockets.
            WebSocketSettings socketSettings = config.websockets();
            Sockets sockets = new Sockets(socketSettings);
            WebSocketMetrics socketMetrics = new WebSocketMetrics(meters, sockets);
            LogGate socketReads = new LogGate(eventLog);
            // The live feed reads through its own pool: API load never delays events on their way to sockets.
            StreamHub hub = new StreamHub(
                    new EventLog(database.feedDataSource(), wakeups),
                    socketReads,
                    socketMetrics,
                    socketSettings,
                    tracing);
            wakeups.addListener(hub);
            AccessWatch accessWatch = new AccessWatch(connections, sockets);
            control.subscribe(ConnectionChanged.class, accessWatch::connectionChanged);
            control.subscribe(IntegrationChanged.class, accessWatch::integrationChanged);
            control.subscribe(Resync.class, accessWatch::resync);
            // The read-only sockets of operators' console sessions end with their session, whichever node ended it.
            OperatorSessions operatorSockets =
                    new OperatorSessions(sockets, consoleSessions, java.time.Duration.ofSeconds(5));
            closeables.push(operatorSockets);
            operatorSockets.start();
            // Request bodies, over HTTP and on sockets, held within one budget of the heap.
            RequestBodies bodies = new RequestBodies(
                    config.maxBodyBytes(),
                    RequestBodies.budgetFor(Runtime.getRuntime().maxMemory()));
            // What the budget holds: near its size, writes are answered 503 server_busy.
            Gauge.builder("switchboard.http.request.bodies", bodies, RequestBodies::held)
                    .baseUnit("bytes")
                    .description("Memory held by request bodies and WebSocket messages being received, within an"
                            + " eighth of the heap")
                    .register(meters);
            websockets = new WebSockets(
                    socketSettings,
                    sockets,
                    socketMetrics,
                    socketReads,
                    hub,
                    new Resume(socketReads, socketSettings, socketMetrics),
                    accessWatch,
                    auth,
                    socketOperations,
                    bodies);

            // Webhooks: delivery reads and writes through its own pool, so it never takes the API's
            // connections; the API's message operations (retry, replay, test) use the main pool, as what
            // it acknowledges must be durable.
            WebhookSettings webhookSettings = config.webhooks();
            AddressPolicy webhookAddresses =
                    new AddressPolicy(webhookSettings.allowPrivateAddresses(), webhookSettings.allowedAddresses());
            DataSource deliveryPool = database.deliveryDataSource();
            EndpointStore endpoints = new EndpointStore(database.dataSource(), secrets, control);
            WebhookMessages webhookMessages = new WebhookMessages(new MessageLog(
                    database.dataSource(),
                    nodeId,
                    webhookSettings.leaseTime(),
                    webhookSettings.disableAfter(),
                    control,
                    eventLog));
            WebhookSender sender = new WebhookSender(
                    webhookSettings.timeout(), webhookAddresses, webhookSettings.concurrency(), clock);
            closeables.push(sender);
            WebhookMetrics webhookMetrics = new WebhookMetrics(meters, deliveryPool);
            // The console's delivery charts: counted in memory, written every 10 s (closed after delivery stops).
            deliveryStats = new DeliveryStats(database.dataSource(), nodeId, clock);
            closeables.push(deliveryStats);
            webhookMetrics.keepStats(deliveryStats);
            deliveryStats.start();
            Deliverer deliverer = new Deliverer(
                    sender,
                    webhookAddresses,
                    endpoints,
                    webhookSettings,
                    webhookMetrics,
                    deliveryPool,
                    control,
                    clock,
                    secrets,
                    tracing);
            EventLog deliveryLog = new EventLog(deliveryPool, wakeups);
            WebhookDispatcher webhooks = new WebhookDispatcher(
                    webhookSettings,
                    deliveryPool,
                    deliveryLog,
                    new StreamLeases(deliveryPool, nodeId, webhookSettings.leaseTime()),
                    new MessageLog(
                            deliveryPool,
                            nodeId,
                            webhookSettings.leaseTime(),
                            webhookSettings.disableAfter(),
                            control,
                            deliveryLog),
                    deliverer,
                    webhookMetrics,
                    clock,
                    tracing);
            closeables.push(webhooks);
            wakeups.addListener(webhooks);
            control.subscribe(WebhookChanged.class, webhooks::endpointChanged);
            control.subscribe(ConnectionChanged.class, webhooks::connectionChanged);
            control.subscribe(IntegrationChanged.class, webhooks::integrationChanged);
            control.subscribe(ManualMessageDue.class, webhooks::manualMessageDue);
            wakeups.start();
            webhooks.start();

            Retention retention = new Retention(
                    database.dataSource(), config.eventsRetention(), config.auditRetention(), clock, meters);
            closeables.push(retention);
            retention.start();
            TableStatistics statistics = new TableStatistics(database.dataSource());
            closeables.push(statistics);
            statistics.start();

            DeliveryOverview deliveryOverview = new DeliveryOverview(database.dataSource());
            readiness = new Readiness(database::ready, clock, READINESS_CACHE);
            boolean managementPort = config.managementPort().isPresent();
            DatabaseException.countFromZero(meters); // requests the database refused, HTTP and on sockets
            http = new HttpApi(
                    config.host(),
                    config.port(),
                    bodies,
                    meters,
                    tracing,
                    List.of(
                            new OperationsRoutes(
                                    readiness,
                                    meters,
                                    managementPort ? OperationsRoutes.Scope.PUBLIC : OperationsRoutes.Scope.ALL,
                                    config.publicUrl()),
                            new AdminRoutes(auth, tenants, integrations, connections, collections, endpoints),
                            new RecordRoutes(auth, collections, records),
                            eventRoutes,
                            new WebhookRoutes(
                                    auth,
                                    integrations,
                                    tenants,
                                    endpoints,
                                    webhookMessages,
                                    webhookSettings,
                                    webhookAddresses,
                                    deliveryOverview,
                                    clock),
                            websockets.routes(),
                            new PortalLinkRoutes(auth, integrations, tenants, consoleSessions, config.publicUrl()),
                            new ConsoleApiRoutes(
                                    auth, collections, integrations, endpoints, deliveryOverview, deliveryStats),
                            new AuditRoutes(auth, audit),
                            new ConsoleRoutes(auth, consoleSessions, config.console()),
                            // Last: its two-segment pages must not answer paths an API route answers.
                            new ConsolePages(config.console().frameAncestorsDirective())));
            closeables.push(http);
            http.start("SWITCHBOARD_HOST, SWITCHBOARD_PORT (server.host, server.port)");
            // Closed just before the HTTP server: long polls answer with what they have, so its graceful stop
            // waits only for ordinary requests.
            closeables.push(waiters::drain);
            if (managementPort) {
                management = new HttpApi(
                        config.managementHost().orElse(config.host()),
                        config.managementPort().get(),
                        MANAGEMENT_MAX_BODY,
                        meters,
                        Tracing.OFF, // health checks and scrapes: no traces
                        List.of(new OperationsRoutes(
                                readiness, meters, OperationsRoutes.Scope.MANAGEMENT, Optional.empty())));
                management.start(
                        "SWITCHBOARD_MANAGEMENT_HOST, SWITCHBOARD_MANAGEMENT_PORT (server.managementHost, server.managementPort)");
            }
            // Closed before the HTTP server, so sockets get the "server restarting" code rather than Jetty's.
            closeables.push(websockets);
            websockets.start();
            // The node id is what webhook leases name (webhook_streams.leased_by): logged so an operator can
            // tell which process holds a stream.
            log.info(
                    "Switchboard node {} is ready on http://{}:{} ({}{}), started in {} ms",
                    nodeId,
                    config.host(),
                    http.port(),
                    database.description(),
                    management == null ? "" : "; metrics and health checks on port " + management.port(),
                    (System.nanoTime() - started) / 1_000_000);
            if (generatedAdminKey.get() != null) {
                adminKeyAnnouncer.accept(generatedAdminKey.get());
            }
            return this;
        } catch (RuntimeException e) {
            if (generatedAdminKey.get() != null) {
                forget(serverSecrets, generatedAdminKey.get());
            }
            close();
            throw e;
        }
    }

    public int port() {
        return http.port();
    }

    /** The management server's port, when one is configured. */
    public java.util.OptionalInt managementPort() {
        return management == null ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(management.port());
    }

    public List<String> routes() {
        return http.routes();
    }

    public Database database() {
        return database;
    }

    public WebSockets websockets() {
        return websockets;
    }

    /** The delivery counts the console charts (a test writes them out with {@code flush}). */
    public DeliveryStats deliveryStats() {
        return deliveryStats;
    }

    private static void forget(ServerSecrets serverSecrets, String generatedAdminKey) {
        try {
            serverSecrets.forgetGeneratedAdminKey(generatedAdminKey);
            log.info("The admin key generated by this start was not kept: the next start generates and shows one");
        } catch (RuntimeException e) {
            log.warn(
                    "The admin key generated by this start was kept but never shown; set SWITCHBOARD_ADMIN_KEY"
                            + " to choose one",
                    e);
        }
    }

    private static void printAdminKey(String key) {
        System.out.println();
        System.out.println("  Generated the admin key. It is shown only this once: store it somewhere safe.");
        System.out.println();
        System.out.println("    " + key);
        System.out.println();
        System.out.println(
                "  Use it as 'Authorization: Bearer <admin key>'. To choose your own, set SWITCHBOARD_ADMIN_KEY.");
        System.out.println();
        System.out.flush();
    }

    /**
     * Stops the node gracefully, as SIGTERM does: {@code /health/ready} answers 503 at once, the node keeps
     * serving for {@code grace} so load balancers notice and send new requests elsewhere, then it closes:
     * WebSockets with 1012, long polls answered, the HTTP server stops accepting and waits for the requests
     * in flight, webhook attempts in flight finish and every stream's lease is released, then the management
     * port (health checks and scrapes see the whole stop) and the database.
     */
    public void stop(java.time.Duration grace) {
        if (readiness != null) {
            readiness.drain();
            if (grace.isPositive()) {
                log.info(
                        "Draining: /health/ready answers 503; still serving for {} ms, then stopping",
                        grace.toMillis());
                try {
                    Thread.sleep(grace);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        close();
    }

    /** The grace {@link #stop} is given on SIGTERM: none with the embedded database, which no other node shares. */
    public java.time.Duration shutdownGrace() {
        return config.databaseUrl().isPresent() ? config.shutdownGrace() : java.time.Duration.ZERO;
    }

    @Override
    public void close() {
        while (!closeables.isEmpty()) {
            AutoCloseable c = closeables.pop();
            try {
                c.close();
            } catch (Exception e) {
                log.warn("Closing {} failed: {}", c.getClass().getSimpleName(), e.getMessage());
            }
        }
    }
}
