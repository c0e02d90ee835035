package dev.switchboard.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonMetaSchema;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import com.networknt.schema.resource.AllowSchemaLoader;
import dev.switchboard.config.CollectionDefinition;
import dev.switchboard.config.ConfigException;
import dev.switchboard.config.Suggestions;
import dev.switchboard.db.DatabaseException;
import dev.switchboard.db.Jdbc;
import dev.switchboard.events.ControlChannel;
import dev.switchboard.events.ControlMessage.CollectionsChanged;
import dev.switchboard.events.EventTypes;
import dev.switchboard.support.Json;
import dev.switchboard.support.Refusal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Collections, kept in the database and mirrored in memory (every request needs its collection and
 * compiled schema). A change on any node tells every node to reload, through the control channel.
 */
public final class CollectionStore {
    private static final Logger log = LoggerFactory.getLogger(CollectionStore.class);
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]{0,62}");
    private static final Pattern FIELD = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_-]{0,63}");
    private static final int MAX_EVENT_FIELDS = 32;
    /**
     * The meta-schemas the schema library carries in its jar. A {@code $schema} naming any other is
     * refused: the library would fetch it over HTTP, from wherever whoever creates collections chose.
     */
    static final Set<String> BUILT_IN_META_SCHEMAS = Set.of(
            "https://json-schema.org/draft/2020-12/schema",
            "https://json-schema.org/draft/2019-09/schema",
            "http://json-schema.org/draft-07/schema",
            "http://json-schema.org/draft-06/schema",
            "http://json-schema.org/draft-04/schema");
    /** Where the library finds those meta-schemas (and their vocabularies) once it has mapped their URIs. */
    private static final Pattern BUILT_IN_RESOURCE =
            Pattern.compile("classpath:draft(-0[467]/schema|/20(19-09|20-12)/(schema|meta/[a-z-]+))");
    /**
     * Loads nothing from outside the jar: the library tries its own loaders (including one that opens any
     * URL) after ours, so ours refuses everything but the built-in meta-schemas, whatever a schema's
     * {@code $schema}, {@code $id} or references lead it to look up, now or when a record is validated.
     */
    private static final JsonSchemaFactory SCHEMAS = JsonSchemaFactory.getInstance(
            SpecVersion.VersionFlag.V202012,
            factory -> factory.schemaLoaders(loaders -> loaders.add(new AllowSchemaLoader(
                            iri -> BUILT_IN_RESOURCE.matcher(iri.toString()).matches())))
                    .metaSchemas(Stream.of(
                                    JsonMetaSchema.getV4(),
                                    JsonMetaSchema.getV6(),
                                    JsonMetaSchema.getV7(),
                                    JsonMetaSchema.getV201909(),
                                    JsonMetaSchema.getV202012())
                            .map(UniqueItems::in)
                            .toList()));

    /** The dialect of a schema that names none in {@code $schema}. */
    private static final String DEFAULT_META_SCHEMA = "https://json-schema.org/draft/2020-12/schema";
    /**
     * Each built-in meta-schema, to check a schema against the one its {@code $schema} names: checked against
     * 2020-12's, a valid draft-04 schema ({@code "exclusiveMaximum": true}) or draft-07 one (an {@code items}
     * array) was refused.
     */
    private static final Map<String, JsonSchema> META_SCHEMAS = BUILT_IN_META_SCHEMAS.stream()
            .collect(java.util.stream.Collectors.toUnmodifiableMap(
                    iri -> iri, iri -> SCHEMAS.getSchema(SchemaLocation.of(iri))));
    /**
     * Names in the library's keyword tables that no draft has: "true" and "false" stand for boolean
     * schemas, and as keywords "false" refused every record; "notAllowed" is enforced; "exampleSetFlag" is
     * internal.
     */
    private static final Set<String> NOT_KEYWORDS = Set.of("true", "false", "notAllowed", "exampleSetFlag");

    /** The keywords of each built-in dialect; the schema library ignores any other. */
    private static final Map<String, Set<String>> KEYWORDS = Map.of(
            "https://json-schema.org/draft/2020-12/schema", keywords(JsonMetaSchema.getV202012()),
            "https://json-schema.org/draft/2019-09/schema", keywords(JsonMetaSchema.getV201909()),
            "http://json-schema.org/draft-07/schema", keywords(JsonMetaSchema.getV7()),
            "http://json-schema.org/draft-06/schema", keywords(JsonMetaSchema.getV6()),
            "http://json-schema.org/draft-04/schema", keywords(JsonMetaSchema.getV4()));

    private static Set<String> keywords(JsonMetaSchema dialect) {
        return dialect.getKeywords().keySet().stream()
                .filter(k -> !NOT_KEYWORDS.contains(k))
                .collect(Collectors.toUnmodifiableSet());
    }

    private final DataSource dataSource;
    private volatile Map<String, RecordCollection> byName = Map.of();
    /** A reload announced by another node failed: the collections are read again before their next use. */
    private volatile boolean stale;

    private final java.util.concurrent.locks.ReentrantLock reloading = new java.util.concurrent.locks.ReentrantLock();

    private final ControlChannel control;

    public CollectionStore(DataSource dataSource, ControlChannel control) {
        this.dataSource = dataSource;
        this.control = control;
    }

    /**
     * Makes the database match the collections declared in configuration, then loads all of them. Other
     * nodes hear of a change at once: until they reload, they would accept records the new schema refuses
     * and copy fields no longer named in {@code eventFields} into events.
     */
    public void syncDeclared(List<CollectionDefinition> declared) {
        for (int i = 0; i < declared.size(); i++) {
            try {
                validate(declared.get(i), "collections[" + i + "].");
            } catch (Refusal.InvalidField e) {
                // A configuration error like any other: named, without a stack trace, and exit status 2.
                throw new ConfigException(e.getMessage());
            }
        }
        Jdbc.inTransaction(dataSource, c -> {
            int changed = 0;
            for (CollectionDefinition d : declared) {
                changed += Jdbc.update(
                        c,
                        "INSERT INTO collections (name, schema, event_fields, source)"
                                + " VALUES (?, ?::jsonb, ?, 'config') ON CONFLICT (name) DO UPDATE SET schema = excluded.schema,"
                                + " event_fields = excluded.event_fields, source = 'config', updated_at = now()"
                                + " WHERE collections.schema IS DISTINCT FROM excluded.schema"
                                + " OR collections.event_fields IS DISTINCT FROM excluded.event_fields"
                                + " OR collections.source <> 'config'",
                        d.name(),
                        d.schema() == null ? null : Json.write(d.schema()),
                        d.eventFields());
            }
            if (changed > 0) {
                control.publish(c, new CollectionsChanged());
            }
            return null;
        });
        reload();
        log.info("{} collections: {}", byName.size(), byName.keySet());
        Set<String> names = declared.stream().map(CollectionDefinition::name).collect(Collectors.toSet());
        byName.values().stream()
                .filter(col -> "config".equals(col.source()) && !names.contains(col.name()))
                .forEach(col -> log.warn(
                        "Collection '{}' was declared in configuration and no longer is; it is kept, with its"
                                + " records, and accepts writes as before (collections are never deleted)",
                        col.name()));
    }

    public RecordCollection create(CollectionDefinition definition) {
        validate(definition, "");
        try {
            Jdbc.inTransaction(dataSource, c -> {
                Jdbc.update(
                        c,
                        "INSERT INTO collections (name, schema, event_fields, source) VALUES (?, ?::jsonb, ?, 'api')",
                        definition.name(),
                        definition.schema() == null ? null : Json.write(definition.schema()),
                        definition.eventFields());
                control.publish(c, new CollectionsChanged());
                return null;
            });
        } catch (DatabaseException e) {
            if (e.getCause() instanceof SQLException sql && Jdbc.isUniqueViolation(sql)) {
                throw new Refusal.Conflict(
                        "collection_exists", "a collection named '" + definition.name() + "' already exists");
            }
            throw e;
        }
        // The channel has reloaded this node's collections after the commit; get would reload if not.
        return get(definition.name());
    }

    /** Whether {@code name} may name a collection (one may be created with it, if none is yet). */
    public static boolean isName(String name) {
        return NAME.matcher(name).matches() && !name.equals("connection") && !name.equals("webhook");
    }

    public Optional<RecordCollection> find(String name) {
        RecordCollection found = current().get(name);
        if (found == null && NAME.matcher(name).matches() && existsInDatabase(name)) {
            // Created on another node a moment ago, before its notification arrived here. (Only then: a
            // reload compiles every collection's schema, one reload at a time, and a name that exists
            // nowhere may come with every request a client sends.)
            reload();
            found = byName.get(name);
        }
        return Optional.ofNullable(found);
    }

    private boolean existsInDatabase(String name) {
        return Jdbc.withConnection(
                        dataSource, c -> Jdbc.one(c, "SELECT 1 FROM collections WHERE name = ?", rs -> 1, name))
                .isPresent();
    }

    public RecordCollection get(String name) {
        return find(name).orElseThrow(() -> new Refusal.NotFound("collection '" + name + "'"));
    }

    /** Whether it exists, also when created on another node a moment ago ({@link #find}). */
    public boolean exists(String name) {
        return find(name).isPresent();
    }

    public List<RecordCollection> list() {
        return List.copyOf(current().values());
    }

    /** The collections, read again first when the last announced change could not be read. */
    private Map<String, RecordCollection> current() {
        if (stale) {
            reloading.lock();
            try {
                if (stale) { // once for all the requests waiting here, not once each
                    reload(); // throws while the database cannot be read, as the request would fail anyway
                }
            } finally {
                reloading.unlock();
            }
        }
        return byName;
    }

    /**
     * A change another node announced (or a resync): read now, or, when the database cannot be read now,
     * before the next use of a collection. The announcement comes once: kept on the old definitions, this
     * node would accept records the new schema refuses until the next change.
     */
    public void reloadAnnounced() {
        try {
            reload();
        } catch (RuntimeException e) {
            stale = true;
            log.warn(
                    "Reading the collections after a change failed ({}); this node reads them again before it next"
                            + " uses one",
                    e.getMessage());
        }
    }

    /**
     * Re-reads every collection. Reloads take turns, reading and publishing together: otherwise a reload
     * that read before a new collection committed could publish after the one that read it, and the new
     * collection would vanish from this node until the next change.
     */
    public void reload() {
        reloading.lock();
        try {
            List<RecordCollection> all = Jdbc.withConnection(
                    dataSource,
                    c -> Jdbc.query(
                            c,
                            "SELECT pk, name, schema::text AS schema, event_fields, source, created_at, updated_at"
                                    + " FROM collections ORDER BY name",
                            CollectionStore::map));
            // A schema as it was is compiled as it was: compiling every one again at each change made every
            // change (and every node's reload) take as long as the slowest schema to compile.
            Map<String, RecordCollection> before = byName;
            Map<String, RecordCollection> map = new LinkedHashMap<>();
            for (RecordCollection col : all) {
                RecordCollection was = before.get(col.name());
                map.put(
                        col.name(),
                        col.withValidator(
                                col.schema() == null
                                        ? null
                                        : was != null && col.schema().equals(was.schema())
                                                ? was.validator()
                                                : compileStored(col.name(), col.schema())));
            }
            byName = Map.copyOf(map);
            stale = false;
        } finally {
            reloading.unlock();
        }
    }

    private static void validate(CollectionDefinition d, String where) {
        if (d.name() == null || !NAME.matcher(d.name()).matches()) {
            throw new Refusal.InvalidField(
                    where + "name", "must be 1-63 lower-case letters, digits or '_', starting with a letter");
        }
        if (EventTypes.isOwn(d.name())) {
            // Its records' events would be connection.created, webhook.deleted…: Switchboard's own types.
            throw new Refusal.InvalidField(
                    where + "name",
                    "'" + d.name() + "' is reserved: its events would take the names of Switchboard's own"
                            + " connection.* and webhook.* events");
        }
        if (d.eventFields().size() > MAX_EVENT_FIELDS) {
            throw new Refusal.InvalidField(where + "eventFields", "at most " + MAX_EVENT_FIELDS + " fields");
        }
        for (int i = 0; i < d.eventFields().size(); i++) {
            String f = d.eventFields().get(i);
            if (f == null || !FIELD.matcher(f).matches() || f.equals("id") || f.equals("version")) {
                throw new Refusal.InvalidField(
                        where + "eventFields[" + i + "]",
                        "must be a top-level field name (letters, digits, '_', '-'), not id or version");
            }
            if (d.eventFields().indexOf(f) < i) {
                throw new Refusal.InvalidField(
                        where + "eventFields[" + i + "]", "'" + f + "' is named twice: name each field once");
            }
        }
        if (d.schema() != null) {
            if (!d.schema().isObject() && !d.schema().isBoolean()) {
                throw new Refusal.InvalidField(where + "schema", "must be a JSON Schema (an object)");
            }
            refuseUnsafeKeywords(d.schema(), where + "schema");
            String dialect = d.schema().path("$schema").isTextual()
                    ? d.schema().get("$schema").textValue().replaceFirst("#$", "")
                    : DEFAULT_META_SCHEMA;
            Set<ValidationMessage> problems = META_SCHEMAS.get(dialect).validate(d.schema());
            if (!problems.isEmpty()) {
                throw new Refusal.InvalidField(
                        where + "schema",
                        "is not a valid JSON Schema (" + dialect + "): "
                                + problems.iterator().next().getMessage());
            }
            refuseUnknownKeywords(d.schema(), KEYWORDS.get(dialect), dialect, where + "schema");
            refuseReferenceLoop(compile(d.schema()), where + "schema");
        }
    }

    /**
     * A schema whose references lead back to themselves before reaching any part of the data ({"$ref":"#"})
     * can accept no write: validating anything recurses without end. Checked with the smallest record.
     */
    private static void refuseReferenceLoop(JsonSchema schema, String field) {
        try {
            ValidationBudget.compiling(() -> schema.validate(Json.MAPPER.createObjectNode()));
        } catch (StackOverflowError loop) {
            throw new Refusal.InvalidField(
                    field,
                    "refers to itself without end (a $ref loop), or nests references too deeply: it could check"
                            + " no record");
        } catch (ValidationBudget.Exceeded slow) {
            throw new Refusal.InvalidField(
                    field, "cannot check even an empty record: checking one " + slow.getMessage());
        }
    }

    /** The keywords whose value is a length or a count, which the schema library reads as an {@code int}. */
    private static final Set<String> COUNTS = Set.of(
            "minLength",
            "maxLength",
            "minItems",
            "maxItems",
            "minProperties",
            "maxProperties",
            "minContains",
            "maxContains");
    /** Keywords whose values are data, not schemas: a "maxItems" or "$ref" there is a value, not a keyword. */
    private static final Set<String> DATA = Set.of("const", "enum", "default", "examples", "$vocabulary");
    /**
     * Keywords whose values map names to schemas (or, for dependentRequired and some of dependencies, to
     * lists of names): a "const" or "enum" there is a name.
     */
    private static final Set<String> NAMED = Set.of(
            "properties",
            "patternProperties",
            "$defs",
            "definitions",
            "dependentSchemas",
            "dependencies",
            "dependentRequired");

    /**
     * Refuses, naming it, a keyword the schema's dialect does not have: the library ignores it, so a
     * misspelt {@code "requried"} or {@code "propertes"} checked nothing, and only the log said so. A
     * keyword of one's own (an annotation for other tools) is taken when its name starts with {@code x-}, and
     * so is a top-level container a reference points into ({@code "$ref": "#/components/A"} makes
     * {@code components} one, as {@code $defs} is under draft-07): neither is looked into.
     */
    private static void refuseUnknownKeywords(JsonNode schema, Set<String> known, String dialect, String path) {
        Set<String> containers = referencedRoots(schema);
        eachKeyword(schema, path, true, (key, value, at, top) -> {
            if (key.regionMatches(true, 0, "x-", 0, 2) || (top && !known.contains(key) && containers.contains(key))) {
                return false;
            }
            if (!known.contains(key)) {
                // A name far longer than any keyword is no misspelling of one: not compared with them all.
                Optional<String> meant = key.length() > 40 ? Optional.empty() : Suggestions.nearest(key, known);
                throw new Refusal.InvalidField(
                        at,
                        "is not a keyword of JSON Schema " + dialect
                                + meant.map(k -> " (did you mean " + k + "?)").orElse("")
                                + ": it would be ignored, and check nothing; name a keyword of your own x-…");
            }
            return true;
        });
    }

    /** A look at one keyword of a schema ({@link #eachKeyword}); true to look into its value too. */
    private interface KeywordCheck {
        boolean lookInto(String key, JsonNode value, String path, boolean topLevel);
    }

    /**
     * Shows {@code check} each keyword of the schema where it is a keyword: not in data ({@code enum},
     * {@code const}…), and a property named {@code enum} is a schema, not that keyword.
     */
    private static void eachKeyword(JsonNode schema, String path, boolean topLevel, KeywordCheck check) {
        if (schema.isArray()) {
            for (int i = 0; i < schema.size(); i++) {
                eachKeyword(schema.get(i), path + "[" + i + "]", false, check);
            }
            return;
        }
        if (!schema.isObject()) {
            return;
        }
        for (Map.Entry<String, JsonNode> f : schema.properties()) {
            String key = f.getKey();
            JsonNode value = f.getValue();
            String at = path + "." + key;
            if (!check.lookInto(key, value, at, topLevel)) {
                continue;
            }
            if (NAMED.contains(key) && value.isObject()) {
                for (Map.Entry<String, JsonNode> named : value.properties()) {
                    eachKeyword(named.getValue(), at + "." + named.getKey(), false, check);
                }
            } else if (!DATA.contains(key)) {
                eachKeyword(value, at, false, check);
            }
        }
    }

    /** The top-level names the schema's references point into ({@code "#/components/…"}: components). */
    private static Set<String> referencedRoots(JsonNode schema) {
        Set<String> roots = new java.util.HashSet<>();
        for (JsonNode ref : schema.findValues("$ref")) {
            String target = ref.asText("");
            if (target.startsWith("#/")) {
                String first = target.substring(2).split("/", 2)[0];
                roots.add(first.replace("~1", "/").replace("~0", "~")); // JSON Pointer's escapes
            }
        }
        return roots;
    }

    /**
     * Refuses, naming the field, what the schema library would get wrong or reach outside the schema for.
     * A schema may only refer within itself, and name only a built-in meta-schema: resolving anything else
     * would make the server fetch URLs (the factory refuses to load them too; this names the field). A
     * length or count past {@code Integer.MAX_VALUE} is valid JSON Schema, but the library reads it cut to
     * 32 bits: {@code "minLength": 4294967297} checked as 1, {@code "maxItems": 4294967296} as 0; no value
     * within the body limit comes near the largest allowed. Keywords are looked for where they are keywords
     * ({@link #eachKeyword}).
     */
    private static void refuseUnsafeKeywords(JsonNode schema, String path) {
        eachKeyword(schema, path, true, (key, value, at, top) -> {
            if ((key.equals("$ref") || key.equals("$dynamicRef"))
                    && value.isTextual()
                    && !value.textValue().startsWith("#")) {
                throw new Refusal.InvalidField(at, "only references within the schema (#...) are allowed");
            }
            if (key.equals("$schema")
                    && value.isTextual()
                    && !BUILT_IN_META_SCHEMAS.contains(value.textValue().replaceFirst("#$", ""))) {
                throw new Refusal.InvalidField(
                        at,
                        "must name a built-in meta-schema ("
                                + String.join(", ", new java.util.TreeSet<>(BUILT_IN_META_SCHEMAS))
                                + "); the server loads no meta-schema from elsewhere");
            }
            if (COUNTS.contains(key)
                    && value.isNumber()
                    && value.decimalValue().compareTo(java.math.BigDecimal.valueOf(Integer.MAX_VALUE)) > 0) {
                throw new Refusal.InvalidField(at, "must be at most " + Integer.MAX_VALUE + " (lengths and counts)");
            }
            return true;
        });
    }

    /**
     * Compiles a schema and resolves its references now: the library otherwise resolves them on the first
     * record it validates, so a reference it cannot resolve (one made relative to a remote {@code $id})
     * would fail every write instead of the collection's creation.
     */
    private static JsonSchema compile(JsonNode schema) {
        try {
            return ValidationBudget.compiling(() -> {
                JsonSchema compiled = SCHEMAS.getSchema(schema, ValidationBudget.config());
                compiled.initializeValidators();
                return compiled;
            });
        } catch (ValidationBudget.Exceeded tooLarge) {
            throw new Refusal.InvalidField(
                    "schema",
                    "is too complex: compiling it " + tooLarge.getMessage() + " (references that branch at every"
                            + " level multiply: the library makes a referred schema's validators again for each"
                            + " place it is reached from)");
        } catch (RuntimeException e) {
            // The library wraps a bad "pattern" in its own exception, whose message starts with the class name.
            for (Throwable cause = e; cause != null; cause = cause.getCause()) {
                if (cause instanceof PatternSyntaxException bad) {
                    throw new Refusal.InvalidField(
                            "schema",
                            "cannot be compiled: '" + bad.getPattern() + "' is not a regular expression this"
                                    + " server can use (" + bad.getDescription() + ")");
                }
            }
            // The library's message names the Java exception it wraps ("java.lang.IllegalArgumentException:
            // URLDecoder: …" for a bad %-escape in a $ref): the words are kept, the class names are not.
            String why =
                    String.valueOf(e.getMessage()).replaceAll("\\b(?:[a-z]\\w*\\.)+[A-Z]\\w*(?:Exception|Error): ", "");
            throw new Refusal.InvalidField("schema", "cannot be compiled: " + why);
        }
    }

    private static RecordCollection map(ResultSet rs) throws SQLException {
        String schemaText = rs.getString("schema");
        JsonNode schema = schemaText == null ? null : Json.read(schemaText);
        String name = rs.getString("name");
        return new RecordCollection(
                rs.getInt("pk"),
                name,
                schema,
                Jdbc.strings(rs, "event_fields"),
                rs.getString("source"),
                Jdbc.instant(rs, "created_at"),
                Jdbc.instant(rs, "updated_at"),
                null);
    }

    /**
     * A stored schema that no longer compiles (one created before remote meta-schemas were refused) must
     * neither stop the server nor let records through unchecked: its collection refuses every record.
     */
    private static JsonSchema compileStored(String collection, JsonNode schema) {
        try {
            return compile(schema);
        } catch (Refusal e) {
            log.error(
                    "Collection '{}' has a schema this server cannot use ({}); every record written to it is refused"
                            + " until it is replaced",
                    collection,
                    e.getMessage());
            return SCHEMAS.getSchema(com.fasterxml.jackson.databind.node.BooleanNode.FALSE);
        }
    }
}
