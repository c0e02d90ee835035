package dev.switchboard.config;

/** A configuration value that is missing or wrong; the message names the setting and says what is expected. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}
