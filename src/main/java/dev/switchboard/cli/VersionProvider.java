package dev.switchboard.cli;

import dev.switchboard.support.Version;
import picocli.CommandLine;

/** {@code switchboard --version}, and {@code --version} after any of its commands. */
public final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        return new String[] {"switchboard " + Version.current()};
    }
}
