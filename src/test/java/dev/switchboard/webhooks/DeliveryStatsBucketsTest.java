package dev.switchboard.webhooks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.testing.Fast;
import org.junit.jupiter.api.Test;

/** The histogram buckets of the delivery stats, and percentiles read from them. */
@Fast
class DeliveryStatsBucketsTest {
    @Test
    void aValueFallsInTheFirstBucketWhoseBoundIsAtLeastIt() {
        assertThat(DeliveryStats.bucket(0)).isZero();
        assertThat(DeliveryStats.bucket(1)).isZero();
        assertThat(DeliveryStats.bucket(2)).isEqualTo(1);
        assertThat(DeliveryStats.bucket(3)).isEqualTo(2);
        assertThat(DeliveryStats.bucket(1_000)).isEqualTo(9);
        assertThat(DeliveryStats.bucket(1_001)).isEqualTo(10);
        assertThat(DeliveryStats.bucket(Long.MAX_VALUE)).isEqualTo(DeliveryStats.BUCKETS - 1);
    }

    @Test
    void aPercentileIsTheBoundOfTheBucketItFallsIn() {
        long[] histogram = new long[DeliveryStats.BUCKETS];
        assertThat(DeliveryStats.percentile(histogram, 0.5)).isNull();
        assertThat(DeliveryStats.percentile(null, 0.5)).isNull();
        histogram[DeliveryStats.bucket(40)] = 98; // 98 attempts of 21..50 ms
        histogram[DeliveryStats.bucket(4_000)] = 2; // 2 of 2.001..5 s
        assertThat(DeliveryStats.percentile(histogram, 0.5)).isEqualTo(50);
        assertThat(DeliveryStats.percentile(histogram, 0.98)).isEqualTo(50);
        assertThat(DeliveryStats.percentile(histogram, 0.99)).isEqualTo(5_000);
        histogram[DeliveryStats.BUCKETS - 1] = 1_000;
        assertThat(DeliveryStats.percentile(histogram, 0.99)).isEqualTo(86_400_000);
    }
}
