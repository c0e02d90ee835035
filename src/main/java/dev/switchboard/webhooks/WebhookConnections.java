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
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * The webhook sender's keep-alive connections, per receiver (scheme, host and port): at most
 * {@code perDestination} at a time, idle ones reused most recent first and closed after
 * {@value #IDLE_SECONDS} s, or sooner when the receiver's {@code Keep-Alive: timeout} says so. New
 * connections go only to addresses the {@link GuardedResolver} allows, over TLS for https with the
 * host name verified.
 *
 * <p>A receiver may close an idle connection at any moment, and a request written to it then fails
 * before any answer arrives. Such a request is sent once more on a new connection; a request that
 * fails on a new connection, or after part of an answer came, is the attempt's outcome.
 */
final class WebhookConnections implements AutoCloseable {
    static final int IDLE_SECONDS = 30;
    /** A write of this much fits in a socket's send buffer; larger ones are cut off at the deadline. */
    private static final int UNGUARDED_WRITE = 16 * 1024;

    private final GuardedResolver resolver;
    private final int perDestination;
    private final SSLSocketFactory tls;
    private final Map<Destination, Pool> pools = new ConcurrentHashMap<>();
    private final Set<WebhookConnection> open = ConcurrentHashMap.newKeySet();
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
        timer.setRemoveOnCancelPolicy(true); // a request's watch, cancelled, does not wait out its delay in the queue
        timer.scheduleWithFixedDelay(this::closeIdle, 5, 5, TimeUnit.SECONDS);
    }

    private record Destination(boolean tls, String host, int port) {
        static Destination of(URI uri) {
            boolean tls = uri.getScheme().equalsIgnoreCase("https");
            return new Destination(tls, uri.getHost(), uri.getPort() >= 0 ? uri.getPort() : tls ? 443 : 80);
        }
    }

    private final class Pool {
        final Semaphore permits = new Semaphore(perDestination);
        final Deque<WebhookConnection> idle = new ConcurrentLinkedDeque<>();
        /** Attempts using this pool; changed only inside {@code pools.compute} for its destination. */
        int users;
    }

    /** Sends one request to {@code target} and reads its answer, all before {@code deadline} ({@link System#nanoTime()}). */
    WebhookConnection.Answer exchange(URI target, byte[] request, long deadline) throws IOException {
        Destination destination = Destination.of(target);
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
     * Reads wait at most until the deadline; a write has no timeout of its own and blocks while a
     * receiver does not read. A large request is therefore watched: at the deadline its connection is
     * closed under it.
     */
    private WebhookConnection.Answer send(WebhookConnection connection, byte[] request, long deadline)
            throws IOException {
        ScheduledFuture<?> cut = null;
        if (request.length > UNGUARDED_WRITE) {
            try {
                cut = timer.schedule(connection::close, deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                throw new InterruptedIOException("the webhook sender is closed");
            }
        }
        try {
            return connection.exchange(request, deadline);
        } catch (IOException e) {
            if (cut != null && timedOut(deadline)) {
                throw new SocketTimeoutException("the receiver did not take the request before the deadline");
            }
            throw e;
        } finally {
            if (cut != null) {
                cut.cancel(false);
            }
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
            if (connection.reusableUntil - now > 0) {
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
        if (answer.reusable() && keepFor > 0 && !closed) {
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
            Socket socket = new Socket();
            try {
                socket.setTcpNoDelay(true);
                socket.connect(address, WebhookConnection.millisUntil(deadline));
                if (destination.tls()) {
                    socket = secure(socket, destination, deadline);
                }
                WebhookConnection connection = new WebhookConnection(socket);
                open.add(connection);
                if (closed) {
                    discard(connection);
                    throw new InterruptedIOException("the webhook sender is closed");
                }
                return connection;
            } catch (SocketTimeoutException e) {
                socket.close();
                throw e;
            } catch (IOException e) {
                socket.close();
                failure = e;
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
