package cameraservice.client

import kotlin.math.min
import kotlin.math.pow
import kotlin.random.Random

/** How long to wait before reconnect attempt number [retry] (0 for the first retry). */
public fun interface BackoffStrategy {
    public fun delayMillis(retry: Int): Long
}

/**
 * Exponential backoff with jitter and a cap: `initial * multiplier^retry`, at most [maxMillis], of which
 * a random share up to [jitter] is taken off so that many clients do not reconnect in lockstep.
 */
public class ExponentialBackoff(
    private val initialMillis: Long = 500,
    private val maxMillis: Long = 30_000,
    private val multiplier: Double = 2.0,
    private val jitter: Double = 0.5,
    private val random: Random = Random.Default,
) : BackoffStrategy {
    init {
        require(initialMillis > 0 && maxMillis >= initialMillis) { "need 0 < initialMillis <= maxMillis" }
        require(multiplier >= 1.0) { "multiplier must be >= 1" }
        require(jitter in 0.0..1.0) { "jitter must be within 0..1" }
    }

    override fun delayMillis(retry: Int): Long {
        val exponential = initialMillis * multiplier.pow(retry.coerceIn(0, 62).toDouble())
        val capped = min(exponential, maxMillis.toDouble())
        return (capped * (1.0 - jitter * random.nextDouble())).toLong()
    }
}
