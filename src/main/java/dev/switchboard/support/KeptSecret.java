package dev.switchboard.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.function.Supplier;

/**
 * A secret kept in a file of its own, readable by its owner only (the embedded database's password,
 * {@code switchboard listen}'s signing secret): read, or made once. The file is written whole under
 * another name and then moved into place, so no reader sees half of it; of two processes making it at
 * once, the first to move its file in wins and the other takes that one.
 */
public final class KeptSecret {
    private KeptSecret() {}

    /** The secret in {@code file}; made by {@code make} and kept there when the file is missing or blank. */
    public static String readOrMake(Path file, Supplier<String> make) throws IOException {
        String kept = read(file);
        if (!kept.isEmpty()) {
            return kept;
        }
        Files.deleteIfExists(file); // blank: a write cut short, made again
        Files.createDirectories(file.getParent());
        String made = make.get();
        Path temp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
        try {
            try {
                Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException notPosix) {
                // Windows: the directory's own permissions protect it
            }
            Files.writeString(temp, made + "\n", StandardCharsets.UTF_8);
            Files.move(temp, file);
            return made;
        } catch (FileAlreadyExistsException anotherProcess) {
            return read(file);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private static String read(Path file) throws IOException {
        return Files.exists(file)
                ? Files.readString(file, StandardCharsets.UTF_8).strip()
                : "";
    }
}
