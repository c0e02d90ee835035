package dev.switchboard.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.OptionalLong;

/**
 * A cursor kept in a file (the decimal {@code seq}), written to a temporary file and moved into place
 * so a crash leaves the old position or the new one, never a torn one.
 */
public final class FileCursorStore implements CursorStore {
    private final Path file;

    /** A cursor in {@code file}; its directory is created when the first position is saved. */
    public FileCursorStore(Path file) {
        this.file = file.toAbsolutePath();
    }

    /** The file the position is kept in. */
    public Path file() {
        return file;
    }

    @Override
    public OptionalLong load() {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8).trim();
        } catch (NoSuchFileException e) {
            return OptionalLong.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the cursor file " + file, e);
        }
        try {
            return OptionalLong.of(Long.parseLong(text));
        } catch (NumberFormatException e) {
            throw new IllegalStateException("the cursor file " + file + " does not hold a position: '" + text + "'");
        }
    }

    @Override
    public synchronized void save(long seq) {
        try {
            Files.createDirectories(file.getParent());
            Path temp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(temp, Long.toString(seq), StandardCharsets.UTF_8);
            try {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the cursor file " + file, e);
        }
    }
}
