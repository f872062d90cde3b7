package cameraservice.client.bench

import cameraservice.client.CameraClient
import cameraservice.client.ClientConfig
import cameraservice.client.ConnectionState
import cameraservice.client.ping
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import okhttp3.OkHttpClient

/**
 * Load side of bench/kotlin_client.py: one CameraClient (one connection), driven over stdin so rounds
 * interleave with the Python client's. Commands: `run CALLS INFLIGHT` answers one line
 * `elapsed_s lat_us lat_us ...` (typed `ping()` calls, INFLIGHT coroutines sharing the connection);
 * `quit` ends. Args: URL TOKEN.
 */
fun main(args: Array<String>) = runBlocking {
    val http = OkHttpClient()
    val client = CameraClient(ClientConfig(url = args[0], okHttpClient = http, tokenProvider = { args[1] }))
    client.state.first { it == ConnectionState.Ready }
    while (true) {
        val command = readlnOrNull()?.trim()?.split(" ") ?: break
        if (command[0] != "run") break
        val calls = command[1].toInt()
        val inflight = command[2].toInt()
        val latencies = LongArray(calls)
        val started = System.nanoTime()
        (0 until inflight).map { worker ->
            async {
                var i = worker
                while (i < calls) {
                    val t0 = System.nanoTime()
                    check(client.ping() == "pong")
                    latencies[i] = (System.nanoTime() - t0) / 1_000
                    i += inflight
                }
            }
        }.awaitAll()
        val elapsed = (System.nanoTime() - started) / 1e9
        println("$elapsed ${latencies.joinToString(" ")}")
        System.out.flush()
    }
    client.close()
    http.dispatcher.executorService.shutdown()
    http.connectionPool.evictAll()
}
