package dev.switchboard;

import dev.switchboard.cli.ListenCommand;
import dev.switchboard.cli.VersionProvider;
import dev.switchboard.config.Config;
import dev.switchboard.config.ConfigException;
import dev.switchboard.config.ConfigLoader;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The launcher's command line: {@code serve} (the default) starts a node, {@code listen} forwards a
 * tenant's events to a local URL as signed webhook messages. An unknown command or option prints a
 * short usage and exits with status 2, starting nothing.
 */
@Command(
        name = "switchboard",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Self-hosted API operations, webhooks and WebSockets on one PostgreSQL event log.",
            "Without a command, starts a server (as 'serve')."
        },
        subcommands = {Main.Serve.class, ListenCommand.class})
public final class Main implements Callable<Integer> {
    /** The exit status of a command line that could not be understood. */
    public static final int USAGE = 2;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line, with its error handling: for tests as well as {@link #main}. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.setParameterExceptionHandler((error, args) -> {
            CommandLine command = error.getCommandLine();
            PrintWriter err = command.getErr();
            String message = error.getMessage();
            if (error instanceof CommandLine.UnmatchedArgumentException unmatched
                    && command.getParent() == null
                    && !unmatched.getUnmatched().isEmpty()
                    && !unmatched.getUnmatched().get(0).startsWith("-")) {
                message = "unknown command '" + unmatched.getUnmatched().get(0) + "' (commands: "
                        + String.join(", ", command.getSubcommands().keySet()) + ")";
            }
            err.println(
                    command.getParent() == null
                            ? "switchboard: " + message
                            : "switchboard " + command.getCommandName() + ": " + message);
            err.print(command.getHelp().synopsis(0));
            err.println("Try '" + command.getCommandSpec().qualifiedName() + " --help' for more.");
            err.flush();
            return USAGE;
        });
        return cli;
    }

    @Override
    public Integer call() {
        return new Serve().call();
    }

    /**
     * Starts a Switchboard node from the environment and stops it gracefully on SIGTERM or Ctrl-C: not
     * ready first, for server.shutdownGrace, then drained (see {@link Switchboard#stop}).
     */
    @Command(
            name = "serve",
            mixinStandardHelpOptions = true,
            versionProvider = VersionProvider.class,
            description = {
                "Starts a Switchboard server. Settings come from switchboard.yaml (or the file named by"
                        + " SWITCHBOARD_CONFIG)",
                "and SWITCHBOARD_* environment variables; README.md lists them all."
            })
    public static final class Serve implements Callable<Integer> {
        /** How long a stop asked for during the start waits for it (the start's own steps are bounded). */
        private static final java.time.Duration START_WAIT = java.time.Duration.ofMinutes(3);

        private static void awaitStart(CountDownLatch startEnded) {
            if (startEnded.getCount() == 0) {
                return;
            }
            org.slf4j.LoggerFactory.getLogger(Main.class)
                    .info("Asked to stop while starting: stopping once the start has finished");
            try {
                if (!startEnded.await(START_WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)) {
                    org.slf4j.LoggerFactory.getLogger(Main.class)
                            .warn(
                                    "The start did not finish within {}; exiting without stopping what it opened (the"
                                            + " next start stops a PostgreSQL left running)",
                                    START_WAIT);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public Integer call() {
            Config config;
            List<String> warnings = new ArrayList<>();
            try {
                config = ConfigLoader.load(System.getenv(), warnings::add);
            } catch (ConfigException e) {
                System.err.println("switchboard: configuration error: " + e.getMessage());
                return USAGE;
            }
            Logging.configure(config.logFormat());
            warnings.forEach(org.slf4j.LoggerFactory.getLogger(Main.class)::warn);
            // The hook is in place before the node starts, so a SIGTERM right after it logs that it is ready
            // still stops it gracefully: not ready first, for server.shutdownGrace, then drained.
            AtomicReference<Switchboard> running = new AtomicReference<>();
            CountDownLatch startEnded = new CountDownLatch(1);
            CountDownLatch stopped = new CountDownLatch(1);
            Runtime.getRuntime()
                    .addShutdownHook(new Thread(
                            () -> {
                                // Stopped while starting: the start goes on (the JVM waits for this hook), and
                                // what it opened is closed once it ends. Exiting at once would leave the embedded
                                // PostgreSQL running, found and stopped only by the next start.
                                awaitStart(startEnded);
                                Switchboard switchboard = running.get();
                                if (switchboard != null) {
                                    org.slf4j.LoggerFactory.getLogger(Main.class)
                                            .info("Stopping Switchboard");
                                    switchboard.stop(switchboard.shutdownGrace());
                                    org.slf4j.LoggerFactory.getLogger(Main.class)
                                            .info("Switchboard stopped");
                                }
                                stopped.countDown();
                            },
                            "shutdown"));
            try {
                running.set(new Switchboard(config).start());
            } catch (ConfigException e) {
                System.err.println("switchboard: configuration error: " + e.getMessage());
                return USAGE;
            } catch (RuntimeException e) {
                org.slf4j.LoggerFactory.getLogger(Main.class)
                        .error("Switchboard could not start: {}", e.getMessage(), e);
                return 1;
            } finally {
                startEnded.countDown();
            }
            try {
                stopped.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 0;
        }
    }
}
