package dev.switchboard;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.switchboard.support.Json;
import dev.switchboard.testing.Fast;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** SWITCHBOARD_LOG_FORMAT=json: each line is one object that keeps the values the text format shows. */
@Fast
class JsonLogsTest {
    @Test
    void aJsonLineCarriesItsMessageWithItsValuesAndItsTemplate() throws Exception {
        LoggerContext context = new LoggerContext();
        context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
        try {
            JoranConfigurator configurator = new JoranConfigurator();
            configurator.setContext(context);
            configurator.doConfigure(JsonLogsTest.class.getResource("/logback-json.xml"));
            Logger logger = context.getLogger(Main.class);
            OutputStreamAppender<ILoggingEvent> stdout = (OutputStreamAppender<ILoggingEvent>)
                    context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("STDOUT");
            LoggingEvent event = new LoggingEvent(
                    Logger.class.getName(),
                    logger,
                    Level.INFO,
                    "Switchboard node {} is ready on port {}",
                    null,
                    new Object[] {"node-1", 8080});

            JsonNode line = Json.read(new String(stdout.getEncoder().encode(event), StandardCharsets.UTF_8));

            assertThat(line.get("formattedMessage").asText())
                    .isEqualTo("Switchboard node node-1 is ready on port 8080");
            assertThat(line.get("message").asText()).isEqualTo("Switchboard node {} is ready on port {}");
            assertThat(line.get("level").asText()).isEqualTo("INFO");
        } finally {
            context.stop();
        }
    }
}
