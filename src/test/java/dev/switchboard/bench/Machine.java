package dev.switchboard.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The machine a run measured: CPU, cores, memory, kernel, JDK, the PostgreSQL version and the settings
 * that decide write speed, and how long the disk takes to make 8 KiB durable (write, then fdatasync),
 * which is what one tenant's serialised commits each wait for.
 */
record Machine(
        String cpu,
        int cores,
        long memoryMiB,
        String kernel,
        String jdk,
        String postgres,
        Map<String, String> postgresSettings,
        double flushMicros) {

    private static final List<String> SETTINGS = List.of(
            "fsync", "synchronous_commit", "wal_sync_method", "full_page_writes", "shared_buffers", "max_connections");

    static Machine describe(Connection db, Path dataDir) throws IOException, SQLException {
        return new Machine(
                cpuModel(),
                Runtime.getRuntime().availableProcessors(),
                totalMemoryMiB(),
                System.getProperty("os.name") + " " + System.getProperty("os.version"),
                System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"),
                query(db, "SHOW server_version"),
                settings(db),
                flushMicros(dataDir));
    }

    private static String cpuModel() throws IOException {
        return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                .filter(l -> l.startsWith("model name"))
                .map(l -> l.substring(l.indexOf(':') + 1).trim())
                .findFirst()
                .orElse("unknown");
    }

    private static long totalMemoryMiB() throws IOException {
        return Files.readAllLines(Path.of("/proc/meminfo")).stream()
                .filter(l -> l.startsWith("MemTotal:"))
                .map(l -> Long.parseLong(l.replaceAll("\\D", "")) / 1024)
                .findFirst()
                .orElse(0L);
    }

    private static Map<String, String> settings(Connection db) throws SQLException {
        Map<String, String> values = new LinkedHashMap<>();
        for (String name : SETTINGS) {
            values.put(name, query(db, "SHOW " + name));
        }
        return values;
    }

    private static String query(Connection db, String sql) throws SQLException {
        try (Statement s = db.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Median time of 200 durable 8 KiB writes to one file in the data directory, in microseconds. */
    private static double flushMicros(Path dataDir) throws IOException {
        Path file = dataDir.resolve("flush-test");
        long[] nanos = new long[200];
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer page = ByteBuffer.allocateDirect(8192);
            for (int i = 0; i < nanos.length; i++) {
                long start = System.nanoTime();
                channel.write(page.clear(), 0);
                channel.force(false);
                nanos[i] = System.nanoTime() - start;
            }
        } finally {
            Files.deleteIfExists(file);
        }
        Arrays.sort(nanos);
        return nanos[nanos.length / 2] / 1000.0;
    }
}
