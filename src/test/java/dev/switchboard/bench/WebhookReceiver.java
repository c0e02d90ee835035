package dev.switchboard.bench;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The benchmark's webhook receiver: a bare Jetty handler on loopback that answers 200 at once and
 * counts the events it receives. For each event it takes the latency from the event's {@code time}
 * (set by the server as it appends the event, just before the commit) to the moment the request
 * arrived; no full JSON parse, just the fields it needs. {@code /hang} never answers (a receiver that
 * times out every request); {@code /slow} answers 200 after {@link #SLOW}, just under the server's
 * default timeout, and counts nothing. Bodies can be kept, to replay them as the raw ceiling.
 */
final class WebhookReceiver implements Receiver {
    private static final Pattern EVENT = Pattern.compile(
            "\"seq\":\\d+,\"type\":\"[^\"]*\",\"subject\":(?:null|\"[^\"]*\")," + "\"time\":\"([^\"]+)\"");

    static final Duration SLOW = Duration.ofMillis(4900);

    private final Server server;
    private final ScheduledExecutorService slow = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("receiver-slow").factory());
    private final AtomicLong events = new AtomicLong();
    private final AtomicLong requests = new AtomicLong();
    private final Queue<Callback> hanging = new ConcurrentLinkedQueue<>();
    private volatile Latencies latencies;
    private volatile Queue<String> kept;

    WebhookReceiver() throws Exception {
        QueuedThreadPool threads = new QueuedThreadPool(64, 8);
        threads.setName("receiver");
        server = new Server(threads);
        ServerConnector connector = new ServerConnector(server, 1, 1);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                Instant now = Instant.now(); // microseconds on Linux, the clock the server stamps events with
                long arrived = now.getEpochSecond() * 1_000_000 + now.getNano() / 1000;
                if (Request.getPathInContext(request).equals("/hang")) {
                    hanging.add(callback); // answered never; the sender times out
                    return true;
                }
                if (Request.getPathInContext(request).equals("/slow")) {
                    Content.Source.consumeAll(
                            request,
                            Callback.from(
                                    () -> slow.schedule(
                                            () -> {
                                                response.setStatus(200);
                                                callback.succeeded();
                                            },
                                            SLOW.toMillis(),
                                            TimeUnit.MILLISECONDS),
                                    callback::failed));
                    return true;
                }
                Content.Source.asString(request, StandardCharsets.UTF_8, new Promise<>() {
                    @Override
                    public void succeeded(String body) {
                        record(body, arrived);
                        response.setStatus(200);
                        callback.succeeded();
                    }

                    @Override
                    public void failed(Throwable x) {
                        callback.failed(x);
                    }
                });
                return true;
            }
        });
        server.start();
    }

    @Override
    public String description() {
        return "a Jetty handler in the harness's JVM";
    }

    @Override
    public String url(String path) {
        return "http://127.0.0.1:" + ((ServerConnector) server.getConnectors()[0]).getLocalPort() + path;
    }

    private void record(String body, long arrivedMicros) {
        requests.incrementAndGet();
        Queue<String> keep = kept;
        if (keep != null) {
            keep.add(body);
        }
        Latencies into = latencies;
        Matcher m = EVENT.matcher(body);
        long n = 0;
        while (m.find()) {
            n++;
            if (into != null) {
                Instant time = Instant.parse(m.group(1));
                long micros = time.getEpochSecond() * 1_000_000 + time.getNano() / 1000;
                synchronized (into) {
                    into.add(Math.max(0, arrivedMicros - micros) * 1000);
                }
            }
        }
        events.addAndGet(n);
    }

    @Override
    public long events() {
        return events.get();
    }

    @Override
    public long requests() {
        return requests.get();
    }

    @Override
    public Latencies measure() {
        Latencies fresh = new Latencies();
        latencies = fresh;
        return fresh;
    }

    @Override
    public void stopMeasuring() {
        latencies = null;
    }

    @Override
    public void keepBodies() {
        kept = new ConcurrentLinkedQueue<>();
    }

    @Override
    public List<String> keptBodies() {
        List<String> bodies = new ArrayList<>(kept);
        kept = null;
        return bodies;
    }

    @Override
    public void close() throws Exception {
        hanging.forEach(Callback::succeeded);
        slow.shutdownNow();
        server.stop();
    }
}
