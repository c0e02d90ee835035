package dev.switchboard.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.switchboard.support.Refusal;
import dev.switchboard.testing.Fast;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A check that finds no free thread for a second says so as 503 (retry): refused as data that "cannot be
 * checked", a valid write of one tenant was answered 400 because another's slow checks held every thread.
 */
@Fast
class ValidationBudgetTest {
    @Test
    void aCheckThatWaitsTooLongForAThreadIsBusyNotInvalid() throws Exception {
        int threads = 4 * Runtime.getRuntime().availableProcessors();
        CountDownLatch holding = new CountDownLatch(threads);
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor();
        try {
            for (int i = 0; i < threads; i++) {
                callers.submit(() -> {
                    try {
                        return ValidationBudget.within(() -> {
                            holding.countDown();
                            try {
                                release.await(10, TimeUnit.SECONDS); // work the budget's checks never reach
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                            return null;
                        });
                    } catch (ValidationBudget.Exceeded expected) {
                        return null;
                    }
                });
            }
            assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
            Throwable waited = catchThrowable(() -> ValidationBudget.within(() -> "checked"));
            assertThat(waited).isInstanceOf(Refusal.Busy.class);
            assertThat(waited.getMessage()).contains("retry");
        } finally {
            release.countDown();
            callers.shutdown();
            callers.awaitTermination(10, TimeUnit.SECONDS);
        }
        assertThat(ValidationBudget.within(() -> "checked")).isEqualTo("checked");
    }
}
