package dev.switchboard.console;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Api;
import dev.switchboard.testing.TestServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The console's and portal's pages and files, served by the server with their security headers. */
class ConsolePagesTest {
    private static final String CONSOLE_POLICY = "default-src 'self'; script-src 'self'; style-src 'self';"
            + " img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
    private static final Path FILES = Path.of("src/main/resources/console");

    static TestServer server;
    static Api anonymous;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        anonymous = server.api(null);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void everyScreenAddressAnswersTheAppsPageWithAStrictPolicy() {
        for (String path : List.of(
                "/console",
                "/console/signin",
                "/console/endpoints/wh_0190aaaa",
                "/console/integrations",
                "/portal",
                "/portal/endpoints/wh_1")) {
            Api.Response page = anonymous.get(path).expect(200);
            assertThat(page.header("Content-Type")).as(path).startsWith("text/html");
            assertThat(page.body()).as(path).contains("<script type=\"module\" src=\"/console/assets/app.js\">");
            assertThat(page.header("X-Content-Type-Options")).as(path).isEqualTo("nosniff");
            assertThat(page.header("Referrer-Policy")).as(path).isEqualTo("no-referrer");
            assertThat(page.header("Cache-Control")).as(path).isEqualTo("no-store");
            if (path.startsWith("/console")) {
                assertThat(page.header("Content-Security-Policy")).as(path).isEqualTo(CONSOLE_POLICY);
            } else {
                assertThat(page.header("Content-Security-Policy"))
                        .as(path)
                        .isEqualTo(CONSOLE_POLICY.replace("frame-ancestors 'none'", "frame-ancestors 'self'"));
            }
        }
    }

    /** A check of a page's headers by HEAD (as scanners make) sees the page's headers, without its body. */
    @Test
    void headAnswersAsGetDoesWithoutTheBody() {
        for (String path : List.of("/console", "/console/endpoints/wh_1", "/portal", "/console/assets/app.js")) {
            Api.Response get = anonymous.get(path).expect(200);
            Api.Response head = anonymous.send("HEAD", path, null).expect(200);
            assertThat(head.body()).as(path).isEmpty();
            for (String header : List.of(
                    "Content-Type",
                    "Content-Security-Policy",
                    "X-Content-Type-Options",
                    "Referrer-Policy",
                    "Cache-Control")) {
                assertThat(head.header(header))
                        .as(path + " " + header)
                        .isNotNull()
                        .isEqualTo(get.header(header));
            }
        }
        assertThat(anonymous.send("HEAD", "/console/assets/missing.js", null).status())
                .isEqualTo(404);
    }

    /** The platform may show the portal in its own site; the console is never framed. */
    @Test
    void thePortalMayBeFramedByThePagesTheOperatorNamesAndTheConsoleByNone() {
        try (TestServer framed =
                TestServer.start(Map.of("SWITCHBOARD_PORTAL_FRAME_ANCESTORS", "self,https://app.example.com"))) {
            Api pages = framed.api(null);
            assertThat(pages.get("/portal/endpoints/wh_1").expect(200).header("Content-Security-Policy"))
                    .contains("; frame-ancestors 'self' https://app.example.com; ");
            assertThat(pages.get("/console").expect(200).header("Content-Security-Policy"))
                    .contains("; frame-ancestors 'none'; ");
        }
    }

    @Test
    void assetsAreServedWithTheirTypeAndRevalidatedByTheirETag() {
        Api.Response js = anonymous.get("/console/assets/app.js").expect(200);
        assertThat(js.header("Content-Type")).startsWith("text/javascript");
        assertThat(js.header("Content-Security-Policy")).isEqualTo(CONSOLE_POLICY);
        assertThat(js.header("X-Content-Type-Options")).isEqualTo("nosniff");
        Api.Response css = anonymous.get("/console/assets/console.css").expect(200);
        assertThat(css.header("Content-Type")).startsWith("text/css");

        String etag = js.header("ETag");
        assertThat(etag).matches("\"[0-9a-f]{24}\"");
        Api.Response again = anonymous
                .withHeader("If-None-Match", etag)
                .get("/console/assets/app.js")
                .expect(304);
        assertThat(again.body()).isEmpty();
        // The 304 stands for the 200 (not the API's JSON type); a cache keeps the gzipped answer apart.
        assertThat(again.header("Content-Type")).startsWith("text/javascript");
        assertThat(js.header("Vary")).isEqualTo("Accept-Encoding");
    }

    @Test
    void whatIsNotAScreenOrAnAssetIsNotFound() {
        for (String path : List.of(
                "/console/assets/missing.js",
                "/console/assets/..%2Findex.html",
                "/console/assets/index.html",
                "/console/favicon.ico")) {
            Api.Response r = anonymous.get(path);
            assertThat(r.status()).as(path).isEqualTo(404);
            assertThat(r.errorCode()).as(path).isEqualTo("not_found");
            assertThat(r.header("Content-Type")).as(path).startsWith("application/json");
        }
        // Under the API's prefixes, and deeper than any screen, it is the API's answer to an unknown route.
        for (String path : List.of("/console/api/nothing-here", "/portal/api/nothing-here", "/console/a/b/c")) {
            Api.Response r = anonymous.get(path);
            assertThat(r.status()).as(path).isEqualTo(404);
            assertThat(r.errorCode()).as(path).isEqualTo("route_not_found");
        }
    }

    /** The policy forbids inline script and style: the files must have none, or the page would break. */
    @Test
    void theFilesHaveNoInlineScriptOrStyleAndEveryImportExists() throws IOException {
        String page = Files.readString(FILES.resolve("index.html"));
        assertThat(page)
                .doesNotContainPattern("<script(?![^>]*\\bsrc=)")
                .doesNotContain("style=")
                .doesNotContain("<style");
        assertThat(page).doesNotContainPattern("\\son[a-z]+=");
        Pattern imports = Pattern.compile("from '\\./([a-z0-9-]+\\.js)'");
        try (Stream<Path> files = Files.list(FILES.resolve("assets"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".js")).toList()) {
                String code = Files.readString(file);
                assertThat(code)
                        .as(file.toString())
                        .doesNotContain("innerHTML")
                        .doesNotContain("localStorage")
                        .doesNotContain("sessionStorage")
                        .doesNotContain("setAttribute('style'");
                Matcher m = imports.matcher(code);
                while (m.find()) {
                    assertThat(FILES.resolve("assets").resolve(m.group(1)))
                            .as(file + " imports " + m.group(1))
                            .exists();
                    anonymous.get("/console/assets/" + m.group(1)).expect(200);
                }
            }
        }
    }
}
