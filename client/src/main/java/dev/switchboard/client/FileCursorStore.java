package dev.switchboard.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.OptionalLong;

/**
 * A cursor kept in a file (the decimal {@code seq}), written to a temporary file, forced to the disk and
 * moved into place, so a crash (of the process or of the machine) leaves the old position or the new one,
 * never a torn or empty file. Each save waits for the disk: a stream saves once per batch its listener
 * handled.
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
            try (FileChannel channel = FileChannel.open(
                    temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                channel.write(ByteBuffer.wrap(Long.toString(seq).getBytes(StandardCharsets.UTF_8)));
                // Else the rename may reach the disk before the data does, and a power loss leaves it empty.
                channel.force(true);
            }
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
