package dev.switchboard.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;

/** {@code switchboard listen} in a process of its own, as a developer runs it, with its own config directory. */
public final class ListenProcess implements AutoCloseable {
    private final Process process;
    private final List<String> lines;
    private final Thread reader;

    private ListenProcess(Process process, List<String> lines, Thread reader) {
        this.process = process;
        this.lines = lines;
        this.reader = reader;
    }

    public static ListenProcess start(Path configHome, String... args) {
        return start(configHome, Map.of(), args);
    }

    /** With {@code env} added to its environment (which has no other SWITCHBOARD_ variable). */
    public static ListenProcess start(Path configHome, Map<String, String> env, String... args) {
        FastGuard.refuse("a listen process");
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(
                List.of(java, "-cp", System.getProperty("java.class.path"), "dev.switchboard.Main", "listen"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("SWITCHBOARD_"));
        pb.environment().put("XDG_CONFIG_HOME", configHome.toString());
        pb.environment().putAll(env);
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("could not start switchboard listen", e);
        }
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        Thread reader = Thread.ofVirtual().start(() -> {
            try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // the process ended
            }
        });
        return new ListenProcess(process, lines, reader);
    }

    public Process process() {
        return process;
    }

    public String output() {
        synchronized (lines) {
            return String.join("\n", lines);
        }
    }

    /** The first group of the first output line matching {@code pattern}, waiting for it. */
    public String await(Pattern pattern) {
        String[] found = new String[1];
        Awaitility.await()
                .atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(50))
                .failFast(
                        "switchboard listen ended:\n" + output(), () -> !process.isAlive() && !matches(pattern, found))
                .until(() -> matches(pattern, found));
        return found[0];
    }

    private boolean matches(Pattern pattern, String[] found) {
        synchronized (lines) {
            for (String line : lines) {
                Matcher m = pattern.matcher(line);
                if (m.find()) {
                    found[0] = m.groupCount() > 0 ? m.group(1) : m.group();
                    return true;
                }
            }
        }
        return false;
    }

    /** SIGKILL: no shutdown hook runs, nothing is saved on the way out. */
    public void kill() {
        process.destroyForcibly();
        waitFor();
    }

    /** SIGINT, as Ctrl-C sends it: the shutdown hook closes the stream. */
    public int interrupt() {
        try {
            new ProcessBuilder("kill", "-INT", Long.toString(process.pid()))
                    .inheritIO()
                    .start()
                    .waitFor();
        } catch (IOException e) {
            throw new IllegalStateException("could not run kill -INT", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return waitFor();
    }

    public int waitFor() {
        try {
            if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("switchboard listen did not end:\n" + output());
            }
            reader.join(5_000); // the output's last lines
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            waitFor();
        }
    }
}
