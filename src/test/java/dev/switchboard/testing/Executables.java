package dev.switchboard.testing;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Programs the tests run (node, chromium, nginx, kubectl), found the way a shell finds them. */
public final class Executables {
    private Executables() {}

    /** The first executable file called {@code name} in a directory of PATH, then of {@code moreDirs}. */
    public static Optional<Path> onPath(String name, String... moreDirs) {
        List<String> dirs =
                new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
        dirs.addAll(List.of(moreDirs));
        for (String dir : dirs) {
            if (!dir.isBlank()) {
                Path candidate = Path.of(dir, name);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                    return Optional.of(candidate);
                }
            }
        }
        return Optional.empty();
    }
}
