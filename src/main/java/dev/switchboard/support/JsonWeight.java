package dev.switchboard.support;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * About how many bytes of heap a JSON text takes once read into a tree, found from its tokens without
 * building the tree. A tree is many times larger than its text, and how many times depends on the text:
 * a megabyte of {@code [{},{},…]} (349,000 empty objects) is about 39 MB of objects, maps and entry sets,
 * a megabyte of one long string about 2 MB. Weighed by its bytes alone, a request could take forty times
 * what it was counted for. The figures per token are what a class histogram of such trees showed (JDK 25,
 * compressed pointers), rounded up; each character is counted twice, as a string may hold it in UTF-16.
 */
public final class JsonWeight {
    static final int OBJECT = 112; // ObjectNode, its LinkedHashMap and the entry set read from it
    static final int ARRAY = 64; // ArrayNode, its ArrayList and the list's array
    static final int FIELD = 56; // the map's entry, its slot in the table, the key's String
    static final int VALUE = 48; // a number's or a string's node and object, its slot in the parent

    private JsonWeight() {}

    /** The weight of a body's bytes (UTF-8 JSON). */
    public static long of(byte[] json) {
        try {
            return weigh(Json.MAPPER.getFactory().createParser(json), json.length);
        } catch (IOException e) {
            return 2L * json.length;
        }
    }

    /** The weight of a message's text. */
    public static long of(String json) {
        try {
            return weigh(Json.MAPPER.getFactory().createParser(json), json.length());
        } catch (IOException e) {
            return 2L * json.length();
        }
    }

    private static long weigh(JsonParser parser, long length) {
        long weight = 2 * length;
        try (parser) {
            // Reading tokens without their text skips each string's contents instead of decoding them.
            for (JsonToken token; (token = parser.nextToken()) != null; ) {
                weight += switch (token) {
                    case START_OBJECT -> OBJECT;
                    case START_ARRAY -> ARRAY;
                    case FIELD_NAME -> FIELD;
                    case END_OBJECT, END_ARRAY -> 0;
                    default -> VALUE;
                };
            }
        } catch (IOException e) {
            // Not JSON (or too deep) from here on: no tree will be built past this point, and the parse that
            // follows refuses the text, naming where.
        }
        return weight;
    }
}
