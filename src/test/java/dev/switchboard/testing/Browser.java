package dev.switchboard.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A test class that drives a real headless Chromium ({@link HeadlessChromium}). Where no Chromium is
 * installed (a laptop without root, say) its tests are skipped, saying why and how to run them; CI runs
 * {@code bin/test} as root, which installs Debian's chromium first, so there they always run. A
 * {@code CHROMIUM_PATH} that is set but wrong is not "no browser": the tests run and fail, naming it.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag("browser")
@ExtendWith(Browser.WhenInstalled.class)
public @interface Browser {
    String HOW_TO_RUN = "install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH to a Chromium or"
            + " Chrome binary, then run bin/test -Dtest=ExamplePageTest";

    final class WhenInstalled implements ExecutionCondition {
        private static volatile boolean told;

        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            if (HeadlessChromium.binary().isPresent()) {
                return ConditionEvaluationResult.enabled(
                        "Chromium at " + HeadlessChromium.binary().get());
            }
            String reason =
                    "no Chromium found (CHROMIUM_PATH is unset and there is no chromium on PATH), so the browser"
                            + " tests are skipped: to run them, " + HOW_TO_RUN;
            if (!told) {
                told = true;
                System.err.println(context.getRequiredTestClass().getSimpleName() + ": " + reason);
            }
            return ConditionEvaluationResult.disabled(reason);
        }
    }
}
