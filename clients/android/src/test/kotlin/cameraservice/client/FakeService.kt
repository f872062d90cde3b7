package cameraservice.client

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.put
import okhttp3.OkHttpClient
import okhttp3.Response
import okhttp3.WebSocket
import okhttp3.WebSocketListener
import okhttp3.mockwebserver.MockResponse
import okhttp3.mockwebserver.MockWebServer
import java.io.Closeable
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/** One request the fake service received: which connection (0, 1, ...) and the message. */
data class Received(val connection: Int, val message: JsonObject) {
    val method: String get() = message["method"]!!.jsonPrimitive.content
    val params: JsonObject? get() = message["params"] as? JsonObject
    val id: JsonElement get() = message["id"] ?: JsonNull
}

/**
 * A JSON-RPC WebSocket service on MockWebServer. Each accepted connection answers through [handler]
 * (default: `authenticate` and `subscribe_events` succeed, anything else answers `{"ok": true}`);
 * return null from it to leave a call unanswered.
 */
class FakeService : Closeable {
    val server = MockWebServer()
    val received = LinkedBlockingQueue<Received>()
    val sockets = CopyOnWriteArrayList<WebSocket>()
    private val subscriptions = AtomicInteger()

    @Volatile
    var handler: (Received) -> JsonObject? = ::defaultAnswer

    val url: String get() = server.url("/ws").toString().replaceFirst("http", "ws")

    init {
        server.start()
    }

    /** Accept [count] more WebSocket connections (MockWebServer serves one queued response each). */
    fun accept(count: Int = 1) = repeat(count) {
        server.enqueue(MockResponse().withWebSocketUpgrade(Listener()))
    }

    fun refuse(code: Int) = server.enqueue(MockResponse().setResponseCode(code))

    fun defaultAnswer(r: Received): JsonObject? = when (r.method) {
        "authenticate" -> result(r, buildJsonObject { put("authenticated", true); put("role", "admin") })
        "subscribe_events" -> result(r, buildJsonObject {
            put("subscription", "sub-${subscriptions.incrementAndGet()}")
            put("topics", r.params?.get("topics") ?: JsonNull)
        })
        else -> result(r, buildJsonObject { put("ok", true) })
    }

    fun result(r: Received, value: JsonElement): JsonObject = buildJsonObject {
        put("jsonrpc", "2.0"); put("id", r.id); put("result", value)
    }

    fun error(r: Received, code: Int, message: String, data: JsonElement = JsonNull): JsonObject = buildJsonObject {
        put("jsonrpc", "2.0"); put("id", r.id)
        put("error", buildJsonObject { put("code", code); put("message", message); put("data", data) })
    }

    fun notify(connection: Int, method: String, params: JsonElement) {
        sockets[connection].send(buildJsonObject { put("jsonrpc", "2.0"); put("method", method); put("params", params) }.toString())
    }

    /** The next request (of [method], skipping others) within [timeout]. */
    suspend fun awaitRequest(method: String? = null, timeout: Duration = 10.seconds): Received =
        withContext(Dispatchers.IO) { next(method, timeout) }

    private fun next(method: String?, timeout: Duration): Received {
        val deadline = System.nanoTime() + timeout.inWholeNanoseconds
        while (true) {
            val left = deadline - System.nanoTime()
            val r = received.poll(maxOf(left, 0), TimeUnit.NANOSECONDS) ?: error("no $method request within $timeout")
            if (method == null || r.method == method) return r
        }
    }

    override fun close() {
        sockets.forEach { it.close(1001, "test over") }
        server.shutdown()
    }

    private inner class Listener : WebSocketListener() {
        private var index = -1

        override fun onOpen(webSocket: WebSocket, response: Response) {
            sockets.add(webSocket)
            index = sockets.indexOf(webSocket)
        }

        override fun onMessage(webSocket: WebSocket, text: String) {
            val r = Received(index, Json.parseToJsonElement(text).jsonObject)
            received.add(r)
            handler(r)?.let { webSocket.send(it.toString()) }
        }

        // Answer the client's close, or MockWebServer.shutdown() waits for it and fails.
        override fun onClosing(webSocket: WebSocket, code: Int, reason: String) {
            webSocket.close(1000, null)
        }
    }
}

fun testConfig(
    url: String,
    tokens: () -> String? = { "token-1" },
    block: ClientConfig.() -> ClientConfig = { this },
): ClientConfig = ClientConfig(
    url = url,
    okHttpClient = OkHttpClient(),
    tokenProvider = { tokens() },
    callTimeout = 5.seconds,
    connectTimeout = 5.seconds,
    backoff = ExponentialBackoff(initialMillis = 20, maxMillis = 200),
).block()

fun JsonObject.str(key: String): String? = (this[key] as? JsonPrimitive)?.content
