package dev.switchboard;

/**
 * Chooses the log format before the first logger exists: {@code text} (logback.xml) for people,
 * {@code json} (logback-json.xml, one JSON object per line with the request id) for log pipelines.
 */
final class Logging {
    private Logging() {}

    static void configure(String format) {
        if (format.equals("json") && System.getProperty("logback.configurationFile") == null) {
            System.setProperty("logback.configurationFile", "logback-json.xml");
        }
    }
}
