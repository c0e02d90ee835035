package dev.switchboard.cli;

import dev.switchboard.client.ApiException;
import dev.switchboard.client.Backoff;
import dev.switchboard.client.ConnectionInfo;
import dev.switchboard.client.EventStream;
import dev.switchboard.client.FileCursorStore;
import dev.switchboard.client.SwitchboardClient;
import dev.switchboard.client.SwitchboardException;
import dev.switchboard.config.ConfigLoader;
import dev.switchboard.config.Durations;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code switchboard listen}: follows a tenant's events over the WebSocket (dialing out, so nothing
 * needs to reach the developer's machine) and POSTs each batch to a local URL as a webhook message,
 * signed with a development secret kept in the user's config directory. The last {@code seq} the local
 * receiver accepted is kept there too, and a restart or reconnect resumes after it.
 */
@Command(
        name = "listen",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Forwards a tenant's events to a local URL as signed webhook messages, for developing a"
                + " webhook receiver on a machine the server cannot reach. Resumes where it stopped.")
public final class ListenCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(
            names = "--url",
            required = true,
            paramLabel = "URL",
            description = "The Switchboard server, e.g. http://localhost:8080")
    String url;

    /** Where the token is read from when --token is not given: a command line is visible to every user of the machine. */
    static final String TOKEN_VARIABLE = ConfigLoader.ACCESS_TOKEN_VARIABLE;

    @Option(
            names = "--token",
            paramLabel = "TOKEN",
            defaultValue = "${env:" + TOKEN_VARIABLE + "}",
            description = "A connection's access token (sb_access_…); default: $" + TOKEN_VARIABLE
                    + ", which, unlike this option, other users of the machine cannot see with ps")
    String token;

    @Option(
            names = "--forward-to",
            required = true,
            paramLabel = "URL",
            description = "Where to POST the messages, e.g. http://localhost:3000/hooks")
    String forwardTo;

    @Option(
            names = "--types",
            split = ",",
            paramLabel = "PATTERN",
            description = "Event types to forward, e.g. reservations.* (default: all the token may receive)")
    List<String> types = List.of();

    @ArgGroup(exclusive = true)
    Start start;

    static final class Start {
        @Option(
                names = "--after",
                paramLabel = "SEQ",
                description = "Start after this position instead of where the last run stopped")
        Long after;

        @Option(
                names = "--since",
                paramLabel = "AGE",
                description =
                        "Start with the events of the last AGE (30s, 15m, 2h, 1d) instead of where the last run stopped")
        String since;
    }

    @Option(names = "--print-json", description = "Print each message's body as well")
    boolean printJson;

    @Option(names = "--allow-external", description = "Allow a --forward-to that is not a loopback address")
    boolean allowExternal;

    @Option(
            names = "--forward-timeout",
            paramLabel = "SECONDS",
            defaultValue = "10",
            description = "How long the local receiver may take to answer (default ${DEFAULT-VALUE} s)")
    int forwardTimeoutSeconds;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        URI target;
        String server;
        try {
            target = checkForwardTo();
            server = checkUrl();
            if (token == null || token.isBlank()) {
                throw new CommandLine.ParameterException(
                        spec.commandLine(), "no access token: set " + TOKEN_VARIABLE + " or pass --token");
            }
            if (forwardTimeoutSeconds < 1) {
                throw new CommandLine.ParameterException(
                        spec.commandLine(), "--forward-timeout must be 1 second or more");
            }
            if (start != null && start.after != null && start.after < 0) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--after must be 0 or more");
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        SwitchboardClient client;
        ConnectionInfo connection;
        try {
            client = SwitchboardClient.builder(server, token).build();
            connection = client.connection();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--url: " + e.getMessage());
        } catch (SwitchboardException e) {
            // Only 401 and 403 are about the token: a 404 is a --url that names no Switchboard API.
            err.println(
                    e.getCause() instanceof java.io.IOException unreachable
                            ? "switchboard listen: cannot reach " + server + " (" + unreachable + ")"
                            : e instanceof ApiException api && (api.status() == 401 || api.status() == 403)
                                    ? "switchboard listen: " + server + " refused the token: " + e.getMessage()
                                    : "switchboard listen: " + server + " did not answer as a Switchboard server"
                                            + " (is --url its address, without a path?): " + e.getMessage());
            err.flush();
            return 1;
        }
        ListenState state;
        String secret;
        FileCursorStore cursors;
        OptionalLong resume;
        // The position saved before this run's --after or --since replaced it: put back when the run ends
        // without having started (its --types refused), so the next run resumes where the last one stopped.
        OptionalLong replaced = null;
        long given = -1;
        String from = "kept in ";
        try {
            state = ListenState.in(ListenState.configDirectory());
            secret = state.signingSecret();
            cursors = new FileCursorStore(state.cursorFile(key(server, connection.id(), forwardTo)));
            if (start != null && (start.after != null || start.since != null)) {
                given = start.after != null
                        ? checkedAfter(client, start.after, "--after " + start.after, err)
                        : positionSince(client, since(start.since));
                replaced = cursors.load();
                cursors.save(given);
                from = "from " + (start.after != null ? "--after" : "--since") + ", then kept in ";
            } else {
                // A saved position the retention has passed is moved to the oldest event kept, as --after's is:
                // resumed from as it is, the server would skip to live events past the ones still kept.
                OptionalLong saved = cursors.load();
                if (saved.isPresent()) {
                    long after = saved.getAsLong();
                    long checked = checkedAfter(client, after, "the saved position " + after, err);
                    if (checked != after) {
                        cursors.save(checked);
                    }
                }
            }
            resume = cursors.load();
        } catch (java.io.UncheckedIOException | IllegalStateException e) {
            err.println("switchboard listen: cannot keep its state (" + e.getMessage() + ")");
            err.flush();
            return 1;
        } catch (ApiException e) {
            err.println("switchboard listen: " + server + " refused to read the event feed: " + e.getMessage());
            err.flush();
            return 1;
        } catch (SwitchboardException e) {
            err.println("switchboard listen: cannot reach " + server + " (" + e.getMessage() + ")");
            err.flush();
            return 1;
        }
        out.printf(
                "Forwarding events of tenant %s (connection %s) from %s to %s%n",
                connection.tenantId(), connection.id(), server, target);
        out.printf("Signing secret: %s (kept in %s)%n", secret, state.secretFile());
        out.println(
                resume.isPresent()
                        ? "Resuming after seq " + resume.getAsLong() + " (" + from + cursors.file() + ")"
                        : "Starting with new events (the position is kept in " + cursors.file() + ")");
        out.println("Ctrl-C to stop.");
        out.flush();

        Forwarder forwarder =
                new Forwarder(target, secret, connection, Duration.ofSeconds(forwardTimeoutSeconds), printJson, out);
        EventStream.Options options = EventStream.Options.defaults()
                .withEventTypes(types)
                .withBackoff(new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30)))
                // Disconnected past the retention: the events still kept are forwarded, not skipped for live ones.
                .withResumeAtOldestKept();
        EventStream stream = client.eventStream(options, cursors, forwarder);
        Thread hook = new Thread(
                () -> {
                    stream.close();
                    out.println("Stopped; the next run resumes after seq "
                            + cursors.load().stream()
                                    .mapToObj(Long::toString)
                                    .findFirst()
                                    .orElse("(none)"));
                    out.flush();
                },
                "listen-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        while (!stream.awaitClosed(Duration.ofDays(1))) {
            // until Ctrl-C, or a close that means "do not reconnect"
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            return 0;
        }
        if (stream.closeCode() == 400 && stream.closeReason().startsWith("subscription refused")) {
            // Only while nothing was saved since: a refusal after a reconnect (the integration's types
            // narrowed meanwhile) must not undo what this run forwarded.
            if (replaced != null && cursors.load().equals(OptionalLong.of(given))) {
                try {
                    putBack(cursors, replaced);
                } catch (java.io.UncheckedIOException | IllegalStateException e) {
                    err.println("switchboard listen: cannot keep its state (" + e.getMessage() + ")");
                }
            }
            err.println("switchboard listen: --types: the server refused them (" + stream.closeReason() + ")");
            err.flush();
            return 2;
        }
        err.println(
                "switchboard listen: the server ended the stream: " + stream.closeCode() + " " + stream.closeReason());
        err.flush();
        return 1;
    }

    /** The saved position as it was before this run, or none. */
    private static void putBack(FileCursorStore cursors, OptionalLong position) {
        if (position.isPresent()) {
            cursors.save(position.getAsLong());
            return;
        }
        try {
            java.nio.file.Files.deleteIfExists(cursors.file());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * The --url without trailing slashes (so {@code http://host/} and {@code http://host} resume from the
     * same position); refused when it carries credentials, which the access token replaces and which
     * would otherwise be printed with every start.
     */
    private String checkUrl() {
        URI parsed;
        try {
            parsed = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--url is not a URL");
        }
        if (parsed.getRawUserInfo() != null) {
            throw new IllegalArgumentException(
                    "--url must not carry credentials (user:password@): the access token authenticates");
        }
        return url.replaceAll("/+$", "");
    }

    /** The --forward-to URL, refused when it is not http(s) or (without --allow-external) not a loopback address. */
    private URI checkForwardTo() {
        URI uri;
        try {
            uri = URI.create(forwardTo);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--forward-to is not a URL: " + forwardTo);
        }
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException(
                    "--forward-to must be an http:// or https:// URL with a host, got " + forwardTo);
        }
        if (!allowExternal) {
            InetAddress[] addresses;
            try {
                addresses = InetAddress.getAllByName(uri.getHost());
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("--forward-to: cannot resolve " + uri.getHost());
            }
            for (InetAddress address : addresses) {
                if (!address.isLoopbackAddress()) {
                    throw new IllegalArgumentException("--forward-to " + uri.getHost() + " is not a loopback address ("
                            + address.getHostAddress() + "): events and their signatures would leave this machine;"
                            + " add --allow-external if that is what you want");
                }
            }
        }
        return uri;
    }

    /** The oldest position a 410 {@code position_expired} says the server keeps (1 when it says none). */
    private static long oldestKept(ApiException.Gone expired) {
        return expired.details() == null
                ? 1
                : expired.details().path("oldestSeq").asLong(1);
    }

    /** {@code after} if the server still keeps the events after it, else the position before its oldest event. */
    private long checkedAfter(SwitchboardClient client, long after, String what, PrintWriter err) {
        try {
            Probe.read(client, after);
            return after;
        } catch (ApiException.InvalidRequest refused) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), what + ": " + refused.getMessage() + " (start again with --after or --since)");
        } catch (ApiException.Gone expired) {
            long oldest = oldestKept(expired);
            long from = Math.max(0, oldest - 1);
            err.printf(
                    "switchboard listen: %s is older than the server keeps events; starting after %d"
                            + " (the oldest event kept is %d)%n",
                    what, from, oldest);
            err.flush();
            return from;
        }
    }

    /** The instant {@code --since} names: now minus its age, written as a setting's duration. */
    private Instant since(String text) {
        try {
            return Instant.now().minus(Durations.parse(text));
        } catch (IllegalArgumentException notAnAge) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--since: " + notAnAge.getMessage());
        }
    }

    /**
     * The position after which the first event at or after {@code since} comes: a binary search over the
     * feed, one event per request (positions beyond the newest event are refused with 400 {@code invalid_field}).
     */
    static long positionSince(SwitchboardClient client, Instant since) {
        Probe first;
        try {
            first = Probe.at(client, 0L);
        } catch (ApiException.Gone expired) {
            // The log's start is past the retention: begin at the oldest event kept.
            first = Probe.at(client, Math.max(0, oldestKept(expired) - 1));
        }
        if (first.time == null) {
            return first.next;
        }
        if (!first.time.isBefore(since)) {
            return first.seq - 1;
        }
        // The answer is the seq of the last event older than since: low <= answer <= high throughout.
        long low = first.seq; // an event older than since
        long step = 1;
        long high;
        while (true) {
            Probe probe = Probe.at(client, low + step);
            if (probe.time == null || !probe.time.isBefore(since)) {
                high = low + step; // nothing older after it
                break;
            }
            low = probe.seq;
            step *= 2;
        }
        while (low < high) {
            long mid = low + (high - low) / 2;
            Probe probe = Probe.at(client, mid);
            if (probe.time == null || !probe.time.isBefore(since)) {
                high = mid;
            } else {
                low = Math.min(probe.seq, high);
            }
        }
        return low;
    }

    /** The first event after a position: its seq and time (null when there is none). */
    private record Probe(long seq, Instant time, long next) {
        /** The first event after {@code after}; a position beyond the newest event reads as none. */
        static Probe at(SwitchboardClient client, long after) {
            try {
                return read(client, after);
            } catch (ApiException.InvalidRequest beyondTheNewest) {
                return new Probe(-1, null, after);
            }
        }

        /**
         * The same, but a position the server refuses (beyond the newest event) throws. An empty page is
         * "none" only at the head: one read looks at a bounded run of positions, and a page that found
         * nothing this token may see in them ends short of the head, so the probe reads on from there.
         */
        static Probe read(SwitchboardClient client, long after) {
            var feed =
                    client.eventFeed(new dev.switchboard.client.EventFeed.Options(after, List.of(), 1, Duration.ZERO));
            long from = after;
            while (true) {
                var events = feed.poll();
                if (!events.isEmpty()) {
                    return new Probe(events.get(0).seq(), events.get(0).time(), feed.position());
                }
                if (feed.position() <= from) {
                    return new Probe(-1, null, feed.position()); // nothing after it up to the head
                }
                from = feed.position();
            }
        }
    }

    /** The cursor file's name: one position per server, connection and local URL. */
    private static String key(String url, String connectionId, String forwardTo) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256")
                    .digest((url + "\n" + connectionId + "\n" + forwardTo).getBytes(StandardCharsets.UTF_8));
            return connectionId + "-" + HexFormat.of().formatHex(hash, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
