package dev.switchboard.store;

import dev.switchboard.config.Config;
import dev.switchboard.config.ConfigException;
import dev.switchboard.db.Jdbc;
import dev.switchboard.support.SecretBox;
import dev.switchboard.support.Tokens;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Server-wide secrets kept in the database (its {@code settings} table) so every node sharing it
 * agrees: the admin key's hash (when no {@code SWITCHBOARD_ADMIN_KEY} is set) and the key that seals
 * secrets at rest.
 */
public final class ServerSecrets {
    private static final Logger log = LoggerFactory.getLogger(ServerSecrets.class);

    private final DataSource dataSource;

    public ServerSecrets(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /**
     * The admin key's hash. With no configured key, the first node to start generates one, stores only
     * its hash, and hands the key to {@code generated}; later starts find the hash. A start that fails
     * after that calls {@link #forgetGeneratedAdminKey}, so the next one generates (and shows) a key.
     * Once any node starts with a configured key, the generated one is forgotten, and a node started
     * without the setting is refused rather than let in with a key from an old log.
     */
    public byte[] adminKeyHash(Config config, Consumer<String> generated) {
        if (config.adminKey().isPresent()) {
            // A key generated before (shown in a log, perhaps long kept) must not work again on a node that
            // is later started without the setting: it is forgotten, and such a node refuses to start.
            Jdbc.withConnection(
                    dataSource,
                    c -> Jdbc.update(
                            c,
                            "WITH gone AS (DELETE FROM settings WHERE key = 'admin_key_hash')"
                                    + " INSERT INTO settings (key, value) VALUES ('admin_key_configured', 'true')"
                                    + " ON CONFLICT (key) DO NOTHING"));
            return Tokens.hash(config.adminKey().get());
        }
        if (get("admin_key_configured").isPresent()) {
            throw new ConfigException("SWITCHBOARD_ADMIN_KEY (adminKey) is not set, but this database's nodes use a"
                    + " configured admin key (the key generated before it no longer works): start every node with"
                    + " the same key (to have one generated again instead: DELETE FROM settings WHERE key ="
                    + " 'admin_key_configured')");
        }
        Optional<String> stored = get("admin_key_hash");
        if (stored.isPresent()) {
            return HexFormat.of().parseHex(stored.get());
        }
        String key = Tokens.generate(Tokens.ADMIN_PREFIX);
        String hash = HexFormat.of().formatHex(Tokens.hash(key));
        if (putIfAbsent("admin_key_hash", hash)) {
            generated.accept(key);
            return Tokens.hash(key);
        }
        return HexFormat.of().parseHex(get("admin_key_hash").orElseThrow()); // another node won the race
    }

    /**
     * Nodes started with different admin keys each accept only their own, so that behind a balancer admin
     * calls fail at random, and a key changed on one node after a leak still works on the others. Changing
     * the key is done node by node, so it is not refused; a node started with another configured key than
     * the last one says so. Kept as a MAC under the sealing key, as console sessions keep the admin key: a
     * plain hash of a key an operator chose could be guessed offline from a copy of the database.
     */
    public void warnOfAnotherAdminKey(Config config, SecretBox secrets) {
        if (config.adminKey().isEmpty()) {
            return;
        }
        String mac = HexFormat.of()
                .formatHex(secrets.mac(Tokens.hash(config.adminKey().get())));
        // The row first, then read under its lock: nodes starting together each see the one before them.
        String previous = Jdbc.inTransaction(dataSource, c -> {
            Jdbc.update(
                    c,
                    "INSERT INTO settings (key, value) VALUES ('admin_key_configured_mac', ?) ON CONFLICT (key) DO NOTHING",
                    mac);
            String before = Jdbc.one(
                            c,
                            "SELECT value FROM settings WHERE key = 'admin_key_configured_mac' FOR UPDATE",
                            rs -> rs.getString(1))
                    .orElseThrow();
            Jdbc.update(c, "UPDATE settings SET value = ? WHERE key = 'admin_key_configured_mac'", mac);
            return before;
        });
        if (!previous.equals(mac)) {
            log.warn("SWITCHBOARD_ADMIN_KEY (adminKey) is not the key the last node started on this database had:"
                    + " each node accepts only its own, and the other key works on nodes still running with it."
                    + " Restart every node with the same key");
        }
    }

    /** Removes a generated admin key that was never shown (its start failed), unless another replaced it. */
    public void forgetGeneratedAdminKey(String key) {
        Jdbc.withConnection(
                dataSource,
                c -> Jdbc.update(
                        c,
                        "DELETE FROM settings WHERE key = 'admin_key_hash' AND value = ?",
                        HexFormat.of().formatHex(Tokens.hash(key))));
    }

    /** The sealing key: configured, or generated once and kept here. Fails if it changed since first use. */
    public SecretBox secretBox(Config config) {
        SecretBox box;
        if (config.secretKey().isPresent()) {
            box = new SecretBox(
                    Base64.getDecoder().decode(config.secretKey().get().trim()));
        } else {
            putIfAbsent("secret_key", Base64.getEncoder().encodeToString(SecretBox.newKey()));
            box = new SecretBox(Base64.getDecoder().decode(get("secret_key").orElseThrow()));
        }
        putIfAbsent("secret_key_fingerprint", box.fingerprint());
        String expected = get("secret_key_fingerprint").orElseThrow();
        if (!expected.equals(box.fingerprint())) {
            boolean generatedHere = get("secret_key").isPresent();
            throw new ConfigException("SWITCHBOARD_SECRET_KEY (secretKey): this database's secrets were sealed with "
                    + "another key (fingerprint " + expected + "); start every node with the same key"
                    + (generatedHere
                            ? ". That key was generated by the first node and is kept in this database (table"
                                    + " settings, key secret_key): leave SWITCHBOARD_SECRET_KEY unset to go on using"
                                    + " it, or set it to that value"
                            : ""));
        }
        return box;
    }

    private Optional<String> get(String key) {
        return Jdbc.withConnection(
                dataSource, c -> Jdbc.one(c, "SELECT value FROM settings WHERE key = ?", rs -> rs.getString(1), key));
    }

    private boolean putIfAbsent(String key, String value) {
        return Jdbc.withConnection(
                dataSource,
                c -> Jdbc.update(
                                c,
                                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                                key,
                                value)
                        == 1);
    }
}
