package dev.switchboard.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A test class of the fast layer ({@code bin/test --fast}): it needs no database, no server and no
 * browser, and runs in milliseconds. {@link FastGuard} makes the embedded PostgreSQL, a server process
 * and an external PostgreSQL refuse to start while such a class runs, and {@code TestLayersTest} checks
 * that every test class that names none of them carries this annotation.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag("fast")
@ExtendWith(FastGuard.class)
public @interface Fast {}
