package dev.switchboard.bench;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * CPU time of the benchmark's three parties, and of the whole machine, read from Linux's /proc: the
 * load generator (this JVM, the wrk runs it has waited for, and any helper process it names, such as
 * a receiver of its own), the server, and PostgreSQL (the postmaster and every backend it forked,
 * including the ones that have exited). "Other" is whatever else ran on the machine, which on a shared
 * machine is the noise in the figures.
 */
final class CpuMeter {
    /** /proc counts CPU time in ticks of USER_HZ, which is 100 on Linux. */
    private static final double SECONDS_PER_TICK = 0.01;

    private final long serverPid;
    private final long postgresPid;
    private final List<Long> helperPids;

    CpuMeter(long serverPid, long postgresPid) {
        this(serverPid, postgresPid, List.of());
    }

    /** {@code helperPids}: the load generator's processes besides this JVM (a receiver of its own). */
    CpuMeter(long serverPid, long postgresPid, List<Long> helperPids) {
        this.serverPid = serverPid;
        this.postgresPid = postgresPid;
        this.helperPids = helperPids;
    }

    /** Ticks so far: PostgreSQL's by kind of process ({@link #postgresByKind}), and in all. */
    record Sample(long nanos, long loadGenerator, long server, PostgresTicks postgresByKind, long machine) {
        long postgres() {
            return postgresByKind.total();
        }
    }

    /** Cores used on average between two samples (1.0 is one core busy all the time). */
    record Usage(double loadGenerator, double server, double postgres, double other, double machine) {}

    Sample sample() {
        return new Sample(
                System.nanoTime(), loadGeneratorTicks(), ticks(serverPid, false), postgresByKind(), machineTicks());
    }

    private long loadGeneratorTicks() {
        long ticks = ticks(ProcessHandle.current().pid(), true);
        for (long pid : helperPids) {
            ticks += ticks(pid, false);
        }
        return ticks;
    }

    static Usage between(Sample a, Sample b) {
        double seconds = (b.nanos() - a.nanos()) / 1e9;
        double loadGenerator = cores(b.loadGenerator() - a.loadGenerator(), seconds);
        double server = cores(b.server() - a.server(), seconds);
        double postgres = cores(b.postgres() - a.postgres(), seconds);
        double machine = cores(b.machine() - a.machine(), seconds);
        return new Usage(
                loadGenerator, server, postgres, Math.max(0, machine - loadGenerator - server - postgres), machine);
    }

    static double cores(long ticks, double seconds) {
        return ticks * SECONDS_PER_TICK / seconds;
    }

    /**
     * PostgreSQL's CPU ticks by kind of process, from each one's title in /proc/PID/cmdline:
     * {@code connections} are the backends serving clients (the server's pool, and this benchmark's
     * own queries); {@code autovacuum} is its workers' (the live ones, plus every child that has
     * exited, which the postmaster has reaped: autovacuum workers end after each run, while the pool's
     * connections live on); {@code background} is the WAL writer, checkpointer, background writer,
     * launchers and the postmaster itself.
     */
    record PostgresTicks(long connections, long autovacuum, long background) {
        long total() {
            return connections + autovacuum + background;
        }

        PostgresTicks since(PostgresTicks earlier) {
            return new PostgresTicks(
                    connections - earlier.connections,
                    autovacuum - earlier.autovacuum,
                    background - earlier.background);
        }
    }

    private PostgresTicks postgresByKind() {
        List<String> postmaster = statFields(Path.of("/proc", Long.toString(postgresPid), "stat"));
        if (postmaster == null) {
            throw new IllegalStateException("process " + postgresPid + " is gone");
        }
        long connections = 0;
        long autovacuum = ticks(postmaster, true) - ticks(postmaster, false);
        long background = ticks(postmaster, false);
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path proc : procs) {
                List<String> fields = statFields(proc.resolve("stat"));
                if (fields == null || Long.parseLong(fields.get(1)) != postgresPid) {
                    continue;
                }
                long ticks = ticks(fields, true);
                String title = title(proc);
                if (title.startsWith("postgres: autovacuum worker")) {
                    autovacuum += ticks;
                } else if (title.startsWith("postgres: autovacuum launcher")
                        || title.startsWith("postgres: checkpointer")
                        || title.startsWith("postgres: background writer")
                        || title.startsWith("postgres: walwriter")
                        || title.startsWith("postgres: logical replication launcher")
                        || title.startsWith("postgres: io worker")) {
                    background += ticks;
                } else {
                    connections += ticks;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read /proc: the benchmark measures CPU on Linux only", e);
        }
        return new PostgresTicks(connections, autovacuum, background);
    }

    private static String title(Path proc) {
        try {
            return Files.readString(proc.resolve("cmdline")).replace('\0', ' ').trim();
        } catch (IOException e) {
            return "";
        }
    }

    private static long ticks(long pid, boolean withExitedChildren) {
        List<String> fields = statFields(Path.of("/proc", Long.toString(pid), "stat"));
        if (fields == null) {
            throw new IllegalStateException("process " + pid + " is gone");
        }
        return ticks(fields, withExitedChildren);
    }

    /** utime + stime (fields 14 and 15 of /proc/PID/stat), plus cutime + cstime of reaped children. */
    private static long ticks(List<String> fields, boolean withExitedChildren) {
        long own = Long.parseLong(fields.get(11)) + Long.parseLong(fields.get(12));
        return withExitedChildren ? own + Long.parseLong(fields.get(13)) + Long.parseLong(fields.get(14)) : own;
    }

    /** The fields of /proc/PID/stat after the command name (which may hold spaces): state, ppid, ...; null if gone. */
    private static List<String> statFields(Path stat) {
        try {
            String text = Files.readString(stat);
            return List.of(text.substring(text.lastIndexOf(')') + 2).trim().split(" "));
        } catch (IOException e) {
            return null;
        }
    }

    /** Busy time of all CPUs: the first line of /proc/stat less idle and iowait. */
    private static long machineTicks() {
        try {
            String[] f =
                    Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
            long busy = 0;
            for (int i = 1; i <= 8 && i < f.length; i++) {
                if (i != 4 && i != 5) { // idle, iowait
                    busy += Long.parseLong(f[i]);
                }
            }
            return busy;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read /proc/stat", e);
        }
    }
}
