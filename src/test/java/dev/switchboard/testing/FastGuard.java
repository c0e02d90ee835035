package dev.switchboard.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Keeps the fast layer fast: while a {@link Fast} class runs, whatever would start a database or a
 * server calls {@link #refuse}, which fails the test naming the class. Test classes run one after the
 * other in one JVM (surefire's single fork), so one field is enough.
 */
public final class FastGuard implements BeforeAllCallback, AfterAllCallback {
    private static volatile String running;

    @Override
    public void beforeAll(ExtensionContext context) {
        running = context.getRequiredTestClass().getSimpleName();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        running = null;
    }

    /** Fails when a {@link Fast} class is running: {@code what} would make it slow. */
    static void refuse(String what) {
        String test = running;
        if (test != null) {
            throw new IllegalStateException(
                    test + " is @Fast but starts " + what
                            + ": take the @Fast annotation off it (it then runs with the database tests), or make it start none");
        }
    }
}
