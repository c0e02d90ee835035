package dev.switchboard.config;

import java.util.regex.Pattern;

/**
 * Recognises the variables Kubernetes puts into every pod for each Service in its namespace (Docker's
 * old container links wrote the same ones). A Service named {@code switchboard} (or {@code
 * switchboard-management}, {@code switchboard-db}, …) makes names that start with {@code SWITCHBOARD_},
 * so without this the server would refuse to start in a namespace that has such a Service:
 *
 * <pre>
 * SWITCHBOARD_SERVICE_HOST=10.0.0.1
 * SWITCHBOARD_SERVICE_PORT=8080
 * SWITCHBOARD_SERVICE_PORT_HTTP=8080            (one per named port)
 * SWITCHBOARD_PORT=tcp://10.0.0.1:8080
 * SWITCHBOARD_PORT_8080_TCP=tcp://10.0.0.1:8080
 * SWITCHBOARD_PORT_8080_TCP_PROTO=tcp
 * SWITCHBOARD_PORT_8080_TCP_PORT=8080
 * SWITCHBOARD_PORT_8080_TCP_ADDR=10.0.0.1
 * </pre>
 *
 * <p>{@code SWITCHBOARD_PORT} and {@code SWITCHBOARD_MANAGEMENT_PORT} are also real settings: those
 * are service links only when their value is a {@code tcp://host:port} address, which no port setting
 * accepts. Every other name is a service link by its shape alone, a shape no setting has.
 */
final class ServiceLinks {
    private ServiceLinks() {}

    private static final String PREFIX = "SWITCHBOARD(?:_[A-Z0-9_]+?)?";
    private static final String PROTOCOL = "(?:TCP|UDP|SCTP)";
    private static final Pattern BY_NAME = Pattern.compile(PREFIX
            + "_(?:SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9_]+)?|PORT_[0-9]+_" + PROTOCOL + "(?:_PROTO|_PORT|_ADDR)?)");
    private static final Pattern ADDRESS_VARIABLE = Pattern.compile(PREFIX + "_PORT");
    private static final Pattern ADDRESS = Pattern.compile("(?i)(?:tcp|udp|sctp)://[^\\s/]+:[0-9]+");

    /** True when this environment variable is one a Kubernetes Service (or a Docker link) injected. */
    static boolean isServiceLink(String variable, String value) {
        if (BY_NAME.matcher(variable).matches()) {
            return true;
        }
        return ADDRESS_VARIABLE.matcher(variable).matches()
                && value != null
                && ADDRESS.matcher(value.trim()).matches();
    }
}
