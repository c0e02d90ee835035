package dev.switchboard.client;

/**
 * A record written over the event stream, with the position of the event the write appended.
 *
 * @param record the record as written
 * @param seq the {@code seq} of the event the write appended (for a replayed create, the first create's;
 *     0 when the server did not say): the stream's listener sees that event after this arrives
 * @param replayed true for a create that replayed the first one with the same idempotency key
 */
public record RecordWrite(DataRecord record, long seq, boolean replayed) {

    static RecordWrite from(SocketResponse response) {
        return new RecordWrite(
                DataRecord.from(response.result()), response.seq().orElse(0), response.replayed());
    }
}
