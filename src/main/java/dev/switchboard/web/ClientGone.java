package dev.switchboard.web;

import io.javalin.http.Context;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;

/**
 * Whether the client of a request that waits (a long poll) has hung up. The server learns of a closed
 * connection only when it reads or writes, and a waiting request does neither (Jetty does not read a
 * connection again until its request is answered), so an abandoned long poll held its socket and its place
 * among its connection's long polls for the whole wait. The waiting request looks for itself.
 */
public final class ClientGone {
    private ClientGone() {}

    /**
     * True when the client has closed or reset the connection: a read of the socket finds its end (a client
     * that only shut its sending side counts as gone, as it does for proxies such as nginx). A client
     * that sent more bytes while it waits (a request pipelined behind a long poll, which HTTP clients do not
     * do) has one of them taken by the look, so its connection is closed after this answer: the client sends
     * that request again on a new one, as it does when a kept connection closes.
     */
    public static boolean hungUp(Context ctx) {
        if (!ctx.req().getProtocol().startsWith("HTTP/1.")) {
            return false; // a byte of another protocol's stream (a frame of HTTP/2) is not the look's to take
        }
        EndPoint endPoint = ServletContextRequest.getServletContextRequest(ctx.req())
                .getConnectionMetaData()
                .getConnection()
                .getEndPoint();
        if (!endPoint.isOpen()) {
            return true;
        }
        if (!(endPoint.getTransport() instanceof SocketChannel channel)) {
            return false;
        }
        try {
            int read = channel.read(ByteBuffer.allocate(1));
            if (read > 0) {
                ctx.header("Connection", "close");
            }
            return read < 0;
        } catch (IOException e) {
            return true; // reset by the client
        }
    }
}
