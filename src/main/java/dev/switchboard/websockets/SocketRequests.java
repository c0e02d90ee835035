package dev.switchboard.websockets;

import dev.switchboard.auth.TenantAccess;
import dev.switchboard.db.DatabaseException;
import dev.switchboard.support.Refusal;
import dev.switchboard.web.HttpErrors;
import dev.switchboard.web.RequestBodies;
import dev.switchboard.websockets.ClientMessages.Request;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One socket's requests: admitted on the socket's reading thread (at most {@value #MAX_IN_FLIGHT} at
 * once; more are answered 429 {@code too_many_requests} at once), each performed on a virtual thread of
 * its own, so a slow request never holds up the socket's reading, its live events, or any other
 * socket's fan-out. Each is answered exactly once, in a response with the client's id: the outcome of
 * {@link Operations}, or its refusal mapped the way HTTP maps it ({@link HttpErrors}).
 */
final class SocketRequests {
    private static final Logger log = LoggerFactory.getLogger(SocketRequests.class);
    static final int MAX_IN_FLIGHT = 64;

    private final ClientSession session;
    private final WebSockets owner;
    private final AtomicInteger inFlight = new AtomicInteger();

    SocketRequests(ClientSession session, WebSockets owner) {
        this.session = session;
        this.owner = owner;
    }

    /**
     * Starts a request, or refuses it (answered here) when {@value #MAX_IN_FLIGHT} are in flight or it is
     * over the body limit; true when it started. {@code text} is the message as received, whose size HTTP's body limit bounds too.
     */
    boolean submit(Request request, String text) {
        long bodyLimit = owner.bodies().maxBodyBytes();
        if (text.length() > bodyLimit / 3 && text.getBytes(StandardCharsets.UTF_8).length > bodyLimit) {
            // Only reachable when websockets.maxMessageSize is above server.maxBodySize.
            session.send(Frames.errorResponse(
                    request.id(),
                    413,
                    "body_too_large",
                    "the request is larger than " + bodyLimit + " bytes (server.maxBodySize)",
                    null,
                    null));
            return false;
        }
        if (inFlight.incrementAndGet() > MAX_IN_FLIGHT) {
            inFlight.decrementAndGet();
            owner.metrics().request(request.method(), 429, 0);
            session.send(Frames.errorResponse(
                    request.id(),
                    429,
                    "too_many_requests",
                    "this socket already has " + MAX_IN_FLIGHT
                            + " requests in flight; wait for their responses before sending more",
                    Map.of("maxInFlight", MAX_IN_FLIGHT),
                    null));
            return false;
        }
        // Its message and params stay on the heap until it is answered: room for them as for an HTTP body.
        RequestBodies.Room room;
        try {
            room = owner.bodies().take(text);
        } catch (Refusal refusal) {
            inFlight.decrementAndGet();
            owner.metrics().request(request.method(), HttpErrors.of(refusal).status(), 0);
            session.send(refused(request.id(), refusal));
            return false;
        }
        Thread.ofVirtual().name("ws-request").start(() -> perform(request, room, text.length()));
        return true;
    }

    private void perform(Request request, RequestBodies.Room room, int chars) {
        long started = System.nanoTime();
        ClientSession.Write write = request.method().write() ? session.beginWrite() : null;
        ByteBuffer response = null;
        int status = 500;
        try {
            TenantAccess access =
                    owner.auth().socketRequestAccess(session.access().tokenHash());
            session.paidByRateLimit(chars);
            Operations.Outcome outcome = owner.operations().perform(access, request.method(), request.params());
            status = outcome.status();
            response = Frames.response(request.id(), outcome);
        } catch (Refusal refusal) {
            if (refusal instanceof Refusal.Throttled) {
                session.throttled();
            }
            HttpErrors.HttpError error = HttpErrors.of(refusal);
            status = error.status();
            response = frame(request.id(), error);
        } catch (DatabaseException e) {
            if (e.isTransient()) {
                owner.metrics().databaseRefused(e);
                log.warn("The database could not answer a WebSocket request now, answering 503: {}", e.detail());
            } else {
                log.error("Database error in a WebSocket request", e);
            }
            HttpErrors.HttpError error = HttpErrors.of(e, request.method().write());
            status = error.status();
            response = frame(request.id(), error);
        } catch (RuntimeException e) {
            log.error(
                    "Unexpected error in WebSocket request {} of connection {}",
                    request.method().wireName(),
                    session.access().connectionId(),
                    e);
        } finally {
            // Out of flight before it is answered: a client that sends its next request on reading this
            // answer must find room for it.
            room.close();
            inFlight.decrementAndGet();
            // Always answered, and a write always releases what it held back.
            session.answer(response != null ? response : frame(request.id(), HttpErrors.internalError()), write);
            owner.metrics().request(request.method(), status, System.nanoTime() - started);
        }
    }

    /** The error response to a request the server could not parse as one. */
    static ByteBuffer refused(String id, Refusal refusal) {
        return frame(id, HttpErrors.of(refusal));
    }

    private static ByteBuffer frame(String id, HttpErrors.HttpError error) {
        return Frames.errorResponse(
                id, error.status(), error.code(), error.message(), error.details(), error.retryAfterSeconds());
    }
}
