package dev.switchboard;

import dev.switchboard.config.Config;
import dev.switchboard.config.ConfigException;
import dev.switchboard.config.ConfigLoader;
import java.util.concurrent.CountDownLatch;

/**
 * Starts a Switchboard node from the environment and stops it gracefully on SIGTERM or Ctrl-C: not
 * ready first, for server.shutdownGrace, then drained (see {@link Switchboard#stop}).
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.println("Usage: switchboard\n\nStarts a Switchboard server. Settings come from switchboard.yaml"
                    + " (or the file named by SWITCHBOARD_CONFIG)\nand SWITCHBOARD_* environment variables;"
                    + " README.md lists them all.");
            return;
        }
        Config config;
        try {
            config = ConfigLoader.load(System.getenv());
        } catch (ConfigException e) {
            System.err.println("switchboard: configuration error: " + e.getMessage());
            System.exit(2);
            return;
        }
        Logging.configure(config.logFormat());
        // The hook is in place before the node starts, so a SIGTERM right after it logs that it is ready still
        // stops it gracefully.
        java.util.concurrent.atomic.AtomicReference<Switchboard> running =
                new java.util.concurrent.atomic.AtomicReference<>();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            Switchboard switchboard = running.get();
                            if (switchboard != null) {
                                org.slf4j.LoggerFactory.getLogger(Main.class).info("Stopping Switchboard");
                                switchboard.stop(switchboard.shutdownGrace());
                                org.slf4j.LoggerFactory.getLogger(Main.class).info("Switchboard stopped");
                            }
                            stopped.countDown();
                        },
                        "shutdown"));
        try {
            running.set(new Switchboard(config).start());
        } catch (ConfigException e) {
            System.err.println("switchboard: configuration error: " + e.getMessage());
            System.exit(2);
            return;
        } catch (RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(Main.class).error("Switchboard could not start: {}", e.getMessage(), e);
            System.exit(1);
            return;
        }
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
