package dev.switchboard.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The version of this build, as Maven wrote it into {@code dev/switchboard/version.properties} (a
 * filtered resource): printed by {@code switchboard --version}, shown by {@code /health/live} and sent
 * in the {@code User-Agent} of webhook requests, so an operator can tell which nodes run which release
 * during an upgrade.
 */
public final class Version {
    private static final String RESOURCE = "/dev/switchboard/version.properties";
    private static final String CURRENT = load();

    private Version() {}

    /** The version, such as {@code 0.1.0} or {@code 0.2.0-SNAPSHOT}. */
    public static String current() {
        return CURRENT;
    }

    private static String load() {
        try (InputStream in = Version.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the build");
            }
            Properties properties = new Properties();
            properties.load(in);
            String version = properties.getProperty("version", "").trim();
            // An unfiltered resource (a build that skipped Maven's resource filtering) still says ${...}.
            if (version.isEmpty() || version.contains("${")) {
                throw new IllegalStateException(RESOURCE + " holds no version: '" + version + "'");
            }
            return version;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
