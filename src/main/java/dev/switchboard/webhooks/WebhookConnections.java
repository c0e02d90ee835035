package dev.switchboard.webhooks;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * The webhook sender's keep-alive connections, per integration and receiver (scheme, host and port):
 * at most {@code perDestination} at a time, idle ones reused most recent first and closed after
 * {@value #IDLE_SECONDS} s, or sooner when the receiver's {@code Keep-Alive: timeout} says so. New
 * connections go only to addresses the {@link GuardedResolver} allows, over TLS for https with the
 * host name verified.
 *
 * <p>HTTP/1.1 matches answers to requests only by their order on the connection, so a receiver that
 * answers out of turn (a second answer to one request, sent while the connection is idle) would have
 * every later request on it read the answer before its own. An idle connection the receiver wrote to
 * is never reused, and connections are never shared between integrations: what an extra answer that
 * arrives while a request is under way misleads is its own integration's attempts, never another's
 * (marking another integration's message delivered, redirecting its events, disabling its endpoint).
 *
 * <p>A receiver may close an idle connection at any moment, and a request written to it then fails
 * before any answer arrives. Such a request is sent once more on a new connection; a request that
 * fails on a new connection, or after part of an answer came, is the attempt's outcome.
 */
final class WebhookConnections implements AutoCloseable {
    static final int IDLE_SECONDS = 30;
    /** How often the connections in use are looked at for a passed deadline: how late one may be cut off. */
    private static final long CUT_EVERY_MILLIS = 50;

    private final GuardedResolver resolver;
    private final int perDestination;
    private final SSLSocketFactory tls;
    private final Map<Destination, Pool> pools = new ConcurrentHashMap<>();
    private final Set<WebhookConnection> open = ConcurrentHashMap.newKeySet();
    /** The TCP sockets of the connections being made or used, with their attempts' deadlines. */
    private final Map<Socket, Long> inUse = new ConcurrentHashMap<>();

    private final ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, r -> {
        Thread thread = new Thread(r, "webhook-connections");
        thread.setDaemon(true);
        return thread;
    });
    private volatile boolean closed;

    WebhookConnections(GuardedResolver resolver, int perDestination, SSLSocketFactory tls) {
        this.resolver = resolver;
        this.perDestination = perDestination;
        this.tls = tls;
        timer.scheduleWithFixedDelay(this::closeIdle, 5, 5, TimeUnit.SECONDS);
        timer.scheduleWithFixedDelay(this::cutOverdue, CUT_EVERY_MILLIS, CUT_EVERY_MILLIS, TimeUnit.MILLISECONDS);
    }

    private record Destination(long integrationPk, boolean tls, String host, int port) {
        static Destination of(long integrationPk, URI uri) {
            boolean tls = uri.getScheme().equalsIgnoreCase("https");
            return new Destination(
                    integrationPk, tls, uri.getHost(), uri.getPort() >= 0 ? uri.getPort() : tls ? 443 : 80);
        }
    }

    private final class Pool {
        final Semaphore permits = new Semaphore(perDestination);
        final Deque<WebhookConnection> idle = new ConcurrentLinkedDeque<>();
        /** Attempts using this pool; changed only inside {@code pools.compute} for its destination. */
        int users;
    }

    /**
     * Sends one request of integration {@code integrationPk} to {@code target} and reads its answer, all
     * before {@code deadline} ({@link System#nanoTime()}).
     */
    WebhookConnection.Answer exchange(long integrationPk, URI target, byte[] request, long deadline)
            throws IOException {
        Destination destination = Destination.of(integrationPk, target);
        Pool pool = pools.compute(destination, (d, existing) -> {
            Pool used = existing == null ? new Pool() : existing;
            used.users++;
            return used;
        });
        try {
            if (!pool.permits.tryAcquire(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                throw new SocketTimeoutException(
                        "no free connection to " + destination.host() + " before the deadline");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            leave(destination);
            throw new InterruptedIOException("interrupted");
        } catch (SocketTimeoutException e) {
            leave(destination);
            throw e;
        }
        try {
            WebhookConnection reused = idleConnection(pool);
            if (reused != null) {
                try {
                    return finish(pool, reused, send(reused, request, deadline));
                } catch (IOException e) {
                    discard(reused);
                    if (reused.answerStarted()
                            || e instanceof SocketTimeoutException
                            || timedOut(deadline)
                            || closed
                            || Thread.currentThread().isInterrupted()) {
                        throw e;
                    }
                    // the receiver had closed it: the request goes out once more, on a new connection
                }
            }
            WebhookConnection fresh = connect(destination, deadline);
            try {
                return finish(pool, fresh, send(fresh, request, deadline));
            } catch (IOException e) {
                discard(fresh);
                throw e;
            }
        } finally {
            pool.permits.release();
            leave(destination);
        }
    }

    private void leave(Destination destination) {
        pools.computeIfPresent(destination, (d, pool) -> {
            pool.users--;
            return pool;
        });
    }

    /**
     * Sends on a connection that is cut off at the deadline. Reads wait at most until the deadline, but
     * that does not bound an exchange: a write has no timeout of its own and blocks while the receiver
     * does not read (a small one too, once unread requests fill the socket's buffer), and one TLS record
     * is read with as many socket reads as it takes, each waiting the whole timeout, so a receiver
     * sending a byte now and then could hold an attempt for hours.
     */
    private WebhookConnection.Answer send(WebhookConnection connection, byte[] request, long deadline)
            throws IOException {
        watch(connection.plain(), deadline);
        try {
            return connection.exchange(request, deadline);
        } catch (IOException e) {
            if (timedOut(deadline)) {
                throw new SocketTimeoutException("the receiver did not answer before the deadline");
            }
            throw e;
        } finally {
            unwatch(connection.plain());
        }
    }

    private void watch(Socket plain, long deadline) throws InterruptedIOException {
        inUse.put(plain, deadline);
        if (closed) { // closed meanwhile: its sockets may have been cut already
            unwatch(plain);
            throw new InterruptedIOException("the webhook sender is closed");
        }
    }

    private void unwatch(Socket plain) {
        if (inUse.remove(plain) == null) {
            close(plain); // cut off as its exchange ended: finished with, never reused
        }
    }

    /** Closes the TCP socket of every exchange past its deadline: the thread blocked on it fails at once. */
    private void cutOverdue() {
        long now = System.nanoTime();
        inUse.forEach((plain, deadline) -> {
            if (deadline - now <= 0 && inUse.remove(plain, deadline)) {
                close(plain);
            }
        });
    }

    private static void close(Socket plain) {
        try {
            plain.close();
        } catch (IOException e) {
            // closing: nothing more to read or write
        }
    }

    private static boolean timedOut(long deadline) {
        return deadline - System.nanoTime() <= 0;
    }

    private WebhookConnection idleConnection(Pool pool) {
        long now = System.nanoTime();
        for (WebhookConnection connection = pool.idle.pollFirst();
                connection != null;
                connection = pool.idle.pollFirst()) {
            if (connection.reusableUntil - now > 0 && !connection.spokeWhileIdle()) {
                return connection;
            }
            discard(connection);
        }
        return null;
    }

    private WebhookConnection.Answer finish(Pool pool, WebhookConnection connection, WebhookConnection.Answer answer) {
        long keepFor = TimeUnit.SECONDS.toNanos(IDLE_SECONDS);
        if (answer.keepAliveNanos() >= 0) {
            // a second less than the receiver's own limit, so it does not close while a request is under way
            keepFor = Math.min(keepFor, answer.keepAliveNanos() - TimeUnit.SECONDS.toNanos(1));
        }
        if (answer.reusable() && keepFor > 0 && !closed && !connection.closed()) {
            connection.reusableUntil = System.nanoTime() + keepFor;
            pool.idle.offerFirst(connection);
            if (closed && pool.idle.remove(connection)) { // closed meanwhile: nothing closes it later
                discard(connection);
            }
        } else {
            discard(connection);
        }
        return answer;
    }

    private WebhookConnection connect(Destination destination, long deadline) throws IOException {
        List<InetSocketAddress> addresses = resolver.resolve(destination.host(), destination.port(), deadline);
        IOException failure = null;
        for (InetSocketAddress address : addresses) {
            if (timedOut(deadline)) {
                throw new SocketTimeoutException("connecting to " + destination.host() + ": deadline passed");
            }
            Socket plain = new Socket();
            watch(plain, deadline); // a TLS handshake's reads are bounded no better than an answer's
            try {
                plain.setTcpNoDelay(true);
                plain.connect(address, WebhookConnection.millisUntil(deadline));
                Socket socket = destination.tls() ? secure(plain, destination, deadline) : plain;
                WebhookConnection connection = new WebhookConnection(socket, plain);
                open.add(connection);
                if (closed) {
                    discard(connection);
                    throw new InterruptedIOException("the webhook sender is closed");
                }
                return connection;
            } catch (SocketTimeoutException e) {
                close(plain);
                throw e;
            } catch (IOException e) {
                close(plain);
                if (timedOut(deadline)) {
                    throw new SocketTimeoutException("connecting to " + destination.host() + ": deadline passed");
                }
                failure = e;
            } finally {
                unwatch(plain);
            }
        }
        throw failure;
    }

    /** TLS over a connected socket, with SNI and the host name checked against the certificate. */
    private Socket secure(Socket plain, Destination destination, long deadline) throws IOException {
        String host = destination.host().startsWith("[")
                ? destination.host().substring(1, destination.host().length() - 1)
                : destination.host();
        SSLSocket secured = (SSLSocket) tls.createSocket(plain, host, destination.port(), true);
        SSLParameters parameters = secured.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        secured.setSSLParameters(parameters);
        secured.setSoTimeout(WebhookConnection.millisUntil(deadline));
        secured.startHandshake();
        return secured;
    }

    private void discard(WebhookConnection connection) {
        open.remove(connection);
        connection.close();
    }

    private void closeIdle() {
        long now = System.nanoTime();
        pools.values()
                .forEach(pool -> pool.idle.removeIf(connection -> {
                    if (connection.reusableUntil - now > 0) {
                        return false;
                    }
                    discard(connection);
                    return true;
                }));
        // A receiver nobody sends to any more is forgotten; one that is sent to again gets a new pool.
        pools.keySet()
                .forEach(destination -> pools.computeIfPresent(
                        destination, (d, pool) -> pool.users == 0 && pool.idle.isEmpty() ? null : pool));
    }

    /** Closes every connection, idle or in use: attempts under way end as failed. */
    @Override
    public void close() {
        closed = true;
        timer.shutdownNow();
        for (WebhookConnection connection : open) {
            discard(connection);
        }
        pools.clear();
    }
}
