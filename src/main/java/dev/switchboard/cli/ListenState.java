package dev.switchboard.cli;

import dev.switchboard.support.KeptSecret;
import dev.switchboard.webhooks.Signer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/**
 * What {@code switchboard listen} keeps between runs, in the user's config directory
 * ({@code $XDG_CONFIG_HOME/switchboard}, else {@code ~/.config/switchboard}): the development signing
 * secret (one per user, so the receiver's configuration stays valid) and a cursor file per server,
 * connection and local URL.
 */
final class ListenState {
    private final Path directory;

    private ListenState(Path directory) {
        this.directory = directory;
    }

    static Path configDirectory() {
        String xdg = System.getenv("XDG_CONFIG_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".config");
        return base.resolve("switchboard");
    }

    static ListenState in(Path directory) {
        return new ListenState(directory);
    }

    Path secretFile() {
        return directory.resolve("listen-signing-secret");
    }

    Path cursorFile(String key) {
        return directory.resolve("listen").resolve(key + ".cursor");
    }

    /** The development secret: read, or created (readable by the user only) on the first run. */
    String signingSecret() {
        Path file = secretFile();
        String secret;
        try {
            secret = KeptSecret.readOrMake(file, Signer::newSecret);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the signing secret in " + file, e);
        }
        // Checked now: a secret that cannot sign failed every delivery later, each retried without end.
        try {
            Signer.keyedWith(List.of(secret));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("the signing secret in " + file + " cannot sign (" + e.getMessage()
                    + "): it is whsec_ and the base64 of a key; delete the file to have a new one made");
        }
        return secret;
    }
}
