package dev.switchboard.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;

/**
 * Sends requests on virtual threads, in one of two ways. Closed loop: N clients, each sending its next
 * request as soon as the last is answered (throughput at a concurrency). Open loop: requests started
 * on a fixed schedule whatever the answers do, each one's latency counted from when it was due, so a
 * stall shows in the percentiles instead of silently delaying the next requests. Every run has a
 * warm-up, then a measured window; only requests answered inside the window count, and the CPU of
 * each party is sampled at the window's edges. Any failed request fails the run.
 */
final class LoadDriver {
    /** One request; throws when it fails (an unexpected status, an error). */
    @FunctionalInterface
    interface Request {
        void send() throws Exception;
    }

    private final CpuMeter cpu;
    private final Duration warmup;
    private final Duration window;

    LoadDriver(CpuMeter cpu, Duration warmup, Duration window) {
        this.cpu = cpu;
        this.warmup = warmup;
        this.window = window;
    }

    Measurement closedLoop(int clients, IntFunction<Request> client) throws InterruptedException {
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            requests.add(client.apply(i));
        }
        long from = System.nanoTime() + warmup.toNanos();
        long to = from + window.toNanos();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Latencies> latencies = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (Request request : requests) {
            Latencies mine = new Latencies();
            latencies.add(mine);
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    while (failure.get() == null) {
                        long sent = System.nanoTime();
                        if (sent >= to) {
                            return;
                        }
                        request.send();
                        long answered = System.nanoTime();
                        if (answered >= from && answered < to) {
                            mine.add(answered - sent);
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        CpuMeter.Usage usage = sampleWindow(from, to);
        for (Thread t : threads) {
            t.join(Duration.ofSeconds(60));
        }
        throwIfFailed(failure);
        return measurement(Latencies.merge(latencies), usage);
    }

    Measurement fixedRate(int perSecond, Request request) throws InterruptedException {
        long start = System.nanoTime();
        long from = start + warmup.toNanos();
        long to = from + window.toNanos();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Latencies latencies = new Latencies();
        Thread scheduler = Thread.ofPlatform()
                .name("fixed-rate")
                .start(() -> OpenLoop.run(perSecond, start, to, failure, due -> () -> {
                    request.send();
                    long answered = System.nanoTime();
                    if (due >= from) {
                        synchronized (latencies) {
                            latencies.add(answered - due);
                        }
                    }
                }));
        CpuMeter.Usage usage = sampleWindow(from, to);
        scheduler.join(Duration.ofSeconds(60));
        throwIfFailed(failure);
        return measurement(latencies, usage);
    }

    private Measurement measurement(Latencies latencies, CpuMeter.Usage usage) {
        return new Measurement(
                latencies.count() / (window.toNanos() / 1e9),
                latencies.millis(50),
                latencies.millis(99),
                latencies.count(),
                usage);
    }

    private CpuMeter.Usage sampleWindow(long from, long to) {
        OpenLoop.sleepUntil(from);
        CpuMeter.Sample a = cpu.sample();
        OpenLoop.sleepUntil(to);
        return CpuMeter.between(a, cpu.sample());
    }

    private static void throwIfFailed(AtomicReference<Throwable> failure) {
        Throwable e = failure.get();
        if (e != null) {
            throw new IllegalStateException("a request failed, so the run is void: " + e.getMessage(), e);
        }
    }
}
