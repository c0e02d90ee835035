package dev.switchboard.store;

import java.util.List;

/** The collections an integration may read and write; {@code *} stands for all of them. */
public record Permissions(List<String> read, List<String> write) {
    public static final Permissions ALL = new Permissions(List.of("*"), List.of("*"));

    public Permissions {
        read = List.copyOf(read);
        write = List.copyOf(write);
    }

    public boolean canRead(String collection) {
        return read.contains("*") || read.contains(collection);
    }

    public boolean canWrite(String collection) {
        return write.contains("*") || write.contains(collection);
    }

    /** The readable collections for the event log's filter, or null for all. */
    public List<String> readableOrNull() {
        return read.contains("*") ? null : read;
    }
}
