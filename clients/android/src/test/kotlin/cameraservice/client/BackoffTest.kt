package cameraservice.client

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import kotlin.random.Random

class BackoffTest {
    @Test
    fun `grows exponentially up to the cap`() {
        val noJitter = ExponentialBackoff(initialMillis = 100, maxMillis = 1_000, jitter = 0.0)
        assertEquals(listOf(100L, 200L, 400L, 800L, 1_000L, 1_000L), (0..5).map(noJitter::delayMillis))
        assertEquals(1_000L, noJitter.delayMillis(10_000))
    }

    @Test
    fun `jitter takes a random share off, never adds`() {
        val backoff = ExponentialBackoff(initialMillis = 1_000, maxMillis = 1_000, jitter = 0.5, random = Random(7))
        val delays = (0 until 200).map { backoff.delayMillis(3) }
        assertTrue(delays.all { it in 500L..1_000L })
        assertTrue(delays.toSet().size > 50, "spread out, not in lockstep")
    }
}
