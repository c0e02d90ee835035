package dev.switchboard.console;

import dev.switchboard.support.Refusal;
import dev.switchboard.web.RouteGroup;
import io.javalin.http.Context;
import io.javalin.http.NotFoundResponse;
import io.javalin.router.JavalinDefaultRoutingApi;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The operator console ({@code /console}) and the partner portal ({@code /portal}): one single-page app
 * whose files are in {@code src/main/resources/console/}, served by the server itself with a strict
 * Content-Security-Policy (no inline script or style, nothing from another origin). Each screen has its
 * own URL of one or two segments ({@code /console/endpoints/wh_…}), all answered with the app's page, so a
 * reload or a shared link opens the screen; {@code /console/assets/…} are the app's files (one folder, so
 * every route is a plain OpenAPI path). The API routes under {@code /console/api/} and {@code /portal/api/}
 * belong to the API: a path there that no route answers is the API's 404, never the page.
 *
 * <p>The console may not be framed by anyone ({@code frame-ancestors 'none'}); the portal may be framed by
 * the pages the operator lists, so a platform can embed it in its own site.
 */
public final class ConsolePages implements RouteGroup {
    private static final String ROOT = "/console/";
    private static final String ASSETS = "assets/";
    /** Asset names: lower-case words, one known extension; nothing that could climb out. */
    private static final Pattern ASSET = Pattern.compile("[a-z0-9][a-z0-9-]*(?:\\.[a-z0-9-]+)*\\.[a-z]+");

    private static final Map<String, String> TYPES = Map.of(
            "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "svg", "image/svg+xml",
            "png", "image/png",
            "txt", "text/plain; charset=utf-8",
            "html", "text/html; charset=utf-8");

    private final byte[] page;
    private final String consolePolicy;
    private final String portalPolicy;
    /** The files found so far: only real ones, so names that anyone may request cannot grow it. */
    private final Map<String, Asset> assets = new ConcurrentHashMap<>();

    record Asset(byte[] bytes, String type, String etag) {}

    /**
     * @param portalFrameAncestors the {@code frame-ancestors} sources of the portal's pages, e.g. {@code 'none'}
     *     or {@code https://platform.example}
     */
    public ConsolePages(String portalFrameAncestors) {
        this.page = read("index.html").orElseThrow(() -> new IllegalStateException("the console is missing"));
        this.consolePolicy = policy("'none'");
        this.portalPolicy = policy(portalFrameAncestors);
    }

    static String policy(String frameAncestors) {
        return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
                + " frame-ancestors " + frameAncestors + "; base-uri 'none'; form-action 'self'";
    }

    @Override
    public void register(JavalinDefaultRoutingApi routes) {
        // The assets before the two-segment screens: the first route that matches answers. The portal's page
        // loads the same files from here.
        routes.get("/console/assets/{file}", ctx -> asset(ctx, ctx.pathParam("file"), consolePolicy));
        for (String prefix : new String[] {"/console", "/portal"}) {
            String policy = prefix.equals("/console") ? consolePolicy : portalPolicy;
            routes.get(prefix, ctx -> page(ctx, policy));
            routes.get(prefix + "/{screen}", ctx -> screen(ctx, ctx.pathParam("screen"), policy));
            routes.get(prefix + "/{screen}/{id}", ctx -> screen(ctx, ctx.pathParam("screen"), policy));
        }
    }

    private void screen(Context ctx, String screen, String policy) {
        if (screen.equals("api")) {
            throw new NotFoundResponse(); // the API's own 404 for a route it does not have (HttpApi renders it)
        }
        if (screen.equals("assets") || screen.contains(".")) {
            throw new Refusal.NotFound("console file '" + ctx.path() + "'");
        }
        page(ctx, policy);
    }

    private void page(Context ctx, String policy) {
        headers(ctx, policy);
        // The page is small and names its assets; always fetched again so a new release is used at once.
        ctx.header("Cache-Control", "no-store");
        ctx.contentType(TYPES.get("html")).result(page);
    }

    private void asset(Context ctx, String name, String policy) {
        Asset asset = find(name).orElseThrow(() -> new Refusal.NotFound("console file '" + name + "'"));
        headers(ctx, policy);
        ctx.header("Cache-Control", "no-cache");
        ctx.header("ETag", asset.etag());
        // Sent gzipped to a client that asks: a cache keeps each coding apart.
        ctx.header("Vary", "Accept-Encoding");
        // A 304 stands for the 200: the same type, not the API's default JSON.
        ctx.contentType(asset.type());
        if (asset.etag().equals(ctx.header("If-None-Match"))) {
            ctx.status(304);
            return;
        }
        ctx.result(asset.bytes());
    }

    private static void headers(Context ctx, String policy) {
        ctx.header("Content-Security-Policy", policy);
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("Referrer-Policy", "no-referrer");
    }

    /** The console file {@code name}, read once; empty when there is none. */
    Optional<Asset> find(String name) {
        // A miss maps to null, which computeIfAbsent does not keep.
        return Optional.ofNullable(assets.computeIfAbsent(name, n -> load(n).orElse(null)));
    }

    /** How many files are kept in memory. */
    int kept() {
        return assets.size();
    }

    private static Optional<Asset> load(String name) {
        if (!ASSET.matcher(name).matches()) {
            return Optional.empty();
        }
        String type = TYPES.get(name.substring(name.lastIndexOf('.') + 1));
        if (type == null) {
            return Optional.empty();
        }
        return read(ASSETS + name).map(bytes -> new Asset(bytes, type, etag(bytes)));
    }

    private static Optional<byte[]> read(String name) {
        try (InputStream in = ConsolePages.class.getResourceAsStream(ROOT + name)) {
            return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String etag(byte[] bytes) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(bytes);
            return "\"" + HexFormat.of().formatHex(digest, 0, 12) + "\"";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
