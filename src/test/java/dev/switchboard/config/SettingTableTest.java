package dev.switchboard.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.switchboard.testing.Fast;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SettingTable} describes each setting once; the bundled defaults file and the README's table
 * are written by hand for people to read, so these tests hold them to it: same settings, same
 * variables, same defaults, nothing more.
 */
@Fast
class SettingTableTest {
    /** A setting's line in the defaults file: indentation, key, value, and its comment if any. */
    private static final Pattern YAML_LINE = Pattern.compile("^( *)([A-Za-z]+):(.*?)(?:\\s+#\\s?(.*))?$");

    @TempDir
    Path dir;

    @Test
    void theBundledDefaultsFileHoldsEverySettingWithTheTablesDefault() throws IOException {
        JsonNode tree = new ObjectMapper(new YAMLFactory()).readTree(defaultsFile());
        Map<String, String> written = new LinkedHashMap<>();
        flatten(tree, "", written);

        Map<String, String> expected = new LinkedHashMap<>();
        SettingTable.ALL.forEach(s -> expected.put(s.path(), s.defaultValue()));
        assertThat(written).containsExactlyInAnyOrderEntriesOf(expected);
        assertThat(tree.get(SettingTable.COLLECTIONS).isArray()).isTrue();
        assertThat(tree.get(SettingTable.COLLECTIONS)).isEmpty();
    }

    @Test
    void eachLineOfTheDefaultsFileSaysItsVariableAndWhatItDoesInTheTablesOrder() {
        Map<String, String> comments = new LinkedHashMap<>();
        Deque<String> sections = new ArrayDeque<>();
        for (String line : defaultsFile().split("\n")) {
            Matcher m = YAML_LINE.matcher(line);
            if (line.isBlank() || line.startsWith("#") || !m.matches()) {
                continue;
            }
            int depth = m.group(1).length() / 2;
            while (sections.size() > depth) {
                sections.removeLast();
            }
            String path = String.join(".", sections) + (sections.isEmpty() ? "" : ".") + m.group(2);
            if (m.group(3).isBlank() && m.group(4) == null) {
                sections.addLast(m.group(2));
            } else if (!path.equals(SettingTable.COLLECTIONS)) {
                comments.put(path, m.group(4));
            }
        }

        Map<String, String> expected = new LinkedHashMap<>();
        SettingTable.ALL.forEach(s -> expected.put(s.path(), s.variable() + ": " + s.doc()));
        assertThat(comments).containsExactlyEntriesOf(expected);
    }

    @Test
    void theReadmeConfigurationTableListsEverySettingAndNothingElse() throws IOException {
        List<String> rows = new ArrayList<>();
        boolean inSection = false;
        for (String line : Files.readAllLines(Path.of("README.md"))) {
            if (line.startsWith("#")) {
                inSection = line.equals("## Configuration");
            } else if (inSection && line.startsWith("| ") && !line.startsWith("| Environment variable")) {
                String[] cells = line.split("\\|");
                // An unset default is shown as what happens instead: (none), (embedded), (generated).
                String shownDefault = cells[3].trim().matches("\\([a-z]+\\)") ? "" : code(cells[3]);
                rows.add(code(cells[1]) + " " + code(cells[2]) + " " + shownDefault);
            }
        }

        List<String> expected = new ArrayList<>();
        SettingTable.ALL.forEach(s -> expected.add(s.variable() + " " + s.path() + " " + s.defaultValue()));
        expected.add("— " + SettingTable.COLLECTIONS + " []");
        assertThat(rows).containsExactlyInAnyOrderElementsOf(expected);
    }

    @Test
    void everySettingIsReadFromTheEnvironmentAndTheFileAndItsErrorsNameIt() throws IOException {
        for (Setting<?> setting : SettingTable.ALL) {
            // A text none of the parsers or checks takes; the two that take any text refuse blank.
            String refused = setting == SettingTable.HOST
                            || setting == SettingTable.DATA_DIR
                            || setting == SettingTable.PORTAL_NAME
                    ? " "
                    : setting == SettingTable.MANAGEMENT_HOST ? "not a host" : "many";
            assertThatThrownBy(() -> ConfigLoader.load(Optional.empty(), Map.of(setting.variable(), refused)))
                    .as(setting.variable())
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith(setting.name() + ": ");

            String[] keys = setting.path().split("\\.");
            Path file = dir.resolve("switchboard.yaml");
            Files.writeString(
                    file,
                    keys.length == 1
                            ? keys[0] + ": '" + refused + "'\n"
                            : keys[0] + ":\n  " + keys[1] + ": '" + refused + "'\n");
            assertThatThrownBy(() -> ConfigLoader.load(Optional.of(file), Map.of()))
                    .as(setting.path())
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith(setting.name() + ": ");
        }
    }

    private static String defaultsFile() {
        try (InputStream in = SettingTableTest.class.getResourceAsStream("/switchboard-defaults.yaml")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void flatten(JsonNode node, String prefix, Map<String, String> leaves) {
        node.properties().forEach(field -> {
            String path = prefix + field.getKey();
            if (field.getValue().isObject()) {
                flatten(field.getValue(), path + ".", leaves);
            } else if (!path.equals(SettingTable.COLLECTIONS)) {
                leaves.put(path, field.getValue().asText());
            }
        });
    }

    /** A README cell without its spaces and backticks. */
    private static String code(String cell) {
        return cell.trim().replace("`", "");
    }
}
